"""Per-user serving lists stored next to a build as ``.npy`` files the services memory-map.

Why: at full scale the per-user tables (``recs_final`` ~64M rows, ``events`` ~190M) are too
large to load into each service process (every process would hold its own copy, and a load
peaks at several times the size of the result), and a DuckDB point query costs far more CPU
than a binary search, which four services would pay several times per request. The build
writes each list once in CSR layout (sorted keys, offsets, values[, scores]); every service
maps the files read-only, so the pages are shared through the page cache, a new build opens
without loading anything (no load holding the GIL during a swap), and a lookup is a binary
search.

Layout: ``<build>.serving/<name>/{keys,offsets,values[,scores]}.npy`` plus ``meta.json``,
written last, so a reader never maps a half-written list (no ``meta.json`` = not there).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

#: Rows fetched from DuckDB per batch while writing (bounded memory at any scale).
BATCH_ROWS = 1 << 20
META = "meta.json"


def serving_dir(build_path: Path) -> Path:
    """Folder of a build's serving lists: ``<build stem>.serving`` beside the build file."""
    build_path = Path(build_path)
    return build_path.with_name(build_path.stem + ".serving")


def remove_serving_dir(build_path: Path) -> None:
    """Delete a build's serving lists (with the build, when it is pruned or failed)."""
    shutil.rmtree(serving_dir(build_path), ignore_errors=True)


@dataclass(frozen=True)
class KeyedArrays:
    """CSR lists: ``values[offsets[i]:offsets[i+1]]`` belong to ``keys[i]`` (keys sorted)."""

    keys: np.ndarray
    offsets: np.ndarray
    values: np.ndarray
    scores: np.ndarray | None


def write(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    directory: Path,
    *,
    with_scores: bool,
    order_sql: str | None = None,
) -> int:
    """Write the rows of ``sql`` as a CSR list under ``directory``; return the row count.

    ``sql`` returns columns ``key, value`` (and ``score`` if ``with_scores``), optionally
    followed by ``rank``. It is read in its stored order (no sort of ~200M rows at full
    scale) and checked: keys non-decreasing and, with ``rank``, ranks increasing within a key.
    If the check fails, ``order_sql`` (the same rows with an ORDER BY) is read instead.
    """
    try:
        return _write(con, sql, directory, with_scores)
    except _Unordered:
        if order_sql is None:
            raise ValueError(f"rows of {sql!r} are not ordered by key") from None
        return _write(con, order_sql, directory, with_scores)


class _Unordered(Exception):
    pass


def _write(con: duckdb.DuckDBPyConnection, sql: str, directory: Path, with_scores: bool) -> int:
    directory = Path(directory)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    n_rows, value_max = con.execute(f"SELECT count(*), max(abs(value)) FROM ({sql})").fetchone()
    value_max = value_max or 0
    value_dtype = np.int32 if value_max < 2**31 else np.int64
    values = np.lib.format.open_memmap(
        directory / "values.npy", mode="w+", dtype=value_dtype, shape=(n_rows,)
    )
    scores = (
        np.lib.format.open_memmap(directory / "scores.npy", mode="w+", dtype=np.float64, shape=(n_rows,))
        if with_scores
        else None
    )
    keys: list[np.ndarray] = []
    counts: list[np.ndarray] = []
    last_key: int | None = None
    last_rank: int | None = None
    rank_col = 3 if with_scores else 2
    pos = 0
    reader = con.execute(sql).fetch_record_batch(BATCH_ROWS)
    for batch in reader:
        key = batch.column(0).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
        if key.size == 0:
            continue
        if last_key is not None:
            key_prev = np.concatenate(([last_key], key))
        else:
            key_prev = key
        step = np.diff(key_prev)
        if np.any(step < 0):
            raise _Unordered
        if batch.num_columns > rank_col:
            rank = batch.column(rank_col).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
            rank_prev = np.concatenate(([last_rank], rank)) if last_key is not None else rank
            if np.any((step == 0) & (np.diff(rank_prev) <= 0)):
                raise _Unordered
            last_rank = int(rank[-1])
        n = key.size
        values[pos : pos + n] = batch.column(1).to_numpy(zero_copy_only=False)
        if scores is not None:
            scores[pos : pos + n] = batch.column(2).to_numpy(zero_copy_only=False)
        uniq, count = np.unique(key, return_counts=True)
        keys.append(uniq)
        counts.append(count.astype(np.int64))
        last_key = int(key[-1])
        pos += n
    if pos != n_rows:
        raise RuntimeError(f"read {pos} rows of {sql!r}, expected {n_rows}")
    # a key whose list spans batches appears once per batch: merge its counts
    all_keys, where = np.unique(np.concatenate(keys) if keys else np.zeros(0, np.int64), return_inverse=True)
    offsets = np.zeros(all_keys.size + 1, np.int64)
    if all_keys.size:
        per_key = np.bincount(where, weights=np.concatenate(counts), minlength=all_keys.size)
        np.cumsum(per_key.astype(np.int64), out=offsets[1:])
    np.save(directory / "keys.npy", all_keys)
    np.save(directory / "offsets.npy", offsets)
    values.flush()
    del values
    if scores is not None:
        scores.flush()
        del scores
    tmp = directory / (META + ".tmp")
    tmp.write_text(
        json.dumps(
            {
                "rows": n_rows,
                "keys": int(all_keys.size),
                "scores": with_scores,
                "value_dtype": np.dtype(value_dtype).name,
            }
        )
    )
    os.replace(tmp, directory / META)
    return n_rows


def open_lists(directory: Path) -> KeyedArrays | None:
    """Map a written list read-only, or None if it is absent or incomplete."""
    directory = Path(directory)
    meta_path = directory / META
    if not meta_path.is_file():
        return None
    meta = json.loads(meta_path.read_text())
    keys = np.load(directory / "keys.npy", mmap_mode="r")
    offsets = np.load(directory / "offsets.npy", mmap_mode="r")
    values = np.load(directory / "values.npy", mmap_mode="r")
    scores = np.load(directory / "scores.npy", mmap_mode="r") if meta.get("scores") else None
    if (
        values.shape[0] != meta["rows"]
        or keys.shape[0] != meta["keys"]
        or offsets.shape[0] != keys.shape[0] + 1
    ):
        raise ValueError(f"{directory}: serving list does not match its meta.json")
    # the small arrays are read on every lookup's binary search: keep them in memory
    return KeyedArrays(
        keys=np.asarray(keys).copy(), offsets=np.asarray(offsets).copy(), values=values, scores=scores
    )


def database_path(con: duckdb.DuckDBPyConnection) -> Path | None:
    """The file behind a DuckDB connection (None for an in-memory database)."""
    row = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    return Path(row[0]) if row and row[0] else None
