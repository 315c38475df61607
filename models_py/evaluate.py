"""Step ``evaluate``: every metric of evaluation.md for every model → ``eval_metrics`` + report.

Protocol: every test user (events_test) is scored; warm users (train history) get the model's
list, cold users the popularity fallback (in every model). Tracks heard in train are never
recommended. Models: popularity, als (recs_als), reranked (recs_final) and, when the raw
folder has the generator's ``_truth/``, the oracle (true test-window relevance of every
canonical track, heard ones excluded) as an upper reference. This is the only step that
reads the test window.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp

from models_py import metrics as M
from models_py.columns import Columns as C
from models_py.columns import Phases, Tables
from models_py.data import Interactions, load_interactions
from models_py.db import connect, existing_tables, require_tables, timed, write_table
from models_py import popularity
from models_py.popularity import load_half_life
from music_recs.config import Settings
from music_recs.logs import setup_logging

log = logging.getLogger("models_py.evaluate")

KS: tuple[int, ...] = (5, 10, 20)
SEGMENTS: tuple[str, ...] = ("all", "warm", "cold")
MODELS: tuple[str, ...] = ("popularity", "als", "reranked", "oracle")
ORACLE_PAIRS_PER_CALL = 2_000_000


@dataclass
class EvalData:
    """Test users, their relevant tracks and what the beyond-accuracy metrics need."""

    user_ids: np.ndarray  # test users, sorted
    warm: np.ndarray  # has train history
    rel_rows: np.ndarray
    rel_items: np.ndarray
    n_relevant: np.ndarray
    train: Interactions
    track_ids: np.ndarray  # train tracks, for novelty
    track_n_users: np.ndarray
    n_train_users: int
    catalog_ids: np.ndarray
    genres: sp.csr_matrix  # catalog_ids × genres
    artists: sp.csr_matrix  # catalog_ids × artists

    def subset(self, idx: np.ndarray) -> "EvalData":
        """The same data restricted to the test users at positions ``idx`` (sorted)."""
        idx = np.asarray(idx, dtype=np.int64)
        new_row = np.full(len(self.user_ids), -1, dtype=np.int64)
        new_row[idx] = np.arange(len(idx))
        keep = new_row[self.rel_rows] >= 0
        return EvalData(self.user_ids[idx], self.warm[idx], new_row[self.rel_rows[keep]], self.rel_items[keep],
                        self.n_relevant[idx], self.train, self.track_ids, self.track_n_users,
                        self.n_train_users, self.catalog_ids, self.genres, self.artists)

    def segment_mask(self, segment: str) -> np.ndarray:
        if segment == "all":
            return np.ones(len(self.user_ids), dtype=bool)
        if segment == "warm":
            return self.warm
        if segment == "cold":
            return ~self.warm
        raise ValueError(f"unknown segment {segment!r}")


def load_eval_data(con: duckdb.DuckDBPyConnection) -> EvalData:
    test = con.execute(f"SELECT {C.User}, {C.Item} FROM {Tables.EventsTest} ORDER BY 1, 2").fetchnumpy()
    if len(test[C.User]) == 0:
        raise ValueError(f"{Tables.EventsTest} is empty: nothing to evaluate")
    user_ids, rel_rows = np.unique(np.asarray(test[C.User], dtype=np.int64), return_inverse=True)
    train = load_interactions(con, Phases.Serve)
    counts = np.diff(train.matrix.tocsc().indptr)
    catalog = con.execute(f"SELECT {C.Item} FROM {Tables.Items} ORDER BY 1").fetchnumpy()[C.Item].astype(np.int64)
    g = con.execute(f"SELECT {C.Item}, {C.Genre} FROM {Tables.ItemGenres}").fetchnumpy()
    a = con.execute(f"SELECT {C.Item}, {C.Artist} FROM {Tables.ItemArtists}").fetchnumpy()
    return EvalData(
        user_ids=user_ids,
        warm=train.rows_of(user_ids) >= 0,
        rel_rows=rel_rows,
        rel_items=np.asarray(test[C.Item], dtype=np.int64),
        n_relevant=np.bincount(rel_rows, minlength=len(user_ids)),
        train=train,
        track_ids=train.track_ids,
        track_n_users=counts,
        n_train_users=train.n_users,
        catalog_ids=catalog,
        genres=M.item_feature_matrix(catalog, g[C.Item], g[C.Genre]),
        artists=M.item_feature_matrix(catalog, a[C.Item], a[C.Artist]),
    )


def table_lists(con: duckdb.DuckDBPyConnection, table: str, user_ids: np.ndarray, k: int) -> np.ndarray:
    """The top ``k`` of a (user_id, track_id, rank) table for ``user_ids`` (PAD where absent)."""
    con.register("_eval_users", pa.table({C.User: pa.array(user_ids, pa.int64())}))
    try:
        got = con.execute(
            f"SELECT r.{C.User}, r.{C.Item}, r.{C.Rank} FROM {table} r "
            f"SEMI JOIN _eval_users u ON u.{C.User} = r.{C.User} WHERE r.{C.Rank} <= {int(k)}"
        ).fetchnumpy()
    finally:
        con.unregister("_eval_users")
    out = np.full((len(user_ids), k), M.PAD, dtype=np.int64)
    rows = np.searchsorted(user_ids, np.asarray(got[C.User], dtype=np.int64))
    out[rows, np.asarray(got[C.Rank], dtype=np.int64) - 1] = np.asarray(got[C.Item], dtype=np.int64)
    return out


def with_fallback(primary: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Each row's PAD slots (all of them for cold users) filled from ``fallback``, no repeats."""
    out = primary.copy()
    for r in np.flatnonzero((primary == M.PAD).any(axis=1)):
        have = [x for x in primary[r] if x != M.PAD]
        extra = [x for x in fallback[r] if x != M.PAD and x not in set(have)]
        row = (have + extra)[: primary.shape[1]]
        out[r, :] = M.PAD
        out[r, : len(row)] = row
    return out


def truth_available(settings: Settings) -> bool:
    return not settings.raw_is_s3 and (Path(settings.raw_uri) / "_truth").is_dir()


def oracle_sample(n_users: int, settings: Settings) -> np.ndarray:
    """Positions of the test users the oracle scores: all, or a seeded sample of oracle_max_users."""
    if settings.oracle_max_users <= 0 or n_users <= settings.oracle_max_users:
        return np.arange(n_users)
    rng = np.random.default_rng(settings.seed)
    return np.sort(rng.choice(n_users, size=settings.oracle_max_users, replace=False))


def oracle_shares(lists: dict[str, np.ndarray], sample: "EvalData", idx: np.ndarray) -> list[tuple[str, str, int, str, float]]:
    """Each model's NDCG@k as a share of the oracle's, both on the oracle's user sample."""
    ndcg = {}
    for model, recs in lists.items():
        hits = M.hit_matrix(recs[idx] if model != "oracle" else recs, sample.rel_rows, sample.rel_items)
        ndcg[model] = {k: float(M.ndcg_at_k(hits, sample.n_relevant, k).mean()) for k in KS}
    return [(model, "all", k, "ndcg_oracle_share", v[k] / ndcg["oracle"][k] if ndcg["oracle"][k] > 0 else float("nan"))
            for model, v in ndcg.items() for k in KS]


def oracle_lists(con: duckdb.DuckDBPyConnection, data: EvalData, settings: Settings, k: int) -> np.ndarray:
    """Top ``k`` unheard canonical tracks per user by the generator's true test-window relevance.

    A canonical track is listened to when any of its raw versions is: P = 1 − Π(1 − p_raw).
    """
    from music_recs.generator.truth import load_truth

    truth = load_truth(Path(settings.raw_uri))
    m = con.execute(f"SELECT raw_id, canonical_id FROM {Tables.MapTracks} ORDER BY canonical_id, raw_id").fetchnumpy()
    raw = np.asarray(m["raw_id"], dtype=np.int64)
    canon_of_raw = np.asarray(m["canonical_id"], dtype=np.int64)
    canon, starts = np.unique(canon_of_raw, return_index=True)
    canon_pos_of_col = np.full(data.train.n_tracks, -1, dtype=np.int64)  # train column -> canon index
    cols = data.train.cols_of(canon)
    canon_pos_of_col[cols[cols >= 0]] = np.flatnonzero(cols >= 0)
    rows = data.train.rows_of(data.user_ids)
    out = np.full((len(data.user_ids), k), M.PAD, dtype=np.int64)
    per_call = max(1, ORACLE_PAIRS_PER_CALL // max(len(raw), 1))
    for lo in range(0, len(data.user_ids), per_call):
        users = data.user_ids[lo:lo + per_call]
        p = truth.score(np.repeat(users, len(raw)), np.tile(raw, len(users))).reshape(len(users), len(raw))
        log_miss = np.add.reduceat(np.log1p(-np.clip(p, 0.0, 1.0 - 1e-12)), starts, axis=1)
        score = -np.expm1(log_miss)
        r = rows[lo:lo + per_call]
        warm = np.flatnonzero(r >= 0)
        heard = data.train.matrix[r[warm]].tocoo()  # heard in train: never recommended
        pos = canon_pos_of_col[heard.col]
        score[warm[heard.row][pos >= 0], pos[pos >= 0]] = -np.inf
        kk = min(k, len(canon))
        part = np.argpartition(-score, kk - 1, axis=1)[:, :kk]
        part_scores = np.take_along_axis(score, part, axis=1)
        order = np.lexsort((canon[part], -part_scores), axis=1)
        out[lo:lo + len(users), :kk] = canon[np.take_along_axis(part, order, axis=1)]
    return out


def metric_rows(model: str, recs: np.ndarray, data: EvalData) -> list[tuple[str, str, int, str, float]]:
    """Every metric at every k and segment for one model's lists (rows aligned with data.user_ids)."""
    hits = M.hit_matrix(recs, data.rel_rows, data.rel_items)
    out: list[tuple[str, str, int, str, float]] = []
    for k in KS:
        per_user = {name: fn(hits, data.n_relevant, k) for name, fn in M.ACCURACY_METRICS.items()}
        per_user["novelty"] = M.novelty_at_k(recs, k, data.track_ids, data.track_n_users, data.n_train_users)
        per_user["diversity_genre"] = M.intra_list_diversity_at_k(recs, k, data.catalog_ids, data.genres)
        per_user["diversity_artist"] = M.intra_list_diversity_at_k(recs, k, data.catalog_ids, data.artists)
        for segment in SEGMENTS:
            mask = data.segment_mask(segment)
            if not mask.any():
                continue
            out.append((model, segment, k, "n_users", float(mask.sum())))
            for name, values in per_user.items():
                out.append((model, segment, k, name, float(np.nanmean(values[mask]))
                            if np.isfinite(values[mask]).any() else float("nan")))
            out.append((model, segment, k, "coverage", M.coverage_at_k(recs[mask], k, len(data.catalog_ids))))
    return out


def run(db_path: Path, settings: Settings) -> None:
    setup_logging("models_py.evaluate", logs_dir=settings.logs_dir)
    from models_py.report import write_report

    with timed(log, "evaluate"), connect(db_path, memory_limit=settings.models_memory_limit) as con:
        require_tables(con, Tables.EventsTest, Tables.EventsTrain, Tables.RecsAls, Tables.RecsFinal,
                       Tables.Items, Tables.ItemGenres, Tables.ItemArtists, Tables.MapTracks, step="evaluate")
        data = load_eval_data(con)
        log.info("test users: %d (%d warm, %d cold), %d relevant pairs", len(data.user_ids),
                 int(data.warm.sum()), int((~data.warm).sum()), len(data.rel_items))
        kmax = max(KS)
        pop = popularity.recommend(con, data.train, data.user_ids, load_half_life(db_path, settings), kmax)
        lists = {
            "popularity": pop,
            "als": with_fallback(table_lists(con, Tables.RecsAls, data.user_ids, kmax), pop),
            "reranked": with_fallback(table_lists(con, Tables.RecsFinal, data.user_ids, kmax), pop),
        }
        rows: list[tuple[str, str, int, str, float]] = []
        for model, recs in lists.items():
            with timed(log, f"metrics of {model}"):
                rows += metric_rows(model, recs, data)
        if truth_available(settings):
            idx = oracle_sample(len(data.user_ids), settings)
            sample = data.subset(idx)
            with timed(log, f"oracle on {len(idx)} test users"):
                lists["oracle"] = oracle_lists(con, sample, settings, kmax)
            rows += metric_rows("oracle", lists["oracle"], sample)
            rows += oracle_shares(lists, sample, idx)
        else:
            log.info("no generator truth beside the raw files (%s/_truth): oracle skipped", settings.raw_uri)
        frame = pd.DataFrame(rows, columns=[C.Model, C.Segment, C.K, C.Metric, C.Value])
        write_table(con, Tables.EvalMetrics, pa.table({
            C.Model: pa.array(frame[C.Model], pa.string()),
            C.Segment: pa.array(frame[C.Segment], pa.string()),
            C.K: pa.array(frame[C.K], pa.int32()),
            C.Metric: pa.array(frame[C.Metric], pa.string()),
            C.Value: pa.array(frame[C.Value], pa.float64()),
        }))
        head = frame[(frame[C.Segment] == "all") & (frame[C.K] == 5)].pivot(index=C.Model, columns=C.Metric, values=C.Value)
        for model in head.index:
            log.info("%-10s NDCG@5 %.4f  Recall@5 %.4f  Precision@5 %.4f  Novelty@5 %.2f  Coverage@5 %.4f",
                     model, head.loc[model, "ndcg"], head.loc[model, "recall"], head.loc[model, "precision"],
                     head.loc[model, "novelty"], head.loc[model, "coverage"])
        importance = None
        if Tables.FeatureImportance in existing_tables(con):
            importance = con.execute(
                f"SELECT {C.Feature}, {C.Importance} FROM {Tables.FeatureImportance}").df()
        path = write_report(frame, importance, db_path, settings)
        log.info("report written to %s", path)
