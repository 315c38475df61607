"""benchmarks.real.protocol on a hand-made train log."""

from __future__ import annotations

import numpy as np

from benchmarks.real import protocol
from benchmarks.real.protocol import TrainLog
from models_py.metrics import PAD


def hand_log() -> TrainLog:
    # users 10, 20, 30; tracks 100, 200, 300, 400; days 0..9
    users = np.array([10, 10, 10, 20, 20, 30, 30, 30, 30, 30])
    tracks = np.array([100, 200, 300, 100, 400, 100, 200, 300, 400, 100])[:10]
    days = np.array([0, 1, 9, 8, 9, 2, 3, 4, 9, 0])
    keep = np.ones(10, dtype=bool)
    keep[9] = False  # no duplicate pair
    users, tracks, days = users[keep], tracks[keep], days[keep]
    user_ids, rows = np.unique(users, return_inverse=True)
    track_ids, cols = np.unique(tracks, return_inverse=True)
    return TrainLog(user_ids, track_ids, rows, cols, days, days, np.ones(len(days), dtype=np.int64))


def test_nested_split_cuts_the_last_share_of_pairs_by_date():
    log = hand_log()
    split = protocol.nested_split(log, valid_frac=0.5)  # days sorted 0 1 2 3 [4] 8 9 9 9: the median
    assert split.cutoff_day == 4 and split.last_day == 9 and split.valid_days == 5
    np.testing.assert_array_equal(split.fit_mask, log.first_day <= 4)
    # validation pairs after day 4: (10, 300), (20, 100), (20, 400), (30, 400); user 20 has no fit history
    np.testing.assert_array_equal(log.user_ids[split.users], [10, 30])
    got = sorted(zip(log.user_ids[split.users][split.rel_rows], log.track_ids[split.rel_cols]))
    assert got == [(10, 300), (30, 400)]
    np.testing.assert_array_equal(split.n_relevant, [1, 1])
    lists = np.array([[2, 0], [1, 3]])  # columns: 300 first for user 10 (hit at 1); user 30 hits at 2
    assert protocol.validation_ndcg(lists, split, 2) == np.mean([1.0, 1 / np.log2(3)])


def test_heard_tracks_are_found_and_dropped():
    log = hand_log()
    rows = log.rows_of(np.array([10, 20, 99]))  # 99: cold
    np.testing.assert_array_equal(rows, [0, 1, -1])
    lists = np.array([[100, 400, 300, PAD], [200, 100, 300, 400], [100, 200, 300, 400]])
    mask = protocol.heard_mask(lists, rows, log)
    np.testing.assert_array_equal(mask, [[1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 0, 0]])
    cleaned, n = protocol.drop_heard(lists, rows, log)
    assert n == 4
    np.testing.assert_array_equal(cleaned, [[400, PAD, PAD, PAD], [200, 300, PAD, PAD], [100, 200, 300, 400]])


def test_lists_for_test_users_maps_columns_to_track_ids():
    log = hand_log()
    rows = np.array([-1, 2, 0])
    got = protocol.lists_for_test_users(np.array([[3, PAD], [1, 0]]), rows, log, 3, 2)
    np.testing.assert_array_equal(got, [[PAD, PAD], [400, PAD], [200, 100]])
