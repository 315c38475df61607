"""The evaluation protocol of ``models_py.evaluate``, shared by every model of the benchmark.

- Test users and relevant sets: ``models_py.evaluate.load_eval_data`` (every user of
  ``events_test``; relevant = the user's test tracks; warm = has train history).
- Our lists: exactly what ``models_py.evaluate.run`` scores: the popularity list
  (``models_py.popularity.recommend`` with the build's half-life, heard tracks excluded) and
  ``recs_als`` / ``recs_final`` read by ``evaluate.table_lists`` and completed by
  ``evaluate.with_fallback`` from the popularity list (all slots for cold users).
- Any other model's lists go through the same ``with_fallback``; metrics come from
  ``models_py.metrics`` (the functions ``evaluate`` calls).
- The nested split of train (for choosing the references' hyper-parameters) never looks at
  ``events_test``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import scipy.sparse as sp

from models_py import metrics as M
from models_py import popularity
from models_py.evaluate import EvalData, load_eval_data, table_lists, with_fallback
from music_recs.tables import Columns as C
from music_recs.tables import Phases, Tables

log = logging.getLogger("benchmarks.real")

KS: tuple[int, ...] = (5, 10)
METRICS: tuple[str, ...] = ("ndcg", "recall", "precision", "hit_rate")
SEGMENTS: tuple[str, ...] = ("all", "warm")
EPOCH = np.datetime64("1970-01-01", "D")


# ----------------------------------------------------------------------------------- train log
@dataclass
class TrainLog:
    """``events_train`` as pair arrays, users and tracks numbered by ascending id."""

    user_ids: np.ndarray  # sorted unique
    track_ids: np.ndarray  # sorted unique
    rows: np.ndarray  # per pair
    cols: np.ndarray
    first_day: np.ndarray  # days since 1970-01-01
    last_day: np.ndarray
    listen_count: np.ndarray

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_tracks(self) -> int:
        return len(self.track_ids)

    def matrix(self, mask: np.ndarray | None = None) -> sp.csr_matrix:
        """Binary users x tracks matrix of the pairs (all, or where ``mask``)."""
        rows, cols = (self.rows, self.cols) if mask is None else (self.rows[mask], self.cols[mask])
        x = sp.csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(self.n_users, self.n_tracks)
        )
        x.sum_duplicates()
        x.data[:] = 1.0
        return x

    def rows_of(self, user_ids: np.ndarray) -> np.ndarray:
        return _positions(self.user_ids, user_ids)

    def cols_of(self, track_ids: np.ndarray) -> np.ndarray:
        return _positions(self.track_ids, track_ids)


def _positions(sorted_ids: np.ndarray, query: np.ndarray) -> np.ndarray:
    query = np.asarray(query, dtype=np.int64)
    if len(sorted_ids) == 0:
        return np.full(query.shape, -1, dtype=np.int64)
    pos = np.minimum(np.searchsorted(sorted_ids, query), len(sorted_ids) - 1)
    return np.where(sorted_ids[pos] == query, pos, -1).astype(np.int64)


def load_train_log(con: duckdb.DuckDBPyConnection) -> TrainLog:
    got = con.execute(
        f"SELECT {C.User}, {C.Item}, {C.FirstListen}, {C.LastListen}, {C.ListenCount} FROM {Tables.EventsTrain}"
    ).fetchnumpy()
    users = np.asarray(got[C.User], dtype=np.int64)
    tracks = np.asarray(got[C.Item], dtype=np.int64)
    user_ids, rows = np.unique(users, return_inverse=True)
    track_ids, cols = np.unique(tracks, return_inverse=True)

    def days(values) -> np.ndarray:
        return (np.asarray(values).astype("datetime64[D]") - EPOCH).astype(np.int64)

    return TrainLog(
        user_ids,
        track_ids,
        rows.astype(np.int64),
        cols.astype(np.int64),
        days(got[C.FirstListen]),
        days(got[C.LastListen]),
        np.asarray(got[C.ListenCount], dtype=np.int64),
    )


# -------------------------------------------------------------------------------- nested split
@dataclass
class NestedSplit:
    """Train cut at ``cutoff_day``: fit = pairs first heard on or before it, validation = pairs
    first heard after it, scored for users with fit history (cold users would get the same
    fallback under every candidate hyper-parameter)."""

    cutoff_day: int
    last_day: int
    fit_mask: np.ndarray  # per train pair
    users: np.ndarray  # train rows of the validation users (sorted)
    rel_rows: np.ndarray  # positions in ``users``
    rel_cols: np.ndarray  # track columns

    @property
    def valid_days(self) -> int:
        return self.last_day - self.cutoff_day

    @property
    def n_relevant(self) -> np.ndarray:
        return np.bincount(self.rel_rows, minlength=len(self.users))

    def describe(self) -> str:
        d = lambda v: str(EPOCH + np.timedelta64(int(v), "D"))  # noqa: E731
        return (
            f"fit = train pairs first heard on or before {d(self.cutoff_day)}, validation = the last "
            f"{self.valid_days} days of train (after it, to {d(self.last_day)}): "
            f"{int(self.fit_mask.sum())} fit pairs, {len(self.rel_rows)} validation pairs of "
            f"{len(self.users)} users with fit history"
        )


def nested_split(
    train: TrainLog, valid_frac: float = 0.1, max_users: int = 50_000, seed: int = 42
) -> NestedSplit:
    """Validation = the pairs of the last ``valid_frac`` of train by first-listen date (the
    cut is the date at that quantile of the pairs; at least one day); at most ``max_users``
    validation users (seeded sample)."""
    if not 0 < valid_frac < 1:
        raise ValueError(f"valid_frac must be in (0, 1), got {valid_frac}")
    if len(train.first_day) == 0:
        raise ValueError("events_train is empty")
    last = int(train.first_day.max())
    cutoff = int(np.quantile(train.first_day, 1 - valid_frac, method="lower"))
    cutoff = min(cutoff, last - 1)
    fit_mask = train.first_day <= cutoff
    has_fit = np.bincount(train.rows[fit_mask], minlength=train.n_users) > 0
    valid = ~fit_mask & has_fit[train.rows]
    users = np.unique(train.rows[valid])
    if max_users > 0 and len(users) > max_users:
        users = np.sort(np.random.default_rng(seed).choice(users, size=max_users, replace=False))
    pos = np.full(train.n_users, -1, dtype=np.int64)
    pos[users] = np.arange(len(users))
    keep = valid & (pos[train.rows] >= 0)
    order = np.lexsort((train.cols[keep], pos[train.rows[keep]]))
    return NestedSplit(cutoff, last, fit_mask, users, pos[train.rows[keep]][order], train.cols[keep][order])


def validation_ndcg(positions: np.ndarray, split: NestedSplit, k: int = 5) -> float:
    """Mean NDCG@k of lists (track columns, rows = ``split.users``) on the validation pairs."""
    hits = M.hit_matrix(positions, split.rel_rows, split.rel_cols)
    return float(M.ndcg_at_k(hits, split.n_relevant, k).mean()) if len(split.users) else float("nan")


# ----------------------------------------------------------------------------------- our lists
def find_half_life(
    con: duckdb.DuckDBPyConnection, db_path: Path, artifacts_dir: Path | None
) -> tuple[float | None, str]:
    """The half-life the build's popularity step chose: its ``popularity.json`` artifact if
    found, else the grid value whose ranking reproduces ``recs_popular``; None if neither."""
    stem = Path(db_path).resolve().stem
    places = [Path(artifacts_dir) / stem] if artifacts_dir else []
    places.append(
        Path(db_path).resolve().parent.parent / "artifacts" / stem
    )  # warehouse/builds/x -> warehouse/artifacts/x
    try:
        from music_recs.config import Settings

        places.append(Path(Settings().artifacts_dir) / stem)
    except Exception:  # noqa: BLE001 - settings are optional here
        pass
    for place in places:
        f = place / popularity.ARTIFACT
        if f.is_file():
            return float(json.loads(f.read_text())["half_life_days"]), f"{f}"
    listed = con.execute(f"SELECT {C.Item} FROM {Tables.RecsPopular} ORDER BY {C.Rank}").fetchnumpy()[C.Item]
    listed = np.asarray(listed, dtype=np.int64)
    for h in popularity.HALF_LIFE_GRID:
        ranked, _ = popularity.popularity_scores(con, Phases.Serve, h)
        if np.array_equal(ranked[: len(listed)], listed):
            return float(h), f"inferred: grid value whose ranking reproduces {Tables.RecsPopular}"
    return None, f"no popularity.json and no grid half-life reproduces {Tables.RecsPopular}"


def popularity_lists(
    con: duckdb.DuckDBPyConnection, data: EvalData, half_life: float | None, k: int
) -> np.ndarray:
    """``evaluate``'s popularity list (heard excluded); with an unknown half-life, the
    ``recs_popular`` ranking minus heard tracks (the list ``evaluate`` would use up to its length)."""
    if half_life is not None:
        return popularity.recommend(con, data.train, data.user_ids, half_life, k)
    ranked = np.asarray(
        con.execute(f"SELECT {C.Item} FROM {Tables.RecsPopular} ORDER BY {C.Rank}").fetchnumpy()[C.Item],
        dtype=np.int64,
    )
    return popularity.recommend(con, data.train, data.user_ids, 0.0, k, ranked=ranked)


def our_lists(
    con: duckdb.DuckDBPyConnection, data: EvalData, pop: np.ndarray, k: int
) -> dict[str, np.ndarray]:
    return {
        "ours: popularity": pop,
        "ours: ALS": with_fallback(table_lists(con, Tables.RecsAls, data.user_ids, k), pop),
        "ours: final": with_fallback(table_lists(con, Tables.RecsFinal, data.user_ids, k), pop),
    }


def lists_for_test_users(
    positions: np.ndarray, rows: np.ndarray, train: TrainLog, n_users: int, k: int
) -> np.ndarray:
    """Track ids (n_users x k, PAD-filled) from a model's column positions for the warm test
    users (``rows``: each test user's train row, -1 = cold; ``positions`` aligned with the warm ones)."""
    out = np.full((n_users, k), M.PAD, dtype=np.int64)
    warm = np.flatnonzero(rows >= 0)
    out[warm] = np.where(positions == M.PAD, M.PAD, train.track_ids[np.maximum(positions, 0)])
    return out


def heard_mask(lists: np.ndarray, rows: np.ndarray, train: TrainLog) -> np.ndarray:
    """``mask[u, i]``: ``lists[u, i]`` was heard in train by test user u (``rows``: train rows, -1 = cold)."""
    cols = train.cols_of(np.where(lists == M.PAD, -1, lists).ravel()).reshape(lists.shape)
    r = np.broadcast_to(np.asarray(rows, dtype=np.int64)[:, None], lists.shape)
    ok = (cols >= 0) & (r >= 0)
    keys = r[ok] * train.n_tracks + cols[ok]
    mask = np.zeros(lists.shape, dtype=bool)
    mask[ok] = np.isin(keys, train.rows * train.n_tracks + train.cols)
    return mask


def drop_heard(lists: np.ndarray, rows: np.ndarray, train: TrainLog) -> tuple[np.ndarray, int]:
    """Lists with train-heard tracks removed (later ones move up; PAD at the end) and how many."""
    bad = heard_mask(lists, rows, train) | (lists == M.PAD)
    order = np.argsort(bad, axis=1, kind="stable")  # kept slots first, in their order
    out = np.take_along_axis(lists, order, axis=1)
    out[np.take_along_axis(bad, order, axis=1)] = M.PAD
    return out, int(heard_mask(lists, rows, train).sum())


# ------------------------------------------------------------------------------------- metrics
def per_user_metrics(lists: np.ndarray, data: EvalData) -> dict[tuple[str, int], np.ndarray]:
    """(metric, k) -> one value per test user (rows of ``data.user_ids``), by ``models_py.metrics``."""
    hits = M.hit_matrix(lists, data.rel_rows, data.rel_items)
    return {(name, k): M.ACCURACY_METRICS[name](hits, data.n_relevant, k) for name in METRICS for k in KS}


__all__ = ["EvalData", "load_eval_data", "with_fallback"]
