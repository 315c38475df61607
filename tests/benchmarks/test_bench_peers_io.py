"""The RecTools subprocess's plain-pandas side: files in and out, lists back, its NDCG."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks.real import peers, peers_io
from benchmarks.real.peers_io import PAD
from models_py import metrics as M


def test_frame_to_lists_orders_by_rank_and_pads():
    frame = pd.DataFrame(
        {
            "user_id": [5, 5, 5, 2, 9, 7, 7, 7],
            "item_id": [50, 51, 52, 20, 90, 70, 71, 72],
            "rank": [3, 1, 2, 7, 1, 1, 2, 3],  # user 2's only rank is 7: kept, in first place
        }
    )
    got = peers_io.frame_to_lists(frame, np.array([2, 3, 5, 7]), 2)
    np.testing.assert_array_equal(got, [[20, PAD], [PAD, PAD], [51, 52], [70, 71]])  # 9 unknown, 3 absent
    with pytest.raises(ValueError):
        peers_io.frame_to_lists(frame, np.array([5, 2]), 2)
    empty = peers_io.frame_to_lists(frame.iloc[:0], np.array([1, 2]), 3)
    assert (empty == PAD).all() and empty.shape == (2, 3)


def test_inputs_and_lists_round_trip(tmp_path):
    train = peers_io.train_frame(np.array([1, 1, 2]), np.array([10, 11, 10]), np.array([18000, 18001, 18002]))
    assert list(train.columns) == ["user_id", "item_id", "weight", "datetime"]
    assert str(train["datetime"].iloc[0].date()) == "2019-04-14"  # 18000 days after 1970-01-01
    peers_io.write_inputs(tmp_path, train, np.array([1, 2]), {"k": 10, "seed": 42})
    got, users, cfg = peers_io.read_inputs(tmp_path)
    pd.testing.assert_frame_equal(got, train, check_dtype=False)
    np.testing.assert_array_equal(users, [1, 2])
    assert cfg == {"k": 10, "seed": 42}
    recs = pd.DataFrame({"user_id": [1, 2], "item_id": [11, 11], "rank": [1, 1], "score": [0.5, 0.2]})
    peers_io.write_lists(tmp_path, "RecTools: two-stage CatBoost", recs)
    back = peers_io.read_lists(tmp_path)
    assert list(back) == ["RecTools: two-stage CatBoost"]
    assert list(back["RecTools: two-stage CatBoost"].columns) == ["user_id", "item_id", "rank"]
    peers_io.write_json(tmp_path, "timings.json", {"a": 1.5})
    assert peers_io.read_json(tmp_path, "timings.json") == {"a": 1.5}
    assert peers_io.read_json(tmp_path, "missing.json") == {}


def test_peers_validation_ndcg_is_models_py_ndcg():
    rng = np.random.default_rng(0)
    users = np.arange(1, 31)
    truth = pd.DataFrame(
        {"user_id": np.repeat(users, 3), "item_id": rng.integers(0, 12, 90)}
    ).drop_duplicates()
    recs = pd.DataFrame(
        {
            "user_id": np.repeat(users, 5),
            "item_id": np.concatenate([rng.permutation(12)[:5] for _ in users]),
            "rank": np.tile(np.arange(1, 6), len(users)),
        }
    )
    lists = peers_io.frame_to_lists(recs, users, 5)
    rows = np.searchsorted(users, truth["user_id"].to_numpy())
    hits = M.hit_matrix(lists, rows, truth["item_id"].to_numpy())
    want = M.ndcg_at_k(hits, np.bincount(rows, minlength=len(users)), 5).mean()
    assert peers.ndcg(recs, truth, users, 5) == pytest.approx(want)


def test_peers_nested_split_is_the_main_processes_cut():
    train = peers_io.train_frame(
        np.array([1, 1, 2, 3, 3]), np.array([10, 11, 10, 12, 13]), np.array([100, 108, 109, 101, 110])
    )
    fit, valid, users = peers.nested(train, valid_days=3, max_users=0, seed=0)  # cut: day 107
    assert sorted(fit["item_id"]) == [10, 12]
    assert sorted(zip(valid["user_id"], valid["item_id"])) == [(1, 11), (3, 13)]  # user 2 has no fit history
    np.testing.assert_array_equal(users, [1, 3])
