"""EntityAffinity against a plain per-pair loop over a small hand-made catalog (both lookup paths)."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pytest
import scipy.sparse as sp

from models_py import affinity
from models_py.affinity import EntityAffinity
from models_py.data import Interactions


def _reference(heard: list[set[int]], track_entities: dict[int, set[int]], row: int, col: int):
    """Sum and max of the user's share of tracks per entity of the track; the user's top share."""
    n = len(heard[row])
    counts: dict[int, int] = {}
    for t in heard[row]:
        for e in track_entities.get(t, ()):
            counts[e] = counts.get(e, 0) + 1
    shares = [counts.get(e, 0) / n for e in track_entities.get(col, ())]
    top = max(counts.values()) / n if counts else np.nan
    return sum(shares), max(shares, default=0.0), top


@pytest.mark.parametrize("dense_max", [1 << 25, 0], ids=["dense", "binary-search"])
def test_pair_shares_equal_a_plain_loop(monkeypatch, dense_max):
    monkeypatch.setattr(affinity, "DENSE_MAX", dense_max)
    rng = np.random.default_rng(3)
    n_users, n_tracks = 40, 25
    track_ids = np.arange(n_tracks, dtype=np.int64) * 10 + 7
    # track -> entities: none for some tracks, up to 4 for others; entity ids sparse
    track_entities = {
        t: set(rng.choice([3, 11, 40, 41, 900], size=rng.integers(0, 5), replace=False).tolist())
        for t in range(n_tracks)
    }
    track_entities[24] = set()  # a track without the entity type
    heard = [
        set(rng.choice(n_tracks, size=rng.integers(1, 12), replace=False).tolist()) for _ in range(n_users)
    ]
    heard[5] = {24}  # a user whose only track has no entity: top share is NaN
    rows = np.repeat(np.arange(n_users), [len(h) for h in heard])
    cols = np.concatenate([sorted(h) for h in heard])
    matrix = sp.csr_matrix((np.ones(len(cols), np.float32), (rows, cols)), shape=(n_users, n_tracks))
    inter = Interactions(
        "serve",
        date(2022, 12, 1),
        np.arange(n_users, dtype=np.int64) + 100,
        track_ids,
        matrix,
        np.ones(matrix.nnz),
        np.zeros(matrix.nnz),
    )
    pairs = [(track_ids[t], e) for t, es in track_entities.items() for e in sorted(es)]
    pairs.append(pairs[0])  # a duplicated (track, entity) row counts once
    pairs.append((999_999, 3))  # a track outside the phase is ignored
    con = duckdb.connect()
    con.execute("CREATE TABLE item_genres (track_id BIGINT, genre_id BIGINT)")
    con.executemany("INSERT INTO item_genres VALUES (?, ?)", [(int(t), int(e)) for t, e in pairs])
    aff = EntityAffinity.read(con, inter, "item_genres", "genre_id")

    pair_rows = np.repeat(np.arange(n_users), n_tracks)[::3]
    pair_cols = np.tile(np.arange(n_tracks), n_users)[::3]
    got_sum, got_max, got_top = aff.pair_shares(pair_rows, pair_cols)
    want = np.array([_reference(heard, track_entities, r, c) for r, c in zip(pair_rows, pair_cols)])
    np.testing.assert_allclose(got_sum, want[:, 0], rtol=1e-12)
    np.testing.assert_array_equal(got_max, want[:, 1])
    np.testing.assert_array_equal(got_top, want[:, 2])
    assert (got_max > 0).any() and np.isnan(got_top[pair_rows == 5]).all()
