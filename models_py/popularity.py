"""Step ``popularity``: global and per-genre top tracks from the train window only.

Score of a track = Σ over its listeners of 0.5^(age / half_life), age = days from the user's
last listen of the track to the phase's reference date (half_life 0 = no decay: distinct
users). The half-life is picked on validation: scores from ``events_fit`` (reference
label_start) ranked against ``events_labels`` by NDCG@5 with heard tracks excluded; the
winner is then applied to ``events_train``. Cold-start lists per genre use the same score.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from models_py import metrics as M
from models_py.artifacts import POPULARITY_ARTIFACT
from models_py.data import (
    Interactions,
    interactions_cache,
    load_interactions,
    phase_events,
    read_split,
    reference_date,
)
from models_py.db import artifacts_dir, connect, require_tables, timed, write_table
from models_py.topk import top_k_from_ranking
from music_recs.config import PopularitySettings, Settings
from music_recs.logs import setup_logging
from music_recs.tables import Columns as C
from music_recs.tables import Phases, Tables

#: Candidate half-lives in days (0 = plain distinct-user counts).
HALF_LIFE_GRID: tuple[float, ...] = (0.0, 3.0, 7.0, 14.0, 30.0, 90.0)
VALIDATION_K = 5
ARTIFACT = POPULARITY_ARTIFACT  # read back by models_py.artifacts.load_half_life


def _weight(half_life: float) -> str:
    """SQL weight of one pair: 1, or 0.5^(days from its last listen to $ref / half_life)."""
    if half_life < 0:
        raise ValueError(f"half_life must be >= 0, got {half_life}")
    return (
        "1.0" if half_life == 0 else f"pow(0.5, date_diff('day', {C.LastListen}, $ref) / {float(half_life)})"
    )


def popularity_scores(
    con: duckdb.DuckDBPyConnection, phase: str, half_life: float
) -> tuple[np.ndarray, np.ndarray]:
    """Track ids and scores of a phase, best first (ties broken by track id)."""
    weight = _weight(half_life)
    table = phase_events(phase)
    ref = reference_date(read_split(con), phase)
    got = con.execute(
        f"SELECT {C.Item}, SUM({weight})::DOUBLE AS {C.Score} FROM {table} "
        f"WHERE {C.LastListen} <= $ref GROUP BY {C.Item} ORDER BY {C.Score} DESC, {C.Item}",
        {"ref": ref},
    ).fetchnumpy()
    return np.asarray(got[C.Item], dtype=np.int64), np.asarray(got[C.Score], dtype=np.float64)


def grid_rankings(
    con: duckdb.DuckDBPyConnection, phase: str, half_lives: tuple[float, ...]
) -> dict[float, np.ndarray]:
    """Track ids best first (ties by id) for every half-life, from one pass over the phase's
    pairs: one pass with a sum per half-life costs less than a pass per half-life over the
    hundreds of millions of fit pairs of a full-scale log. (The order is
    ``popularity_scores``'; multi-threaded sums may differ in their last bits
    between the two queries and swap near-ties.)"""
    sums = ", ".join(f"SUM({_weight(h)})::DOUBLE AS s{i}" for i, h in enumerate(half_lives))
    got = con.execute(
        f"SELECT {C.Item}, {sums} FROM {phase_events(phase)} WHERE {C.LastListen} <= $ref GROUP BY {C.Item}",
        {"ref": reference_date(read_split(con), phase)},
    ).fetchnumpy()
    ids = np.asarray(got[C.Item], dtype=np.int64)
    return {
        h: ids[np.lexsort((ids, -np.asarray(got[f"s{i}"], dtype=np.float64)))]
        for i, h in enumerate(half_lives)
    }


def recommend(
    con: duckdb.DuckDBPyConnection,
    inter: Interactions,
    user_ids: np.ndarray,
    half_life: float,
    k: int,
    ranked: np.ndarray | None = None,
) -> np.ndarray:
    """Top ``k`` of the phase's popularity per user, minus the user's heard tracks (PAD-filled);
    ``ranked``: the phase's track ids best first, if already computed for ``half_life``."""
    if ranked is None:
        ranked, _ = popularity_scores(con, inter.phase, half_life)
    pos = top_k_from_ranking(inter.cols_of(ranked), inter.matrix, inter.rows_of(np.asarray(user_ids)), k)
    return np.where(pos == M.PAD, M.PAD, ranked[np.maximum(pos, 0)])


def label_targets(con: duckdb.DuckDBPyConnection) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Users of ``events_labels`` with their label tracks: (user_ids, rel_rows, rel_track_ids)."""
    got = con.execute(f"SELECT {C.User}, {C.Item} FROM {Tables.EventsLabels} ORDER BY 1, 2").fetchnumpy()
    users = np.asarray(got[C.User], dtype=np.int64)
    user_ids, rel_rows = np.unique(users, return_inverse=True)
    return user_ids, rel_rows, np.asarray(got[C.Item], dtype=np.int64)


def sample_targets(
    targets: tuple[np.ndarray, np.ndarray, np.ndarray], n_users: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """At most ``n_users`` of the label users (seeded, ascending; 0 = all) with their tracks:
    ranking every label user once per half-life of the grid is the cost of this choice at
    full scale, and a seeded sample bounds it."""
    user_ids, rel_rows, rel_items = targets
    if n_users <= 0 or len(user_ids) <= n_users:
        return targets
    keep = np.sort(np.random.default_rng(seed).choice(len(user_ids), size=n_users, replace=False))
    new_row = np.full(len(user_ids), -1, dtype=np.int64)
    new_row[keep] = np.arange(n_users)
    mask = new_row[rel_rows] >= 0
    return user_ids[keep], new_row[rel_rows[mask]], rel_items[mask]


def validation_ndcg(
    con: duckdb.DuckDBPyConnection,
    fit: Interactions,
    half_life: float,
    k: int = VALIDATION_K,
    targets: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    ranked: np.ndarray | None = None,
) -> float:
    """NDCG@k of fit-phase popularity (heard excluded) against the label window
    (``targets``: ``label_targets(con)``, ``ranked``: ``grid_rankings``' list for the
    half-life; both computed once by callers that try several half-lives)."""
    user_ids, rel_rows, rel_items = targets if targets is not None else label_targets(con)
    if len(user_ids) == 0:
        return float("nan")
    recs = recommend(con, fit, user_ids, half_life, k, ranked)
    hits = M.hit_matrix(recs, rel_rows, rel_items)
    n_rel = np.bincount(rel_rows, minlength=len(user_ids))
    return float(M.ndcg_at_k(hits, n_rel, k).mean())


def choose_half_life(
    con: duckdb.DuckDBPyConnection,
    popularity: PopularitySettings,
    seed: int,
    log: logging.Logger,
    cache_dir: Path | None = None,
) -> tuple[float, dict[str, float]]:
    """The configured half-life, or the grid's best on validation (ties → the earlier one);
    ``cache_dir``: where ``load_interactions`` keeps events_fit for the ranker."""
    if popularity.half_life_days is not None:
        log.info("popularity half-life fixed by settings: %s days", popularity.half_life_days)
        return float(popularity.half_life_days), {}
    fit = load_interactions(con, Phases.Fit, cache_dir)
    targets = sample_targets(label_targets(con), popularity.valid_users, seed)
    log.info("popularity validation on %d label users", len(targets[0]))
    rankings = grid_rankings(con, Phases.Fit, HALF_LIFE_GRID)
    scores = {
        str(h): validation_ndcg(con, fit, h, targets=targets, ranked=rankings[h]) for h in HALF_LIFE_GRID
    }
    for h, v in scores.items():
        log.info("popularity validation: half-life %s days -> NDCG@%d %.4f", h, VALIDATION_K, v)
    best = max(
        HALF_LIFE_GRID, key=lambda h: (np.nan_to_num(scores[str(h)], nan=-1.0), -HALF_LIFE_GRID.index(h))
    )
    log.info("popularity half-life chosen on validation: %s days", best)
    return float(best), scores


def genre_lists(
    con: duckdb.DuckDBPyConnection, track_ids: np.ndarray, scores: np.ndarray, n: int
) -> pa.Table:
    """Top ``n`` tracks per genre (canonical genres of ``item_genres``) by the global
    ``popularity_scores`` (passed in: the caller already has them)."""
    con.register("_pop_scores", pa.table({C.Item: track_ids, C.Score: scores}))
    try:
        return con.execute(
            f"""SELECT {C.Genre}::BIGINT AS {C.Genre}, rnk::INTEGER AS {C.Rank},
                       {C.Item}::BIGINT AS {C.Item}, {C.Score}::DOUBLE AS {C.Score}
                FROM (SELECT g.{C.Genre}, s.{C.Item}, s.{C.Score},
                             row_number() OVER (PARTITION BY g.{C.Genre}
                                                ORDER BY s.{C.Score} DESC, s.{C.Item}) AS rnk
                      FROM _pop_scores s JOIN {Tables.ItemGenres} g USING ({C.Item}))
                WHERE rnk <= {int(n)} ORDER BY {C.Genre}, rnk"""
        ).to_arrow_table()
    finally:
        con.unregister("_pop_scores")


def run(db_path: Path, settings: Settings) -> None:
    log = setup_logging("models_py.popularity", logs_dir=settings.logs_dir)
    with timed(log, "popularity"), connect(db_path, memory_limit=settings.models.memory_limit) as con:
        require_tables(
            con,
            Tables.EventsTrain,
            Tables.EventsFit,
            Tables.EventsLabels,
            Tables.ItemGenres,
            Tables.SplitInfo,
            step="popularity",
        )
        half_life, grid = choose_half_life(
            con, settings.popularity, settings.seed, log, interactions_cache(db_path, settings)
        )
        track_ids, scores = popularity_scores(con, Phases.Serve, half_life)  # one pass for both lists
        top = slice(0, settings.models.n_popular)
        table = pa.table(
            {
                C.Rank: pa.array(np.arange(1, len(track_ids[top]) + 1), pa.int32()),
                C.Item: pa.array(track_ids[top], pa.int64()),
                C.Score: pa.array(scores[top], pa.float64()),
            }
        )
        n_global = write_table(con, Tables.RecsPopular, table, order_by=C.Rank)
        n_genre = write_table(
            con, Tables.RecsPopularGenre, genre_lists(con, track_ids, scores, settings.models.n_popular)
        )
        (artifacts_dir(db_path, settings) / ARTIFACT).write_text(
            json.dumps({"half_life_days": half_life, "validation_ndcg@5": grid}, indent=2)
        )
        log.info(
            "wrote %s (%d rows) and %s (%d rows)",
            Tables.RecsPopular,
            n_global,
            Tables.RecsPopularGenre,
            n_genre,
        )
