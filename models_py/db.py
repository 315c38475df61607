"""Opening a build file, checking its tables, building and writing result tables, timing steps."""

from __future__ import annotations

import logging
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from models_py.metrics import PAD
from music_recs.config import Settings
from music_recs.tables import Columns as C


class WarehouseError(RuntimeError):
    """The build file is missing or lacks a table a step needs."""


def connect(
    db_path: Path, read_only: bool = False, memory_limit: str | None = None
) -> duckdb.DuckDBPyConnection:
    """Open an existing build file (never creates one: a typo must not yield an empty warehouse).

    ``memory_limit`` bounds DuckDB's buffers (its default is 80% of RAM, which a sort of the
    ~160M full-scale events fills while numpy holds the same rows as arrays).
    """
    db_path = Path(db_path)
    if not db_path.is_file():
        raise WarehouseError(f"{db_path}: warehouse file not found (run dbt build first)")
    config = {"memory_limit": memory_limit} if memory_limit else {}
    return duckdb.connect(str(db_path), read_only=read_only, config=config)


def existing_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
    ).fetchall()
    return {r[0] for r in rows}


def require_tables(con: duckdb.DuckDBPyConnection, *names: str, step: str = "") -> None:
    """Fail with the list of missing tables, naming the step that needs them."""
    missing = sorted(set(names) - existing_tables(con))
    if missing:
        who = f"step {step!r}" if step else "this step"
        raise WarehouseError(f"{who} needs warehouse tables that are missing: {', '.join(missing)}")


def write_table(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table, order_by: str = "") -> int:
    """Replace table ``name`` with ``table`` (typed arrow columns); return its row count."""
    con.register("_models_py_out", table)
    try:
        order = f" ORDER BY {order_by}" if order_by else ""
        con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _models_py_out{order}")
    finally:
        con.unregister("_models_py_out")
    return table.num_rows


def long_table(user_ids: np.ndarray, tracks: np.ndarray, scores: np.ndarray) -> pa.Table:
    """(user_id, track_id, score, rank) rows from per-user arrays, PAD slots dropped."""
    n, k = tracks.shape
    keep = tracks != PAD
    ranks = np.broadcast_to(np.arange(1, k + 1), (n, k))
    users = np.broadcast_to(np.asarray(user_ids)[:, None], (n, k))
    return pa.table(
        {
            C.User: pa.array(users[keep], pa.int32()),
            C.Item: pa.array(tracks[keep], pa.int64()),
            C.Score: pa.array(scores[keep].astype(np.float64), pa.float64()),
            C.Rank: pa.array(ranks[keep], pa.int32()),
        }
    )


def artifacts_dir(db_path: Path, settings: Settings) -> Path:
    """``settings.artifacts_dir / <build file stem>/``, created on demand."""
    path = Path(settings.artifacts_dir) / Path(db_path).stem
    path.mkdir(parents=True, exist_ok=True)
    return path


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def timed(log: logging.Logger, what: str) -> Iterator[None]:
    """Log duration and the process's peak memory after ``what``."""
    started = time.perf_counter()
    yield
    seconds = time.perf_counter() - started
    log.info(
        "%s done in %.1fs (peak RSS %.0f MB)",
        what,
        seconds,
        peak_rss_mb(),
        extra={"data": {"what": what, "seconds": round(seconds, 3), "peak_rss_mb": round(peak_rss_mb())}},
    )
