"""Reading the train-side warehouse tables into arrays the models use.

Two phases share one code path: ``fit`` (events_fit, reference date = label_start: the
ranker's candidates and features) and ``serve`` (events_train, reference date = split_date).
Nothing here reads the test window.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import scipy.sparse as sp

from models_py.db import WarehouseError, artifacts_dir, require_tables
from music_recs.config import Settings
from music_recs.tables import Columns as C
from music_recs.tables import Phases, Tables

log = logging.getLogger("models_py.data")


@dataclass(frozen=True)
class SplitInfo:
    split_date: date
    label_start: date
    min_date: date
    max_date: date


def read_split(con: duckdb.DuckDBPyConnection) -> SplitInfo:
    require_tables(con, Tables.SplitInfo)
    rows = con.execute(
        f"SELECT split_date, label_start, min_date, max_date FROM {Tables.SplitInfo}"
    ).fetchall()
    if len(rows) != 1:
        raise WarehouseError(f"{Tables.SplitInfo} must hold exactly one row, found {len(rows)}")
    return SplitInfo(*rows[0])


def phase_events(phase: str) -> str:
    """The events table a phase learns from."""
    if phase == Phases.Fit:
        return Tables.EventsFit
    if phase == Phases.Serve:
        return Tables.EventsTrain
    raise ValueError(f"unknown phase {phase!r} (expected 'fit' or 'serve')")


def reference_date(split: SplitInfo, phase: str) -> date:
    """The 'now' of a phase: the last day whose events it may see."""
    phase_events(phase)
    return split.label_start if phase == Phases.Fit else split.split_date


@dataclass
class Interactions:
    """A phase's user × track matrix with the ids of its rows and columns.

    ``matrix`` holds 1 per (user, track) pair; ``listen_count`` and ``age_days`` (days from
    the pair's last listen to the phase's reference date) are aligned with ``matrix.data``.
    """

    phase: str
    ref_date: date
    user_ids: np.ndarray
    track_ids: np.ndarray
    matrix: sp.csr_matrix
    listen_count: np.ndarray
    age_days: np.ndarray

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_tracks(self) -> int:
        return len(self.track_ids)

    def rows_of(self, user_ids: np.ndarray) -> np.ndarray:
        """Row of each user id, -1 for users without history in this phase."""
        return positions_of(self.user_ids, user_ids)

    def cols_of(self, track_ids: np.ndarray) -> np.ndarray:
        """Column of each track id, -1 for tracks unseen in this phase."""
        return positions_of(self.track_ids, track_ids)


#: Largest id a dense lookup table may cover, as a multiple of the number of ids (+ a floor):
#: above it (sparse, huge ids) positions come from a binary search instead.
LUT_SPREAD, LUT_FLOOR = 64, 1 << 22


def positions_of(ids: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Position of each ``query`` value in ``ids`` (any order, unique), -1 when absent.

    Why two paths: at full scale ~190M queries hit 1.3M ids; a dense id → position table
    answers them with one gather, far cheaper than a binary search per query.
    """
    ids = np.asarray(ids)
    query = np.asarray(query)
    if len(ids) == 0:
        return np.full(query.shape, -1, dtype=np.int64)
    lo, hi = int(ids.min()), int(ids.max())
    if lo >= 0 and hi < LUT_SPREAD * len(ids) + LUT_FLOOR:
        lut = np.full(hi + 1, -1, dtype=np.int64)
        lut[ids] = np.arange(len(ids))
        if query.size and query.min() >= 0 and query.max() <= hi:
            return lut[query]  # the usual case: no masked copies of a ~170M-element query
        inside = (query >= 0) & (query <= hi)
        out = np.full(query.shape, -1, dtype=np.int64)
        out[inside] = lut[query[inside]]
        return out
    order = np.argsort(ids, kind="stable")
    pos = np.minimum(np.searchsorted(ids, query, sorter=order), len(ids) - 1)
    found = order[pos]
    return np.where(ids[found] == query, found, -1).astype(np.int64)


def recent_track_ids(con: duckdb.DuckDBPyConnection, phase: str, days: int) -> np.ndarray:
    """Ids of the tracks heard in the last ``days`` days of the phase's listens (every track of
    the phase when ``days`` <= 0), sorted; what ``als.scoring_columns`` selects, without loading the matrix."""
    table = phase_events(phase)
    # counted back from the phase's newest listen, as in als.scoring_columns
    window = (
        (f"WHERE date_diff('day', {C.LastListen}, (SELECT max({C.LastListen}) FROM {table})) < {int(days)}")
        if days > 0
        else ""
    )
    got = con.execute(f"SELECT DISTINCT {C.Item} FROM {table} {window} ORDER BY 1").fetchnumpy()[C.Item]
    return np.asarray(got, dtype=np.int64)


def serve_track_ids(con: duckdb.DuckDBPyConnection) -> np.ndarray:
    """Track ids in ``track_index`` order (the serve matrix's columns and ALS item rows)."""
    require_tables(con, Tables.TrackIndex)
    return _index(con, Tables.TrackIndex, C.Item, C.ItemIdx)


def load_interactions(
    con: duckdb.DuckDBPyConnection, phase: str, cache_dir: Path | None = None
) -> Interactions:
    """Load a phase's events as a CSR matrix.

    Serve rows/columns follow the warehouse's ``user_index``/``track_index``; fit numbers
    the users and tracks of events_fit in id order. With ``cache_dir`` the arrays are kept in
    ``interactions_<phase>.npz`` there and reused by later steps while the table's
    fingerprint (row count and xor of row hashes, plus the index tables for serve) matches.
    """
    if cache_dir is None:
        return _load_interactions(con, phase)
    started = time.perf_counter()
    path = Path(cache_dir) / f"interactions_{phase}.npz"
    fingerprint = _fingerprint(con, phase)
    if path.is_file():
        with np.load(path) as z:
            if str(z["fingerprint"]) == fingerprint:
                inter = Interactions(
                    phase,
                    date.fromisoformat(str(z["ref_date"])),
                    z["user_ids"],
                    z["track_ids"],
                    sp.csr_matrix(
                        (np.ones(len(z["indices"]), dtype=np.float32), z["indices"], z["indptr"]),
                        shape=(len(z["user_ids"]), len(z["track_ids"])),
                    ),
                    z["listen_count"].astype(np.float64),
                    z["age_days"].astype(np.float64),
                )
                log.info(
                    "loaded %s from %s: %d users x %d tracks, %d pairs (%.1fs)",
                    phase_events(phase),
                    path.name,
                    inter.n_users,
                    inter.n_tracks,
                    inter.matrix.nnz,
                    time.perf_counter() - started,
                )
                return inter
        log.info("%s: fingerprint changed, reloading %s", path, phase_events(phase))
    inter = _load_interactions(con, phase)
    _write_cache(path, fingerprint, inter)
    return inter


def interactions_cache(db_path: Path, settings: Settings) -> Path | None:
    """Where ``load_interactions`` keeps a build's matrices (None when caching is off)."""
    return artifacts_dir(db_path, settings) if settings.models.cache_interactions else None


def _fingerprint(con: duckdb.DuckDBPyConnection, phase: str) -> str:
    """What a phase's matrix depends on: its events table, reference date and (serve) index tables."""
    table = phase_events(phase)
    parts = [table, str(reference_date(read_split(con), phase))]
    parts += [
        str(v)
        for v in con.execute(
            f"SELECT count(*), bit_xor(hash({C.User}, {C.Item}, {C.ListenCount}, {C.LastListen})) FROM {table}"
        ).fetchone()
    ]
    if phase == Phases.Serve:
        for index, id_col, idx_col in (
            (Tables.UserIndex, C.User, C.UserIdx),
            (Tables.TrackIndex, C.Item, C.ItemIdx),
        ):
            parts += [
                str(v)
                for v in con.execute(
                    f"SELECT count(*), bit_xor(hash({id_col}, {idx_col})) FROM {index}"
                ).fetchone()
            ]
    return "|".join(parts)


def _compact(values: np.ndarray) -> np.ndarray:
    """int32 when every value is a whole number in range (stored exactly), else as is."""
    if (
        len(values)
        and np.array_equal(values, np.floor(values))
        and values.min() >= -(2**31)
        and values.max() < 2**31
    ):
        return values.astype(np.int32)
    return values


def _write_cache(path: Path, fingerprint: str, inter: Interactions) -> None:
    started = time.perf_counter()
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.savez(
            f,
            fingerprint=np.array(fingerprint),
            ref_date=np.array(inter.ref_date.isoformat()),
            user_ids=inter.user_ids,
            track_ids=inter.track_ids,
            indptr=inter.matrix.indptr,
            indices=inter.matrix.indices,
            listen_count=_compact(inter.listen_count),
            age_days=_compact(inter.age_days),
        )
    tmp.replace(path)
    log.info("kept %s in %s (%.1fs)", phase_events(inter.phase), path, time.perf_counter() - started)


def _load_interactions(con: duckdb.DuckDBPyConnection, phase: str) -> Interactions:
    started = time.perf_counter()
    table = phase_events(phase)
    split = read_split(con)
    ref = reference_date(split, phase)
    require_tables(con, table)
    if phase == Phases.Serve:
        require_tables(con, Tables.UserIndex, Tables.TrackIndex)
        user_ids = _index(con, Tables.UserIndex, C.User, C.UserIdx)
        track_ids = serve_track_ids(con)
    else:
        user_ids = con.execute(f"SELECT DISTINCT {C.User} FROM {table} ORDER BY 1").fetchnumpy()[C.User]
        track_ids = con.execute(f"SELECT DISTINCT {C.Item} FROM {table} ORDER BY 1").fetchnumpy()[C.Item]
    ev = con.execute(
        f"SELECT {C.User}, {C.Item}, {C.ListenCount}, "
        f"date_diff('day', {C.LastListen}, ?::DATE) AS age_days FROM {table} "
        f"ORDER BY {C.User}, {C.Item}",  # indices follow id order: rows come out CSR-sorted
        [ref],
    ).fetchnumpy()
    user_ids = np.asarray(user_ids, dtype=np.int64)
    track_ids = np.asarray(track_ids, dtype=np.int64)
    # each fetched column is released once converted: at full scale (~170M events) every
    # full-length array is 0.7-1.4 GB
    rows = positions_of(user_ids, np.asarray(ev.pop(C.User), dtype=np.int64))
    cols = positions_of(track_ids, np.asarray(ev.pop(C.Item), dtype=np.int64))
    if (rows < 0).any() or (cols < 0).any():
        raise WarehouseError(f"{table} has users or tracks missing from the index tables")
    age = np.asarray(ev.pop("age_days"), dtype=np.float64)
    if len(age) and age.min() < 0:
        raise WarehouseError(f"{table} holds events after the phase's reference date {ref}")
    counts = np.asarray(ev.pop(C.ListenCount), dtype=np.float64)
    del ev
    in_order, duplicated = _pair_order(rows, cols, len(track_ids))
    if not in_order:  # an index not in id order: sort here
        order = np.argsort(rows * len(track_ids) + cols, kind="stable")
        rows, cols, counts, age = rows[order], cols[order], counts[order], age[order]
        del order
        _, duplicated = _pair_order(rows, cols, len(track_ids))
    indptr = np.zeros(len(user_ids) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum(np.bincount(rows, minlength=len(user_ids)))
    del rows
    matrix = sp.csr_matrix(
        (np.ones(len(cols), dtype=np.float32), cols.astype(np.int32), indptr),
        shape=(len(user_ids), len(track_ids)),
    )
    if matrix.nnz != len(cols) or duplicated:
        raise WarehouseError(f"{table} holds duplicated (user_id, track_id) pairs")
    log.info(
        "loaded %s: %d users x %d tracks, %d pairs (%.1fs)",
        table,
        len(user_ids),
        len(track_ids),
        matrix.nnz,
        time.perf_counter() - started,
    )
    return Interactions(phase, ref, user_ids, track_ids, matrix, counts, age)


def _pair_order(rows: np.ndarray, cols: np.ndarray, n_cols: int, chunk: int = 1 << 24) -> tuple[bool, bool]:
    """(pairs sorted by (row, col), some pair repeated), in chunks: no full-length key array."""
    in_order, duplicated = True, False
    for lo in range(0, len(rows), chunk):
        hi = min(lo + chunk + 1, len(rows))  # one pair of overlap links the chunks
        step = np.diff(rows[lo:hi] * n_cols + cols[lo:hi])
        in_order = in_order and bool(np.all(step >= 0))
        duplicated = duplicated or bool(np.any(step == 0))
    return in_order, duplicated


def _index(con: duckdb.DuckDBPyConnection, table: str, id_col: str, idx_col: str) -> np.ndarray:
    """Ids ordered by their index (``ids[idx] = id``), checking the index is 0..n-1."""
    got = con.execute(f"SELECT {id_col}, {idx_col} FROM {table} ORDER BY {idx_col}").fetchnumpy()
    ids, idx = np.asarray(got[id_col], dtype=np.int64), np.asarray(got[idx_col], dtype=np.int64)
    if not np.array_equal(idx, np.arange(len(idx))) or len(np.unique(ids)) != len(ids):
        raise WarehouseError(f"{table}: {idx_col} must be 0..n-1 with one {id_col} each")
    return ids
