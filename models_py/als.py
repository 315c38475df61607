"""Step ``als``: implicit ALS on the train matrix and per-user top candidates → ``recs_als``.

Confidence weighting. The real log holds first listens only (listen_count is 1 almost
everywhere), so repeat counts alone carry no signal. Each (user, track) pair gets

    w = (1 + ln(listen_count)) · (floor + (1 − floor) · 0.5^(age / half_life))
    c = 1 + alpha · w

where age = days from the pair's last listen to the phase's reference date (split_date for
serve, label_start for fit). Recent listens say more about what a user wants next; old ones
keep ``floor`` of their weight. ``c`` is given to implicit as the confidence itself (its
``alpha`` is left at 1, so the model's c is exactly the formula above).

Scoring is restricted to tracks heard in the last ``als_score_days`` of the phase (tracks
that can still be recommended): exact, norm-bounded so that most users are scored against the
largest-norm tracks only (``topk.top_k_norm_bounded``), or a faiss IVF search for problems the
norms do not bound (``models_py/ann.py``, setting ``als_search``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

from models_py import ann
from models_py.artifacts import factors_path
from models_py.data import Interactions, interactions_cache, load_interactions, positions_of
from models_py.db import connect, long_table, require_tables, timed, write_table
from models_py.metrics import PAD
from music_recs.config import AlsSettings, Settings
from music_recs.logs import setup_logging
from music_recs.tables import Columns as C
from music_recs.tables import Phases, Tables

log = logging.getLogger("models_py.als")


def confidence(listen_count: np.ndarray, age_days: np.ndarray, als: AlsSettings) -> np.ndarray:
    """c = 1 + alpha · (1 + ln(count)) · (floor + (1 − floor) · 0.5^(age / half_life))."""
    floor, half_life = als.recency_floor, als.recency_half_life_days
    if not 0.0 <= floor <= 1.0:
        raise ValueError(f"als_recency_floor must be within [0, 1], got {floor}")
    if half_life <= 0:
        raise ValueError(f"als_recency_half_life_days must be > 0, got {half_life}")
    if als.alpha < 0:
        raise ValueError(f"als_alpha must be >= 0, got {als.alpha}")
    counts = np.maximum(np.asarray(listen_count, dtype=np.float64), 1.0)
    recency = floor + (1.0 - floor) * np.power(0.5, np.maximum(age_days, 0.0) / half_life)
    return (1.0 + als.alpha * (1.0 + np.log(counts)) * recency).astype(np.float32)


@dataclass
class AlsModel:
    """Factors of one phase with the ids of their rows."""

    user_ids: np.ndarray
    track_ids: np.ndarray
    user_factors: np.ndarray
    item_factors: np.ndarray

    def save(self, path: Path) -> None:
        np.savez(
            path,
            user_ids=self.user_ids,
            track_ids=self.track_ids,
            user_factors=self.user_factors,
            item_factors=self.item_factors,
        )

    @classmethod
    def load(cls, path: Path) -> AlsModel:
        if not Path(path).is_file():
            raise FileNotFoundError(f"{path}: ALS factors not found (run the als step first)")
        with np.load(path) as z:
            return cls(z["user_ids"], z["track_ids"], z["user_factors"], z["item_factors"])


def train(inter: Interactions, als: AlsSettings, *, seed: int, threads: int) -> AlsModel:
    """Fit implicit's CPU ALS on the phase's confidence matrix (seeded)."""
    from implicit.cpu.als import AlternatingLeastSquares

    if inter.matrix.nnz == 0:
        raise ValueError(f"no {inter.phase} events to train ALS on")
    weights = inter.matrix.copy()
    weights.data = confidence(inter.listen_count, inter.age_days, als)
    model = AlternatingLeastSquares(
        factors=als.factors,
        regularization=als.regularization,
        alpha=1.0,
        iterations=als.iterations,
        random_state=seed,
        num_threads=threads,
        calculate_training_loss=False,
    )
    started = time.perf_counter()

    def progress(iteration: int, seconds: float, loss: float | None) -> None:
        log.info(
            "ALS %s: iteration %d/%d (%.1fs)",
            inter.phase,
            iteration + 1,
            als.iterations,
            time.perf_counter() - started,
        )

    model.fit(weights, show_progress=False, callback=progress)
    return AlsModel(
        inter.user_ids,
        inter.track_ids,
        np.asarray(model.user_factors, dtype=np.float32),
        np.asarray(model.item_factors, dtype=np.float32),
    )


def scoring_columns(inter: Interactions, days: int) -> np.ndarray:
    """Columns of tracks heard in the last ``days`` of the phase's listens (all tracks when
    days = 0).

    The window ends at the phase's newest listen, not at its reference date: a log dated to
    the month can end weeks before the split, and a window counted from the split would then
    hold no track at all."""
    if days <= 0 or inter.matrix.nnz == 0:
        return np.arange(inter.n_tracks)
    recent = inter.matrix.indices[inter.age_days < inter.age_days.min() + days]
    return np.unique(recent).astype(np.int64)


def scoring_search(
    model: AlsModel, inter: Interactions, als: AlsSettings, n_users: int, *, seed: int, threads: int
) -> tuple[np.ndarray, ann.Searcher]:
    """Columns ALS may recommend and a top-k searcher over their factors, for ``n_users``
    users in all (the ranker builds it once per phase and scores its users in chunks)."""
    cols = scoring_columns(inter, als.score_days)
    return cols, ann.Searcher(
        model.item_factors[cols], n_users, als, seed=seed, threads=threads, what=f"ALS {inter.phase} scoring"
    )


def recommend(
    model: AlsModel,
    inter: Interactions,
    k: int,
    als: AlsSettings,
    *,
    seed: int,
    threads: int,
    rows: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top ``k`` unheard tracks per user row: (rows, track ids with PAD, scores)."""
    if rows is None:
        rows = np.arange(inter.n_users)
    search = scoring_search(model, inter, als, len(rows), seed=seed, threads=threads)
    return recommend_with(model, inter, k, search, rows)


def recommend_with(
    model: AlsModel,
    inter: Interactions,
    k: int,
    search: tuple[np.ndarray, ann.Searcher],
    rows: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``recommend`` with a searcher from ``scoring_search``, reused across calls."""
    cols, searcher = search
    exclude = inter.matrix[rows][:, cols]
    idx, scores = searcher.top_k(model.user_factors[rows], k, exclude)
    tracks = np.where(idx == PAD, PAD, inter.track_ids[cols][np.maximum(idx, 0)])
    return rows, tracks, scores


def published_lists(
    con: duckdb.DuckDBPyConnection, inter: Interactions, k: int
) -> Callable[[np.ndarray], np.ndarray] | None:
    """Reader of this step's published lists (recs_als) for user rows of ``inter``: columns,
    best first, -1 padded, (rows x k). None when the table holds lists of another length.

    Why: the ranker's serve candidates start from every user's ALS top ``n_candidates`` by the
    published model, which this step already searched and stored; reading a chunk's rows back
    (a range of the user-ordered table) is much cheaper than searching again.
    """
    longest = con.execute(f"SELECT max({C.Rank}) FROM {Tables.RecsAls}").fetchone()[0]
    if longest != k:
        return None

    def read(rows: np.ndarray) -> np.ndarray:
        out = np.full((len(rows), k), -1, dtype=np.int64)
        if len(rows) == 0:
            return out
        users = inter.user_ids[rows]
        got = con.execute(
            f"SELECT {C.User}, {C.Item}, {C.Rank} FROM {Tables.RecsAls} WHERE {C.User} BETWEEN ? AND ?",
            [int(users.min()), int(users.max())],
        ).fetchnumpy()
        local = positions_of(users, np.asarray(got[C.User], dtype=np.int64))
        keep = local >= 0
        cols = inter.cols_of(np.asarray(got[C.Item], dtype=np.int64)[keep])
        if (cols < 0).any():
            raise RuntimeError(
                f"{Tables.RecsAls} names tracks outside the {inter.phase} interactions: rerun als"
            )
        out[local[keep], np.asarray(got[C.Rank], dtype=np.int64)[keep] - 1] = cols
        return out

    return read


def run(db_path: Path, settings: Settings) -> None:
    setup_logging("models_py.als", logs_dir=settings.logs_dir)
    with timed(log, "als"), connect(db_path, memory_limit=settings.models.memory_limit) as con:
        require_tables(
            con, Tables.EventsTrain, Tables.UserIndex, Tables.TrackIndex, Tables.SplitInfo, step="als"
        )
        inter = load_interactions(con, Phases.Serve, interactions_cache(db_path, settings))
        log.info(
            "train matrix: %d users x %d tracks, %d pairs", inter.n_users, inter.n_tracks, inter.matrix.nnz
        )
        with timed(log, "ALS training"):
            model = train(inter, settings.als, seed=settings.seed, threads=settings.models.train_threads)
        model.save(factors_path(db_path, settings, Phases.Serve))
        with timed(log, "ALS scoring"):
            rows, tracks, scores = recommend(
                model,
                inter,
                settings.models.n_candidates,
                settings.als,
                seed=settings.seed,
                threads=settings.models.train_threads,
            )
        n = write_table(
            con,
            Tables.RecsAls,
            long_table(inter.user_ids[rows], tracks, scores),
            order_by=f"{C.User}, {C.Rank}",
        )
        log.info("wrote %s: %d rows for %d users", Tables.RecsAls, n, len(rows))
