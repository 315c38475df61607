"""Read-only access to the served warehouse that survives a rebuild under load.

The pipeline publishes a new build by atomically swapping the symlink ``warehouse_path`` to a
new file. A reader connects to the symlink's *realpath* (DuckDB's Python client caches
databases by path, so a new build is a new path and therefore a fresh database), hands out
one cursor per worker thread (a ``DuckDBPyConnection`` is not thread-safe), watches the link
in a background thread and switches to the new target without failing requests in flight:
the old connection is closed only when the last request using it has finished.

Usage::

    reader = WarehouseReader(settings.warehouse_path)
    reader.start()                       # background watcher (optional; refresh() works too)
    with reader.session() as wh:         # wh.cursor, wh.build_id, wh.cache
        wh.cursor.execute("SELECT ...").fetchall()
    reader.close()

``warmers`` compute per-build in-memory state (e.g. similarity lists keyed by track id)
on the new connection *before* it becomes current, so no request pays for it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from music_recs.tables import Columns as C
from music_recs.tables import Tables

log = logging.getLogger("warehouse_reader")

Warmer = Callable[[duckdb.DuckDBPyConnection], Any]


class WarehouseUnavailable(RuntimeError):
    """The served warehouse is missing or unreadable (services answer 503)."""


def read_build_id(con: duckdb.DuckDBPyConnection, path: Path) -> str:
    """Build id of an open warehouse: ``build_info['build_id']`` if present, else the file stem."""
    try:
        row = con.execute(
            f"SELECT {C.Value} FROM {Tables.BuildInfo} WHERE {C.Key} IN ('build_id', 'build_name') "
            f"ORDER BY {C.Key} = 'build_id' DESC LIMIT 1"
        ).fetchone()
    except duckdb.Error:
        row = None
    return str(row[0]) if row and row[0] else path.stem


@dataclass(eq=False)
class Generation:
    """One opened build: its connection, per-thread cursors and warmed state."""

    path: Path
    con: duckdb.DuckDBPyConnection
    build_id: str
    cache: dict[str, Any]
    opened_at: float = field(default_factory=time.time)
    users: int = 0
    retired: bool = False
    closed: bool = False
    _local: threading.local = field(default_factory=threading.local)
    _cursors: list[duckdb.DuckDBPyConnection] = field(default_factory=list)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor on this build (created on first use)."""
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self.con.cursor()
            self._local.cursor = cur
            self._cursors.append(cur)
        return cur

    def close(self) -> None:
        for cur in self._cursors:
            try:
                cur.close()
            except duckdb.Error:  # pragma: no cover - closing is best effort
                pass
        self.con.close()
        self.closed = True


@dataclass(frozen=True)
class Session:
    """What a request sees: one build, this thread's cursor on it, and the build's cache."""

    cursor: duckdb.DuckDBPyConnection
    build_id: str
    path: Path
    cache: Mapping[str, Any]


class WarehouseReader:
    """Thread-safe, swap-aware, read-only DuckDB access to the warehouse behind ``link_path``."""

    def __init__(
        self,
        link_path: Path,
        check_interval_s: float = 1.0,
        warmers: Mapping[str, Warmer] | None = None,
        required_tables: tuple[str, ...] = (),
        duckdb_threads: int = 1,
    ) -> None:
        if check_interval_s <= 0:
            raise ValueError(f"check_interval_s must be > 0, got {check_interval_s}")
        self.link_path = Path(link_path)
        self.check_interval_s = check_interval_s
        self.warmers = dict(warmers or {})
        self.required_tables = tuple(required_tables)
        # one thread per query: requests are point lookups and run in parallel already;
        # DuckDB's worker pool would only add CPU (thread hand-offs) to each of them
        self.duckdb_threads = duckdb_threads
        self._lock = threading.Lock()  # guards _current and the users counters
        self._switch_lock = threading.Lock()  # one opener at a time
        self._current: Generation | None = None
        self._last_error: str | None = "not opened yet"
        self._rejected: Path | None = None  # a target that failed to open: not retried
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.switches = 0

    # --- lifecycle ---------------------------------------------------------------------
    def start(self) -> WarehouseReader:
        """Open the current build (if any) and start watching the link in the background."""
        self.refresh()
        if self._thread is None:
            self._thread = threading.Thread(target=self._watch, name="warehouse-watch", daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop watching and close the current build once no request uses it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5 * self.check_interval_s + 5)
            self._thread = None
        with self._lock:
            gen, self._current = self._current, None
            if gen is not None:
                gen.retired = True
                if gen.users == 0:
                    gen.close()

    def _watch(self) -> None:
        while not self._stop.wait(self.check_interval_s):
            try:
                self.refresh()
            except Exception:  # the watcher must never die; the error shows in readiness
                log.exception("warehouse refresh failed")

    # --- switching ---------------------------------------------------------------------
    def _target(self) -> Path:
        if not self.link_path.exists():
            raise WarehouseUnavailable(f"warehouse not found: {self.link_path}")
        return Path(os.path.realpath(self.link_path))

    def refresh(self) -> bool:
        """Switch to the link's current target if it changed. Returns True if switched."""
        with self._switch_lock:
            try:
                target = self._target()
            except WarehouseUnavailable as exc:
                self._last_error = str(exc)
                return False
            current = self._current
            if (current is not None and current.path == target) or target == self._rejected:
                return False
            try:
                gen = self._open(target)
            except (duckdb.Error, OSError, WarehouseUnavailable) as exc:
                # builds are published complete, so a failure is permanent for this path:
                # keep serving the previous build and wait for the next publish
                self._rejected = target
                self._last_error = f"cannot open {target}: {exc}"
                log.error("warehouse not switched: %s", self._last_error)
                return False
            with self._lock:
                old, self._current = self._current, gen
                self._last_error = None
                self.switches += 1
                if old is not None:
                    old.retired = True
                    if old.users == 0:
                        old.close()
            log.info(
                "serving warehouse build %s (%s)",
                gen.build_id,
                target.name,
                extra={"data": {"build_id": gen.build_id, "path": str(target)}},
            )
            return True

    def _open(self, target: Path) -> Generation:
        con = duckdb.connect(str(target), read_only=True, config={"threads": self.duckdb_threads})
        try:
            missing = [t for t in self.required_tables if not _table_exists(con, t)]
            if missing:
                raise WarehouseUnavailable(f"missing tables {missing} in {target.name}")
            build_id = read_build_id(con, target)
            t0 = time.perf_counter()
            cache = {name: warm(con) for name, warm in self.warmers.items()}
            if self.warmers:
                log.info(
                    "warmed %s of %s in %.2fs",
                    ", ".join(self.warmers),
                    build_id,
                    time.perf_counter() - t0,
                    extra={"data": {"build_id": build_id}},
                )
        except BaseException:
            con.close()
            raise
        return Generation(path=target, con=con, build_id=build_id, cache=cache)

    # --- use ---------------------------------------------------------------------------
    @contextmanager
    def session(self) -> Iterator[Session]:
        """Lease the current build for one request (never closed under the request's feet)."""
        with self._lock:
            gen = self._current
            if gen is None:
                raise WarehouseUnavailable(self._last_error or "warehouse not opened")
            gen.users += 1
        try:
            yield Session(cursor=gen.cursor(), build_id=gen.build_id, path=gen.path, cache=gen.cache)
        finally:
            with self._lock:
                gen.users -= 1
                if gen.retired and gen.users == 0 and not gen.closed:
                    gen.close()

    @property
    def build_id(self) -> str | None:
        """Id of the build currently served (None until one is open)."""
        gen = self._current
        return gen.build_id if gen is not None else None

    @property
    def path(self) -> Path | None:
        gen = self._current
        return gen.path if gen is not None else None

    @property
    def last_error(self) -> str | None:
        return self._last_error

    def check(self) -> dict[str, Any]:
        """Readiness facts: file present, required tables readable, build id."""
        facts: dict[str, Any] = {
            "warehouse": str(self.link_path),
            "build_id": self.build_id,
            "ok": False,
        }
        if not self.link_path.exists():
            facts["error"] = f"warehouse not found: {self.link_path}"
            return facts
        try:
            with self.session() as wh:
                for table in self.required_tables:
                    wh.cursor.execute(f'SELECT 1 FROM "{table}" LIMIT 1').fetchall()
                facts["build_id"] = wh.build_id
                facts["path"] = str(wh.path)
        except (WarehouseUnavailable, duckdb.Error) as exc:
            facts["error"] = str(exc)
            return facts
        if self._last_error:  # serving, but a newer build was rejected
            facts["rejected_build"] = self._last_error
        facts["ok"] = True
        return facts


def _table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]
    ).fetchone()
    return bool(row and row[0])
