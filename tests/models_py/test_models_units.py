"""Pieces of the model steps on small inputs and on the hand-made warehouse."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pytest
import scipy.sparse as sp

from models_py import als, artifacts, popularity
from models_py.data import load_interactions
from models_py.db import WarehouseError, connect, require_tables
from models_py.metrics import PAD
from models_py.topk import top_k_from_ranking, top_k_from_scores
from music_recs import cold_start
from music_recs.tables import Phases


def test_confidence_weighting_prefers_recent_and_repeated_listens(tmp_path: Path, settings_for):
    s = settings_for(tmp_path, als_alpha=10.0, als_recency_half_life_days=30.0, als_recency_floor=0.2)
    counts = np.array([1, 1, 1, 3])
    ages = np.array([0, 30, 10_000, 0])
    c = als.confidence(counts, ages, s.als)
    assert c[0] == pytest.approx(1 + 10.0)  # fresh single listen: 1 + alpha
    assert c[1] == pytest.approx(1 + 10.0 * (0.2 + 0.8 * 0.5))  # one half-life old
    assert c[2] == pytest.approx(1 + 10.0 * 0.2, rel=1e-3)  # very old: the floor
    assert c[3] == pytest.approx(1 + 10.0 * (1 + np.log(3)))  # repeats add log-scaled weight
    with pytest.raises(ValueError, match="als_recency_floor"):
        als.confidence(counts, ages, settings_for(tmp_path, als_recency_floor=1.5).als)


def test_top_k_from_scores_excludes_pads_and_orders():
    users = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    items = np.array([[3.0, 0.0], [2.0, 1.0], [1.0, 3.0]], dtype=np.float32)
    exclude = sp.csr_matrix(np.array([[1, 0, 0], [0, 0, 1]]))
    idx, scores = top_k_from_scores(users, items, 3, exclude=exclude, batch_size=1)
    # user 0 scores 3, 2, 1 with item 0 excluded; user 1 scores 0, 1, 3 with item 2 excluded
    assert idx.tolist() == [[1, 2, PAD], [1, 0, PAD]]
    assert scores[0, :2].tolist() == [2.0, 1.0] and np.isnan(scores[0, 2])


def test_top_k_from_ranking_skips_heard_and_handles_cold_rows():
    heard = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 0, 0, 0]]))
    ranked = np.array([0, 1, 2, 3, -1])  # -1: a ranked item without a column
    out = top_k_from_ranking(ranked, heard, np.array([0, 1, -1]), 3)
    assert out.tolist() == [[2, 3, 4], [0, 1, 2], [0, 1, 2]]
    assert top_k_from_ranking(ranked, heard, np.array([0]), 6).tolist() == [[2, 3, 4, PAD, PAD, PAD]]


def test_missing_tables_and_files_give_clear_errors(tmp_path: Path, handmade_db: Path, settings_for):
    with pytest.raises(WarehouseError, match="not found"):
        connect(tmp_path / "nope.duckdb")
    with connect(handmade_db) as con:
        with pytest.raises(WarehouseError, match="step 'ranker'.*recs_final"):
            require_tables(con, "events_train", "recs_final", step="ranker")
        with pytest.raises(ValueError, match="unknown phase"):
            load_interactions(con, "test")
    with pytest.raises(FileNotFoundError, match="run the popularity step"):
        artifacts.load_half_life(handmade_db, settings_for(tmp_path))


def test_interactions_follow_warehouse_index_and_refuse_future_events(handmade_db: Path):
    with connect(handmade_db) as con:
        inter = load_interactions(con, Phases.Serve)
        idx = dict(con.execute("SELECT track_id, track_idx FROM track_index").fetchall())
        assert all(idx[t] == i for i, t in enumerate(inter.track_ids))  # hand-made index is id-descending
        n_pairs = con.execute("SELECT COUNT(*) FROM events_train").fetchone()[0]
        assert inter.matrix.nnz == n_pairs
        # the CSR holds exactly the warehouse pairs, canonical (sorted, no duplicates), even
        # though this index is not in id order (the sorted-by-id fast path does not apply)
        pairs = set(con.execute("SELECT user_id, track_id FROM events_train").fetchall())
        coo = inter.matrix.tocoo()
        assert {(int(inter.user_ids[r]), int(inter.track_ids[c])) for r, c in zip(coo.row, coo.col)} == pairs
        assert inter.matrix.has_canonical_format
        assert inter.age_days.min() >= 0
        con.execute("INSERT INTO events_fit SELECT * FROM events_test LIMIT 1")
        with pytest.raises(WarehouseError, match="after the phase's reference date|missing from"):
            load_interactions(con, Phases.Fit)


def test_cold_start_reads_the_popularity_step_lists(handmade_db: Path, tmp_path: Path, settings_for):
    """The served cold-start algorithm over the popularity step's tables: a genre preference
    leads with that genre's list, none gives the global list, heard tracks are skipped."""
    settings = settings_for(tmp_path)
    popularity.run(handmade_db, settings)
    con = duckdb.connect(str(handmade_db), read_only=True)
    genre, first = con.execute(
        "SELECT genre_id, track_id FROM recs_popular_genre WHERE rank = 1 LIMIT 1"
    ).fetchone()
    popular = [
        (int(t), float(s))
        for t, s in con.execute("SELECT track_id, score FROM recs_popular ORDER BY rank").fetchall()
    ]
    by_genre = {
        genre: [
            (int(t), float(s))
            for t, s in con.execute(
                "SELECT track_id, score FROM recs_popular_genre WHERE genre_id = ? ORDER BY rank", [genre]
            ).fetchall()
        ]
    }
    got = [t for t, _ in cold_start.genre_aware_popular(popular, by_genre, [(genre, 1.0)], set(), 10)]
    assert got[0] == first and len(got) == len(set(got)) == 10
    assert set(got) <= {t for t, _ in by_genre[genre]} | {t for t, _ in popular}
    assert cold_start.genre_aware_popular(popular, by_genre, [], set(), 5) == popular[:5]
    assert popular[0][0] not in [
        t for t, _ in cold_start.genre_aware_popular(popular, {}, [], {popular[0][0]}, 5)
    ]
    con.close()


@pytest.mark.parametrize("spread", [64, 0])  # dense lookup table, then binary search only
def test_positions_of_ids_match_a_dict_lookup(monkeypatch, spread: int):
    from models_py import data

    monkeypatch.setattr(data, "LUT_SPREAD", spread)
    monkeypatch.setattr(data, "LUT_FLOOR", 1 << 22 if spread else 0)
    rng = np.random.default_rng(3)
    for ids in (
        rng.permutation(50_000)[:30_000],
        np.array([5, 10**15, 3, 7]),
        np.array([0]),
        np.array([], dtype=np.int64),
    ):
        query = np.concatenate([ids[:500], rng.integers(-5, 60_000, 500), [10**15, -1, 2**40]])
        where = {int(v): i for i, v in enumerate(ids)}
        assert data.positions_of(ids, query).tolist() == [where.get(int(v), -1) for v in query]


@pytest.mark.parametrize("days", [0, 3, 30])
def test_recent_track_ids_are_the_scoring_columns(handmade_db: Path, days: int):
    """The SQL shortcut of the similar step selects exactly what ALS scoring selects."""
    from models_py import als
    from models_py.data import recent_track_ids, serve_track_ids

    with connect(handmade_db) as con:
        inter = load_interactions(con, Phases.Serve)
        expected = np.sort(inter.track_ids[als.scoring_columns(inter, days)])
        got = recent_track_ids(con, Phases.Serve, days)
        assert np.array_equal(serve_track_ids(con), inter.track_ids)
    assert np.array_equal(got, expected) and len(got) > 0


@pytest.mark.parametrize("seed", range(5))
def test_top_k_from_ranking_matches_a_brute_force_walk(seed: int):
    rng = np.random.default_rng(seed)
    n_users, n_cols, k = 60, 40, 7
    dense = rng.random((n_users, n_cols)) < rng.uniform(0.0, 0.9, (n_users, 1))
    dense[5] = True  # a user who heard everything
    heard = sp.csr_matrix(dense.astype(np.float32))
    ranked = rng.permutation(np.append(rng.choice(n_cols, 30, replace=False), [-1, -1]))
    rows = np.append(rng.integers(-1, n_users, 80), 5)
    got = top_k_from_ranking(ranked, heard, rows, k, batch_size=13)
    for r, out in zip(rows, got):
        walk = [p for p, c in enumerate(ranked) if r < 0 or c < 0 or not dense[r, c]][:k]
        assert out.tolist() == walk + [PAD] * (k - len(walk))


@pytest.mark.parametrize("whole_days", [True, False])
def test_recent_tracks_newest_first_then_column(whole_days: bool):
    from datetime import date

    from models_py.candidates import recent_tracks
    from models_py.data import Interactions

    rng = np.random.default_rng(3)
    dense = rng.random((50, 30)) < 0.4
    matrix = sp.csr_matrix(dense.astype(np.float32))
    age = rng.integers(0, 6, matrix.nnz).astype(np.float64) + (0.0 if whole_days else 0.5)
    inter = Interactions(
        "fit", date(2022, 12, 1), np.arange(50), np.arange(30), matrix, np.ones(matrix.nnz), age
    )
    got = recent_tracks(inter, 4)
    for r in range(50):
        lo, hi = matrix.indptr[r], matrix.indptr[r + 1]
        pairs = sorted(zip(age[lo:hi], matrix.indices[lo:hi]))[:4]
        want = [int(c) for _, c in pairs]
        assert got[r].tolist() == want + [-1] * (4 - len(want))


@pytest.mark.parametrize("phase", [Phases.Fit, Phases.Serve])
def test_interactions_cache_reuses_and_invalidates(handmade_db: Path, tmp_path: Path, phase: str):
    def same(a, b) -> bool:
        return (
            a.phase == b.phase
            and a.ref_date == b.ref_date
            and np.array_equal(a.user_ids, b.user_ids)
            and np.array_equal(a.track_ids, b.track_ids)
            and (a.matrix != b.matrix).nnz == 0
            and a.matrix.dtype == b.matrix.dtype
            and a.matrix.indices.dtype == b.matrix.indices.dtype
            and np.array_equal(a.matrix.indptr, b.matrix.indptr)
            and np.array_equal(a.matrix.indices, b.matrix.indices)
            and a.listen_count.dtype == b.listen_count.dtype
            and np.array_equal(a.listen_count, b.listen_count)
            and a.age_days.dtype == b.age_days.dtype
            and np.array_equal(a.age_days, b.age_days)
        )

    with connect(handmade_db) as con:
        direct = load_interactions(con, phase)
        first = load_interactions(con, phase, tmp_path)  # writes the cache
        cached = tmp_path / f"interactions_{phase}.npz"
        assert cached.is_file() and same(first, direct)
        stamp = cached.stat().st_mtime_ns
        assert same(load_interactions(con, phase, tmp_path), direct) and cached.stat().st_mtime_ns == stamp
        table = "events_fit" if phase == Phases.Fit else "events_train"
        con.execute(
            f"DELETE FROM {table} WHERE (user_id, track_id) IN (SELECT user_id, track_id FROM {table} LIMIT 1)"
        )
        changed = load_interactions(con, phase, tmp_path)  # fingerprint differs: reloaded and rewritten
        assert changed.matrix.nnz == direct.matrix.nnz - 1 and same(changed, load_interactions(con, phase))


def test_popularity_validation_sample_keeps_each_users_own_tracks():
    rng = np.random.default_rng(0)
    user_ids = np.arange(100, 1100, dtype=np.int64)  # 1,000 label users
    rel_rows = np.sort(rng.integers(0, len(user_ids), size=5_000))
    rel_items = rng.integers(0, 10**6, size=len(rel_rows))
    pairs = {(int(user_ids[r]), int(t)) for r, t in zip(rel_rows, rel_items)}

    users, rows, items = popularity.sample_targets((user_ids, rel_rows, rel_items), 200, seed=7)
    assert len(users) == 200 and np.all(np.diff(users) > 0)
    assert rows.min() >= 0 and rows.max() < 200
    got = {(int(users[r]), int(t)) for r, t in zip(rows, items)}
    assert got == {p for p in pairs if p[0] in set(users.tolist())}  # every track of a kept user, no other
    again = popularity.sample_targets((user_ids, rel_rows, rel_items), 200, seed=7)
    assert all(np.array_equal(a, b) for a, b in zip((users, rows, items), again))
    for cap in (0, 1_000, 5_000):  # 0 = all; a cap above the users keeps them all
        whole = popularity.sample_targets((user_ids, rel_rows, rel_items), cap, seed=7)
        assert all(a is b for a, b in zip(whole, (user_ids, rel_rows, rel_items)))


def test_grid_rankings_match_one_query_per_half_life(handmade_db: Path):
    with connect(handmade_db, read_only=True) as con:
        grid = popularity.grid_rankings(con, Phases.Fit, popularity.HALF_LIFE_GRID)
        for h in popularity.HALF_LIFE_GRID:
            ids, _ = popularity.popularity_scores(con, Phases.Fit, h)
            assert np.array_equal(grid[h], ids), h
        assert not np.array_equal(grid[0.0], grid[3.0])  # the decay reorders the handmade log


def test_sort_based_set_operations_equal_numpys():
    """arrays.unique_sorted / member_of replace np.union1d / np.isin on the candidate keys
    (numpy 2.3's hash-based unique is slow on millions of distinct values): same answers."""
    from models_py.arrays import member_of, unique_sorted

    rng = np.random.default_rng(3)
    a, b = rng.integers(-50, 10**12, 5000), rng.integers(-50, 10**12, 300)
    a[:100] = a[100:200]  # repeats
    both = np.concatenate([a, b, b[:7]])
    assert np.array_equal(unique_sorted(both), np.union1d(a, b))
    assert np.array_equal(member_of(both, b), np.isin(both, b))
    assert unique_sorted(np.zeros(0, np.int64)).size == 0
    assert not member_of(a, np.zeros(0, np.int64)).any()


@pytest.mark.parametrize("block", [1, 7, 64, 10_000])
def test_pair_products_in_blocks_equal_the_whole_gather(block: int) -> None:
    """rowwise_dot / max_similarity give, block by block, what one big gather gives."""
    from models_py.candidates import max_similarity, rowwise_dot

    rng = np.random.default_rng(3)
    users, items = rng.normal(size=(40, 8)).astype(np.float32), rng.normal(size=(90, 8)).astype(np.float32)
    rows, cols = rng.integers(0, 40, 500), rng.integers(0, 90, 500)
    want = np.einsum("ij,ij->i", users[rows], items[cols])
    np.testing.assert_array_equal(rowwise_dot(users, rows, items, cols, block=block), want)
    recent = rng.integers(-1, 90, size=(40, 5))  # -1 = padding, never the best
    sims = np.einsum("nf,nkf->nk", items[cols], items[np.maximum(recent[rows], 0)])
    best = np.where(recent[rows] >= 0, sims, -1.0).max(axis=1)
    np.testing.assert_array_equal(max_similarity(recent, items, rows, cols, block=block), best)
