"""One behaviour suite for every recommender (like implicit's shared tests), on the tiny build.

Each recommender answers ``recommend(user_ids, k) -> (n_users, k) track ids``; every one must
return k unique catalogue tracks per warm user, none of them heard in train.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import numpy as np
import pytest

from models_py import als, artifacts, db, evaluate, popularity, ranker
from models_py.candidates import PhaseModels
from models_py.data import load_interactions
from models_py.features import prepare_phase
from models_py.metrics import PAD
from music_recs import cold_start
from music_recs.tables import Phases

K = 10
N_USERS = 60

Recommender = Callable[[np.ndarray, int], np.ndarray]


def _phase_models(con: duckdb.DuckDBPyConnection, inter, tb) -> PhaseModels:
    """The serve phase's candidate models as the ranker step builds them."""
    s = tb.settings
    return PhaseModels.build(
        con,
        inter,
        als.AlsModel.load(artifacts.factors_path(tb.db_path, s, Phases.Serve)),
        artifacts.load_half_life(tb.db_path, s),
        s.ranker,
        s.als,
        seed=s.seed,
        threads=s.models.train_threads,
    )


def _serving(tb) -> tuple:
    """(ranker settings, n_candidates, n_recs): what candidates / rerank / serve take."""
    s = tb.settings
    return s.ranker, s.models.n_candidates, s.models.n_recs


@pytest.fixture(scope="module")
def ro(tiny_build):
    con = duckdb.connect(str(tiny_build.db_path), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def serve(ro):
    return load_interactions(ro, Phases.Serve)


@pytest.fixture(scope="module")
def sample_users(serve) -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.sort(rng.choice(serve.user_ids, size=min(N_USERS, serve.n_users), replace=False))


def _popularity(tb, con, inter) -> Recommender:
    half_life = artifacts.load_half_life(tb.db_path, tb.settings)
    return lambda users, k: popularity.recommend(con, inter, users, half_life, k)


def _als_live(tb, con, inter) -> Recommender:
    model = als.AlsModel.load(artifacts.factors_path(tb.db_path, tb.settings, Phases.Serve))
    return lambda users, k: als.recommend(
        model,
        inter,
        k,
        tb.settings.als,
        seed=tb.settings.seed,
        threads=tb.settings.models.train_threads,
        rows=inter.rows_of(users),
    )[1]


def _table(name: str):
    def make(tb, con, inter) -> Recommender:
        return lambda users, k: evaluate.table_lists(con, name, users, k)

    return make


def _reranked_live(tb, con, inter) -> Recommender:
    model = ranker.load_model(tb.db_path, tb.settings)
    pm = _phase_models(con, inter, tb)
    feats = prepare_phase(con, inter)

    def rec(users: np.ndarray, k: int) -> np.ndarray:
        got_users, tracks, _ = ranker.rerank(pm, feats, model, inter.rows_of(users), *_serving(tb))
        assert np.array_equal(got_users, users)
        return tracks[:, :k]

    return rec


def _cold_start_by_taste(tb, con, inter) -> Recommender:
    popular = [
        (int(t), float(s))
        for t, s in con.execute("SELECT track_id, score FROM recs_popular ORDER BY rank").fetchall()
    ]
    by_genre: dict[int, list[tuple[int, float]]] = {}
    for g, t, s in con.execute(
        "SELECT genre_id, track_id, score FROM recs_popular_genre ORDER BY genre_id, rank"
    ).fetchall():
        by_genre.setdefault(int(g), []).append((int(t), float(s)))

    def rec(users: np.ndarray, k: int) -> np.ndarray:
        out = np.full((len(users), k), PAD, dtype=np.int64)
        for i, u in enumerate(users):
            genres = [
                r[0]
                for r in con.execute(
                    "SELECT genre_id FROM user_genre_affinity WHERE user_id = ? "
                    "ORDER BY share_serve DESC, genre_id LIMIT 3",
                    [int(u)],
                ).fetchall()
            ]
            row = inter.rows_of(np.array([u]))[0]
            heard = inter.track_ids[inter.matrix[row].indices]
            preference = [(g, 1.0 / (j + 1)) for j, g in enumerate(genres)]
            got = [
                t
                for t, _ in cold_start.genre_aware_popular(
                    popular, by_genre, preference, set(heard.tolist()), k
                )
            ]
            out[i, : len(got)] = got
        return out

    return rec


RECOMMENDERS = {
    "popularity": _popularity,
    "als_live": _als_live,
    "als_table": _table("recs_als"),
    "reranked_live": _reranked_live,
    "reranked_table": _table("recs_final"),
    "cold_start": _cold_start_by_taste,
}


@pytest.fixture(scope="module", params=list(RECOMMENDERS))
def recs(request, tiny_build, ro, serve, sample_users) -> np.ndarray:
    recommend = RECOMMENDERS[request.param](tiny_build, ro, serve)
    return recommend(sample_users, K)


def test_k_unique_tracks_per_user(recs):
    assert recs.shape == (N_USERS, K)
    assert (recs != PAD).all()
    assert all(len(set(row)) == K for row in recs.tolist())


def test_heard_tracks_are_excluded(recs, serve, sample_users):
    rows = serve.rows_of(sample_users)
    for row, lst in zip(rows, recs):
        heard = set(serve.track_ids[serve.matrix[row].indices].tolist())
        assert not heard & set(lst.tolist())


def test_tracks_are_in_the_catalogue(recs, ro):
    catalog = {r[0] for r in ro.execute("SELECT track_id FROM items").fetchall()}
    assert set(recs.ravel().tolist()) <= catalog


@pytest.mark.parametrize("live, table", [("als_live", "als_table"), ("reranked_live", "reranked_table")])
def test_live_scoring_matches_published_table(live, table, tiny_build, ro, serve, sample_users):
    got = RECOMMENDERS[live](tiny_build, ro, serve)(sample_users, K)
    assert np.array_equal(got, RECOMMENDERS[table](tiny_build, ro, serve)(sample_users, K))


def test_candidate_features_equal_one_all_sql_join(tiny_build, ro, serve, sample_users):
    """candidate_features looks track and user features up in arrays and asks DuckDB for the
    affinities only; the frame equals, value for value, the plain SQL join of every feature
    table (the previous implementation, kept here as the reference)."""
    from models_py.candidates import candidates
    from models_py.features import FEATURES, candidate_features

    tb = tiny_build
    pm = _phase_models(ro, serve, tb)
    feats = prepare_phase(ro, serve)
    cand = candidates(pm, serve.rows_of(sample_users), *_serving(tb)[:2])
    frame = candidate_features(feats, cand)
    ro.register("_ref_cand", cand)
    try:
        ref = ro.execute("""
            WITH ug AS (
                SELECT c.user_id, c.track_id, SUM(a.share_serve) AS s, MAX(a.share_serve) AS m
                FROM _ref_cand c JOIN item_genres g ON g.track_id = c.track_id
                JOIN user_genre_affinity a ON a.user_id = c.user_id AND a.genre_id = g.genre_id
                WHERE a.n_tracks_serve > 0 GROUP BY ALL),
            ua AS (
                SELECT c.user_id, c.track_id, SUM(a.share_serve) AS s, MAX(a.share_serve) AS m
                FROM _ref_cand c JOIN item_artists r ON r.track_id = c.track_id
                JOIN user_artist_affinity a ON a.user_id = c.user_id AND a.artist_id = r.artist_id
                WHERE a.n_tracks_serve > 0 GROUP BY ALL),
            fav AS (
                SELECT user_id, MAX(share_serve) AS user_top_artist_share FROM user_artist_affinity
                WHERE n_tracks_serve > 0 GROUP BY user_id)
            SELECT c.user_id, c.track_id, c.als_score, c.als_rank::DOUBLE AS als_rank, c.als_score_gap,
                   CASE WHEN isinf(c.pop_rank) THEN NULL ELSE c.pop_rank END AS pop_rank,
                   c.recent_sim, c.recent_max_sim, c.recent_rank::DOUBLE AS recent_rank,
                   c.from_als::DOUBLE AS from_als, c.from_pop::DOUBLE AS from_pop,
                   c.from_recent::DOUBLE AS from_recent, c.cluster_rank::DOUBLE AS cluster_rank,
                   c.from_cluster::DOUBLE AS from_cluster, c.cluster_user_share, c.cluster_recent_share,
                   c.cluster_track_share, c.cluster_score, c.cluster_score_all,
                   t.* EXCLUDE (track_id), u.* EXCLUDE (user_id), fav.user_top_artist_share,
                   COALESCE(ug.s, 0) AS user_genre_share_sum, COALESCE(ug.m, 0) AS user_genre_share_max,
                   COALESCE(ua.s, 0) AS user_artist_share_sum, COALESCE(ua.m, 0) AS user_artist_share_max,
                   t.track_pop_pct - u.user_mean_pop_pct AS pop_pct_vs_user,
                   COALESCE(ua.m, 0) * t.track_artist_share AS fav_score,
                   COALESCE(ug.m, 0) * t.track_genre_share AS taste_score
            FROM _ref_cand c
            LEFT JOIN _track_feats_serve t ON t.track_id = c.track_id
            LEFT JOIN _user_feats_serve u ON u.user_id = c.user_id
            LEFT JOIN ug ON ug.user_id = c.user_id AND ug.track_id = c.track_id
            LEFT JOIN ua ON ua.user_id = c.user_id AND ua.track_id = c.track_id
            LEFT JOIN fav ON fav.user_id = c.user_id
            ORDER BY c.user_id, c.track_id""").df()
    finally:
        ro.unregister("_ref_cand")
    assert list(frame.columns) == ["user_id", "track_id", *FEATURES]
    assert len(frame) == len(ref) == len(cand) > 0
    assert np.array_equal(frame["user_id"].to_numpy(), ref["user_id"].to_numpy())
    assert np.array_equal(frame["track_id"].to_numpy(), ref["track_id"].to_numpy())
    for f in FEATURES:
        want = ref[f].to_numpy(dtype=np.float64, na_value=np.nan).astype(np.float32)
        assert np.array_equal(frame[f].to_numpy(), want, equal_nan=True), f
    assert frame["user_genre_share_sum"].gt(0).any() and frame["user_artist_share_max"].gt(0).any()
    assert frame["track_user_share"].notna().all() and (frame["als_score_gap"] <= 0).all()


def test_candidates_hold_the_taste_cluster_lists(tiny_build, ro, serve, sample_users):
    """Every user's taste_top_k columns are among their candidates, flagged from_cluster with
    their rank; no other candidate carries the flag; none of them was heard."""
    from models_py.candidates import candidates
    from models_py.clusters import taste_top_k

    tb = tiny_build
    pm = _phase_models(ro, serve, tb)
    rows = serve.rows_of(sample_users)
    n = tb.settings.ranker.cluster_candidates
    cand = candidates(pm, rows, *_serving(tb)[:2]).to_pandas()
    want, _ = taste_top_k(*pm.cluster_lists, pm.cluster_of_col, pm.cluster_track_share, serve.matrix, rows, n)
    assert n > 0 and (want >= 0).sum() > len(rows)  # the tiny users do get taste lists
    flagged = cand[cand["from_cluster"]]
    got = {(u, t): r for u, t, r in zip(flagged["user_id"], flagged["track_id"], flagged["cluster_rank"])}
    expected = {
        (int(serve.user_ids[rows[i]]), int(serve.track_ids[c])): j + 1
        for i in range(len(rows))
        for j, c in enumerate(want[i])
        if c >= 0
    }
    assert got == expected
    assert (cand.loc[~cand["from_cluster"], "cluster_rank"] == n + 1).all()
    heard = serve.matrix[rows].nonzero()
    heard_keys = set(zip(serve.user_ids[rows[heard[0]]].tolist(), serve.track_ids[heard[1]].tolist()))
    assert not heard_keys & set(expected)


def test_serve_in_chunks_with_the_search_ahead_equals_one_pass(tiny_build, ro, serve, monkeypatch):
    """ranker.serve searches the next chunk's recent-taste candidates in a second thread; over
    many small chunks its lists equal re-ranking every user at once."""
    tb = tiny_build
    model = ranker.load_model(tb.db_path, tb.settings)
    pm = _phase_models(ro, serve, tb)
    feats = prepare_phase(ro, serve)
    monkeypatch.setattr(ranker, "SERVE_CHUNK_USERS", max(1, serve.n_users // 9))
    table = ranker.serve(pm, feats, model, *_serving(tb))
    users, tracks, scores = ranker.rerank(pm, feats, model, np.arange(serve.n_users), *_serving(tb))
    assert table.equals(db.long_table(users, tracks, scores))


def test_candidates_from_the_published_als_lists_equal_a_new_search(tiny_build, ro, serve, sample_users):
    """The ranker's serve phase reads each chunk's ALS lists back from recs_als instead of
    searching again: the same candidates; a table of another list length is not used."""
    from models_py.candidates import candidates

    tb = tiny_build
    pm = _phase_models(ro, serve, tb)
    rows = serve.rows_of(sample_users)
    searched = candidates(pm, rows, *_serving(tb)[:2])
    pm.als_lists = als.published_lists(ro, serve, tb.settings.models.n_candidates)
    assert pm.als_lists is not None
    assert candidates(pm, rows, *_serving(tb)[:2]).equals(searched)
    assert als.published_lists(ro, serve, tb.settings.models.n_candidates + 1) is None
