"""Step ``evaluate``: every metric of evaluation.md for every model → ``eval_metrics`` + report.

Protocol: every test user (events_test) is scored; warm users (train history) get the model's
list, cold users the served cold-start list (music_recs/cold_start.py, in every model). Tracks heard in train are never
recommended. Models: popularity, als (recs_als), reranked (recs_final) and, when the raw
folder has the generator's ``_truth/``, the oracle (true test-window relevance of every
canonical track, heard ones excluded) as an upper reference. This is the only step that
reads the test window.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp

from models_py import metrics as M
from models_py import popularity
from models_py.artifacts import load_half_life
from models_py.data import Interactions, interactions_cache, load_interactions
from models_py.db import connect, existing_tables, require_tables, timed, write_table
from music_recs.cold_start import genre_aware_popular
from music_recs.config import Settings
from music_recs.logs import setup_logging
from music_recs.tables import Columns as C
from music_recs.tables import Phases, Tables

log = logging.getLogger("models_py.evaluate")

KS: tuple[int, ...] = (5, 10, 20)
SEGMENTS: tuple[str, ...] = ("all", "warm", "cold")
MODELS: tuple[str, ...] = ("popularity", "als", "reranked", "oracle")
#: Oracle work units: users per block (so a block's users × canonical tracks scores stay
#: within ORACLE_BLOCK_SCORES float64s: 8 users at full scale) and (user, raw track) pairs
#: per inner chunk (sized for the CPU cache: the same numpy passes run much faster on a chunk
#: that stays in cache than on a block that only fits in RAM).
ORACLE_BLOCK_SCORES = 8_000_000
ORACLE_CHUNK_PAIRS = 1 << 18


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

    def subset(self, idx: np.ndarray) -> EvalData:
        """The same data restricted to the test users at positions ``idx`` (sorted)."""
        idx = np.asarray(idx, dtype=np.int64)
        new_row = np.full(len(self.user_ids), -1, dtype=np.int64)
        new_row[idx] = np.arange(len(idx))
        keep = new_row[self.rel_rows] >= 0
        return EvalData(
            self.user_ids[idx],
            self.warm[idx],
            new_row[self.rel_rows[keep]],
            self.rel_items[keep],
            self.n_relevant[idx],
            self.train,
            self.track_ids,
            self.track_n_users,
            self.n_train_users,
            self.catalog_ids,
            self.genres,
            self.artists,
        )

    def segment_mask(self, segment: str) -> np.ndarray:
        if segment == "all":
            return np.ones(len(self.user_ids), dtype=bool)
        if segment == "warm":
            return self.warm
        if segment == "cold":
            return ~self.warm
        raise ValueError(f"unknown segment {segment!r}")


def load_eval_data(con: duckdb.DuckDBPyConnection, cache_dir: Path | None = None) -> EvalData:
    test = con.execute(f"SELECT {C.User}, {C.Item} FROM {Tables.EventsTest} ORDER BY 1, 2").fetchnumpy()
    if len(test[C.User]) == 0:
        raise ValueError(f"{Tables.EventsTest} is empty: nothing to evaluate")
    user_ids, rel_rows = np.unique(np.asarray(test[C.User], dtype=np.int64), return_inverse=True)
    train = load_interactions(con, Phases.Serve, cache_dir)
    counts = np.bincount(train.matrix.indices, minlength=train.n_tracks)  # listeners per track
    catalog = (
        con.execute(f"SELECT {C.Item} FROM {Tables.Items} ORDER BY 1").fetchnumpy()[C.Item].astype(np.int64)
    )
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


def with_cold_start(con: duckdb.DuckDBPyConnection, lists: np.ndarray, warm: np.ndarray) -> np.ndarray:
    """``lists`` with the rows of cold users (``~warm``) replaced by the served cold-start
    algorithm's answer (music_recs/cold_start.py) from the build's popularity tables: a cold
    test user has no listens, hence no genre preference and nothing to exclude."""
    popular = [
        (int(t), float(s))
        for t, s in con.execute(
            f"SELECT {C.Item}, {C.Score} FROM {Tables.RecsPopular} ORDER BY {C.Rank}"
        ).fetchall()
    ]
    k = lists.shape[1]
    row = np.full(k, M.PAD, dtype=lists.dtype)
    got = [t for t, _ in genre_aware_popular(popular, {}, [], set(), k)]
    row[: len(got)] = got
    out = lists.copy()
    out[~np.asarray(warm, dtype=bool)] = row
    return out


def truth_available(settings: Settings) -> bool:
    return not settings.raw_is_s3 and (Path(settings.raw_uri) / "_truth").is_dir()


def oracle_sample(n_users: int, settings: Settings) -> np.ndarray:
    """Positions of the test users the oracle scores: all, or a seeded sample of oracle_max_users."""
    if settings.models.oracle_max_users <= 0 or n_users <= settings.models.oracle_max_users:
        return np.arange(n_users)
    rng = np.random.default_rng(settings.seed)
    return np.sort(rng.choice(n_users, size=settings.models.oracle_max_users, replace=False))


def oracle_shares(
    lists: dict[str, np.ndarray], sample: EvalData, idx: np.ndarray
) -> list[tuple[str, str, int, str, float]]:
    """Each model's NDCG@k as a share of the oracle's, both on the oracle's user sample."""
    ndcg = {}
    for model, recs in lists.items():
        hits = M.hit_matrix(recs[idx] if model != "oracle" else recs, sample.rel_rows, sample.rel_items)
        ndcg[model] = {k: float(M.ndcg_at_k(hits, sample.n_relevant, k).mean()) for k in KS}
    return [
        (
            model,
            "all",
            k,
            "ndcg_oracle_share",
            v[k] / ndcg["oracle"][k] if ndcg["oracle"][k] > 0 else float("nan"),
        )
        for model, v in ndcg.items()
        for k in KS
    ]


class OracleScorer:
    """``Truth.score`` of every (user, raw track) pair, aggregated per canonical track.

    Why: ``Truth.score`` works on flat pair arrays (every per-user field gathered once per
    pair, the 6-component taste mixture compared per pair); at full scale (1M raw tracks) that
    is a million pairs per user, each paying the full per-pair cost, far beyond the
    evaluation's time budget for the oracle's users. Here per-track fields are
    gathered once, the taste mixture becomes a users × clusters table, favourite-artist hits
    come from the tracks of each favourite artist, and the users × tracks arrays are worked
    on in cache-sized chunks. Every pair goes through the same floating-point operations in
    the same order and dtypes as ``Truth.score`` (bit-identical; tested against it). Reads
    ``Truth``'s internals, so it follows ``music_recs/generator/truth.py``.
    """

    def __init__(self, truth, raw_track_ids: np.ndarray) -> None:
        self.truth = truth
        ti = truth._track_index(np.asarray(raw_track_ids, dtype=np.int64))
        self.n_tracks = len(ti)
        c, self.a = truth._cluster[ti], truth._artist[ti]
        self.clusters, self.c_inv = np.unique(c, return_inverse=True)
        self.by_artist = np.argsort(self.a, kind="stable")  # tracks of one artist: a slice of this
        self.a_sorted = self.a[self.by_artist]
        self.w = [truth._w[g][ti] for g in (0, 1)]
        self.w_cluster = [truth._w_cluster[g][c] for g in (0, 1)]
        self.w_artist = [truth._w_artist[g] for g in (0, 1)]
        self.w_all = list(truth._w_all)

    def _fav_hits(self, fav: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(block rows, track positions, hits) where a track's artist is among the user's
        favourite slots (``(fav == artist).sum()`` of ``Truth.score``, non-zero entries only),
        sorted by track position."""
        rows, cols, hits = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        for b in range(fav.shape[0]):
            values, mult = np.unique(fav[b], return_counts=True)
            lo = np.searchsorted(self.a_sorted, values, side="left")
            hi = np.searchsorted(self.a_sorted, values, side="right")
            for v_lo, v_hi, m in zip(lo, hi, mult):
                if v_hi > v_lo:
                    pos = self.by_artist[v_lo:v_hi]
                    rows.append(np.full(len(pos), b, dtype=np.int64))
                    cols.append(pos.astype(np.int64))
                    hits.append(np.full(len(pos), m, dtype=np.int64))
        rows, cols, hits = np.concatenate(rows), np.concatenate(cols), np.concatenate(hits)
        order = np.argsort(cols, kind="stable")
        return rows[order], cols[order], hits[order]

    def _users(self, user_ids: np.ndarray) -> dict:
        """Per-user fields of ``Truth.score`` for a block of users."""
        t = self.truth
        ui = t._user_index(user_ids)
        u = t.u
        lam = t._drift
        cl = self.clusters[None, :, None]
        n_fav = u["n_fav"][ui].astype(np.float64)
        p_pop = u["p_pop"][ui].astype(np.float64)
        p_fav = np.where(n_fav > 0, u["p_fav"][ui], 0.0)
        explore = u["explore"][ui].astype(np.float64)
        return dict(
            # the taste mixture per (user, cluster): the same float32 sums over the components
            p_c=(
                (1 - lam)
                * ((u["theta0_c"][ui][:, None, :] == cl) * u["theta0_w"][ui][:, None, :]).sum(axis=2)
                + lam * ((u["theta1_c"][ui][:, None, :] == cl) * u["theta1_w"][ui][:, None, :]).sum(axis=2)
            ),
            n_fav=n_fav,
            p_pop=p_pop[:, None],
            p_fav=p_fav,
            clu_coef=(1 - p_pop - p_fav)[:, None],
            shares=((1.0 - explore)[:, None], explore[:, None]),
            draws=u["test_draws"][ui][:, None],
            fav=self._fav_hits(u["fav"][ui]),
        )

    def _score_chunk(self, us: dict, lo: int, hi: int) -> np.ndarray:
        """``Truth.score`` of the block's users × raw tracks ``lo:hi``."""
        f_rows, f_cols, f_hits = us["fav"]
        f_lo, f_hi = np.searchsorted(f_cols, [lo, hi])
        f_rows, f_cols, f_hits = f_rows[f_lo:f_hi], f_cols[f_lo:f_hi], f_hits[f_lo:f_hi]
        p_fav, n_fav = us["p_fav"], us["n_fav"]
        p_c = us["p_c"][:, self.c_inv[lo:hi]]
        clu_mask = p_c > 0
        shape = (len(n_fav), hi - lo)
        per_draw = np.zeros(shape)
        part = np.empty(shape)
        fav_part = np.zeros(shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            for g in (0, 1):
                w = self.w[g][lo:hi]
                fav_part[f_rows, f_cols - lo] = (
                    p_fav[f_rows]
                    * f_hits
                    / np.maximum(n_fav, 1)[f_rows]
                    * w[f_cols - lo]
                    / self.w_artist[g][self.a[f_cols]]
                )
                np.multiply(us["clu_coef"], p_c, out=part)
                part *= w
                part /= self.w_cluster[g][lo:hi]
                clu_part = np.where(clu_mask, part, 0.0)
                np.multiply(us["p_pop"], w, out=part)
                part /= self.w_all[g]
                part += fav_part
                part += clu_part
                per_draw += us["shares"][g] * np.nan_to_num(part, copy=False)
        return -np.expm1(-us["draws"] * per_draw)

    def score(self, user_ids: np.ndarray) -> np.ndarray:
        """``Truth.score`` of every (user, raw track) pair: users × the raw tracks given."""
        us = self._users(user_ids)
        step = max(1, ORACLE_CHUNK_PAIRS // max(len(user_ids), 1))
        return np.hstack(
            [self._score_chunk(us, lo, min(lo + step, self.n_tracks)) for lo in range(0, self.n_tracks, step)]
            or [np.zeros((len(user_ids), 0))]
        )

    def canonical_scores(self, user_ids: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """1 − Π(1 − p) over each canonical track's raw versions (raw tracks ``starts[i]:starts[i+1]``
        of the ones given), users × canonical tracks; chunks end on canonical boundaries."""
        us = self._users(user_ids)
        out = np.empty((len(user_ids), len(starts)))
        step = max(1, ORACLE_CHUNK_PAIRS // max(len(user_ids), 1))
        bounds = np.append(starts, self.n_tracks)
        g_lo = 0
        while g_lo < len(starts):
            g_hi = max(g_lo + 1, int(np.searchsorted(bounds, bounds[g_lo] + step, side="right")) - 1)
            g_hi = min(g_hi, len(starts))
            lo, hi = int(bounds[g_lo]), int(bounds[g_hi])
            p = self._score_chunk(us, lo, hi)
            log_miss = np.add.reduceat(
                np.log1p(-np.clip(p, 0.0, 1.0 - 1e-12)), starts[g_lo:g_hi] - lo, axis=1
            )
            out[:, g_lo:g_hi] = -np.expm1(log_miss)
            g_lo = g_hi
        return out


def oracle_lists(con: duckdb.DuckDBPyConnection, data: EvalData, settings: Settings, k: int) -> np.ndarray:
    """Top ``k`` unheard canonical tracks per user by the generator's true test-window relevance.

    A canonical track is listened to when any of its raw versions is: P = 1 − Π(1 − p_raw).
    """
    from music_recs.generator.truth import load_truth

    truth = load_truth(Path(settings.raw_uri))
    m = con.execute(
        f"SELECT {C.RawId}, {C.CanonicalId} FROM {Tables.MapTracks} ORDER BY {C.CanonicalId}, {C.RawId}"
    ).fetchnumpy()
    raw = np.asarray(m[C.RawId], dtype=np.int64)
    canon_of_raw = np.asarray(m[C.CanonicalId], dtype=np.int64)
    canon, starts = np.unique(canon_of_raw, return_index=True)
    canon_pos_of_col = np.full(data.train.n_tracks, -1, dtype=np.int64)  # train column -> canon index
    cols = data.train.cols_of(canon)
    canon_pos_of_col[cols[cols >= 0]] = np.flatnonzero(cols >= 0)
    rows = data.train.rows_of(data.user_ids)
    out = np.full((len(data.user_ids), k), M.PAD, dtype=np.int64)
    scorer = OracleScorer(truth, raw)
    per_call = max(1, ORACLE_BLOCK_SCORES // max(len(canon), 1))
    kk = min(k, len(canon))

    def block(lo: int) -> None:
        users = data.user_ids[lo : lo + per_call]
        score = scorer.canonical_scores(users, starts)
        r = rows[lo : lo + per_call]
        warm = np.flatnonzero(r >= 0)
        heard = data.train.matrix[r[warm]].tocoo()  # heard in train: never recommended
        pos = canon_pos_of_col[heard.col]
        score[warm[heard.row][pos >= 0], pos[pos >= 0]] = -np.inf
        part = np.argpartition(-score, kk - 1, axis=1)[:, :kk]
        part_scores = np.take_along_axis(score, part, axis=1)
        order = np.lexsort((canon[part], -part_scores), axis=1)
        out[lo : lo + len(users), :kk] = canon[np.take_along_axis(part, order, axis=1)]

    # user blocks are independent and numpy releases the GIL in its array loops
    with ThreadPoolExecutor(max_workers=max(1, settings.models.train_threads)) as pool:
        list(pool.map(block, range(0, len(data.user_ids), per_call)))
    return out


def metric_rows(model: str, recs: np.ndarray, data: EvalData) -> list[tuple[str, str, int, str, float]]:
    """Every metric at every k and segment for one model's lists (rows aligned with data.user_ids)."""
    hits = M.hit_matrix(recs, data.rel_rows, data.rel_items)
    diversity_genre = M.intra_list_diversity(recs, KS, data.catalog_ids, data.genres)
    diversity_artist = M.intra_list_diversity(recs, KS, data.catalog_ids, data.artists)
    out: list[tuple[str, str, int, str, float]] = []
    for k in KS:
        per_user = {name: fn(hits, data.n_relevant, k) for name, fn in M.ACCURACY_METRICS.items()}
        per_user["novelty"] = M.novelty_at_k(recs, k, data.track_ids, data.track_n_users, data.n_train_users)
        per_user["diversity_genre"] = diversity_genre[k]
        per_user["diversity_artist"] = diversity_artist[k]
        for segment in SEGMENTS:
            mask = data.segment_mask(segment)
            if not mask.any():
                continue
            out.append((model, segment, k, "n_users", float(mask.sum())))
            for name, values in per_user.items():
                out.append(
                    (
                        model,
                        segment,
                        k,
                        name,
                        float(np.nanmean(values[mask])) if np.isfinite(values[mask]).any() else float("nan"),
                    )
                )
            out.append((model, segment, k, "coverage", M.coverage_at_k(recs[mask], k, len(data.catalog_ids))))
    return out


def run(db_path: Path, settings: Settings) -> None:
    setup_logging("models_py.evaluate", logs_dir=settings.logs_dir)
    from models_py.report import write_report

    with timed(log, "evaluate"), connect(db_path, memory_limit=settings.models.memory_limit) as con:
        require_tables(
            con,
            Tables.EventsTest,
            Tables.EventsTrain,
            Tables.RecsAls,
            Tables.RecsFinal,
            Tables.RecsPopular,
            Tables.Items,
            Tables.ItemGenres,
            Tables.ItemArtists,
            Tables.MapTracks,
            step="evaluate",
        )
        data = load_eval_data(con, interactions_cache(db_path, settings))
        log.info(
            "test users: %d (%d warm, %d cold), %d relevant pairs",
            len(data.user_ids),
            int(data.warm.sum()),
            int((~data.warm).sum()),
            len(data.rel_items),
        )
        kmax = max(KS)
        pop = with_cold_start(
            con,
            popularity.recommend(con, data.train, data.user_ids, load_half_life(db_path, settings), kmax),
            data.warm,
        )
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
        write_table(
            con,
            Tables.EvalMetrics,
            pa.table(
                {
                    C.Model: pa.array(frame[C.Model], pa.string()),
                    C.Segment: pa.array(frame[C.Segment], pa.string()),
                    C.K: pa.array(frame[C.K], pa.int32()),
                    C.Metric: pa.array(frame[C.Metric], pa.string()),
                    C.Value: pa.array(frame[C.Value], pa.float64()),
                }
            ),
        )
        head = frame[(frame[C.Segment] == "all") & (frame[C.K] == 5)].pivot(
            index=C.Model, columns=C.Metric, values=C.Value
        )
        for model in head.index:
            log.info(
                "%-10s NDCG@5 %.4f  Recall@5 %.4f  Precision@5 %.4f  Novelty@5 %.2f  Coverage@5 %.4f",
                model,
                head.loc[model, "ndcg"],
                head.loc[model, "recall"],
                head.loc[model, "precision"],
                head.loc[model, "novelty"],
                head.loc[model, "coverage"],
            )
        importance = None
        if Tables.FeatureImportance in existing_tables(con):
            importance = con.execute(
                f"SELECT {C.Feature}, {C.Importance} FROM {Tables.FeatureImportance}"
            ).df()
        path = write_report(frame, importance, db_path, settings)
        log.info("report written to %s", path)
