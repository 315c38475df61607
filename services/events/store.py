"""Durable store of online listens: a SQLite file owned by the events service.

Why SQLite in WAL mode with ``synchronous=FULL``: a listen acknowledged with 200 must survive
a restart and a ``kill -9`` (FULL fsyncs the WAL on every commit), while readers (the export
step of the pipeline) read a consistent snapshot without blocking the writer.
Timestamps are stored as UTC text ``YYYY-MM-DD HH:MM:SS.ffffff`` so text order is time order.

Idempotency: a write may carry a client key (``Idempotency-Key``), stored in the row under a
unique index, so a retried write stores one row and gets the first one back.
A write that cannot be stored (locked, disk full, read-only file, I/O error) raises
:class:`StoreUnavailable` and marks the store not writable; readiness (:meth:`check`) then
probes with a real one-row write until one works again.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL,
    track_id INTEGER NOT NULL,
    started_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_user_time ON events (user_id, started_at, id);
CREATE TABLE IF NOT EXISTS write_probe (id INTEGER PRIMARY KEY, at TEXT NOT NULL);
"""
# added after the first release: older files get the column on open
IDEMPOTENCY = """
CREATE UNIQUE INDEX IF NOT EXISTS events_idempotency_key ON events (idempotency_key);
"""
TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def to_text(ts: datetime) -> str:
    """UTC text form of a timestamp (naive timestamps are taken as UTC)."""
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC).replace(tzinfo=None)
    return ts.strftime(TIME_FORMAT)


def from_text(text: str) -> datetime:
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)


class StoreUnavailable(RuntimeError):
    """The events file cannot be written (or read) right now; the service answers 503."""


class IdempotencyConflict(ValueError):
    """The idempotency key was already used for a different listen."""


@dataclass(frozen=True)
class Event:
    id: int
    user_id: int
    track_id: int
    started_at: datetime


class EventStore:
    """Thread-safe access to the events file: one SQLite connection per worker thread."""

    def __init__(self, path: Path, busy_timeout_s: float = 5.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        con = self._con()
        mode = con.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise RuntimeError(f"{self.path}: cannot switch SQLite to WAL mode (got {mode})")
        con.executescript(SCHEMA)
        columns = {r[1] for r in con.execute("PRAGMA table_info(events)")}
        if "idempotency_key" not in columns:
            con.execute("ALTER TABLE events ADD COLUMN idempotency_key TEXT")
        con.executescript(IDEMPOTENCY)
        self.writable = True
        self.last_write_error: str | None = None

    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout_s,
                isolation_level=None,
                check_same_thread=False,
            )
            con.execute("PRAGMA synchronous=FULL")
            self._local.con = con
            with self._lock:
                self._all.append(con)
        return con

    def add(
        self, user_id: int, track_id: int, started_at: datetime, idempotency_key: str | None = None
    ) -> Event:
        """Record one listen; returns once it is on disk."""
        return self.add_once(user_id, track_id, started_at, idempotency_key)[0]

    def add_once(
        self, user_id: int, track_id: int, started_at: datetime, idempotency_key: str | None = None
    ) -> tuple[Event, bool]:
        """Record one listen unless ``idempotency_key`` was seen: (the event, stored now?).

        Raises :class:`IdempotencyConflict` if the key was used for another user or track,
        :class:`StoreUnavailable` if the row cannot be written.
        """
        text = to_text(started_at)
        try:
            cur = self._con().execute(
                "INSERT INTO events (user_id, track_id, started_at, idempotency_key) VALUES (?, ?, ?, ?)",
                (user_id, track_id, text, idempotency_key),
            )
        except sqlite3.IntegrityError:
            if idempotency_key is None:
                raise
            first = self._by_key(idempotency_key)
            if first.user_id != user_id or first.track_id != track_id:
                raise IdempotencyConflict(
                    f"Idempotency-Key already used for user {first.user_id}, track {first.track_id}"
                ) from None
            return first, False
        except sqlite3.Error as exc:
            self.writable = False
            self.last_write_error = f"{type(exc).__name__}: {exc}"
            raise StoreUnavailable(f"cannot store the listen: {exc}") from exc
        self.writable = True
        return Event(int(cur.lastrowid or 0), user_id, track_id, from_text(text)), True

    def _by_key(self, key: str) -> Event:
        try:
            r = (
                self._con()
                .execute(
                    "SELECT id, user_id, track_id, started_at FROM events WHERE idempotency_key = ?",
                    (key,),
                )
                .fetchone()
            )
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot read the events file: {exc}") from exc
        if r is None:  # pragma: no cover - the unique index said it exists
            raise StoreUnavailable("idempotency key conflict without a row")
        return Event(r[0], r[1], r[2], from_text(r[3]))

    def recent(self, user_id: int, k: int) -> list[Event]:
        """The user's ``k`` most recent listens, newest first (ties: last recorded first)."""
        try:
            rows = (
                self._con()
                .execute(
                    "SELECT id, user_id, track_id, started_at FROM events WHERE user_id = ? "
                    "ORDER BY started_at DESC, id DESC LIMIT ?",
                    (user_id, k),
                )
                .fetchall()
            )
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot read the events file: {exc}") from exc
        return [Event(r[0], r[1], r[2], from_text(r[3])) for r in rows]

    def probe_write(self) -> bool:
        """One real (fsynced) write to the one-row ``write_probe`` table; True if it worked."""
        try:
            self._con().execute(
                "INSERT INTO write_probe (id, at) VALUES (1, ?) "
                "ON CONFLICT (id) DO UPDATE SET at = excluded.at",
                (to_text(datetime.now(UTC)),),
            )
        except sqlite3.Error as exc:
            self.writable = False
            self.last_write_error = f"{type(exc).__name__}: {exc}"
            return False
        self.writable = True
        self.last_write_error = None
        return True

    def check(self) -> dict[str, object]:
        """Readiness facts: file present and readable, journal mode, last event id (O(log n)),
        and writable (after a failed write, only once a probe write works again)."""
        facts: dict[str, object] = {"events_db": str(self.path), "ok": False}
        try:
            con = self._con()
            facts["journal_mode"] = con.execute("PRAGMA journal_mode").fetchone()[0]
            facts["last_id"] = con.execute("SELECT max(id) FROM events").fetchone()[0]
            writable = self.writable or self.probe_write()
            facts["writable"] = writable
            if not writable:
                facts["error"] = f"last write failed: {self.last_write_error}"
            facts["ok"] = self.path.exists() and facts["journal_mode"] == "wal" and writable
        except sqlite3.Error as exc:
            facts["error"] = str(exc)
        return facts

    def close(self) -> None:
        with self._lock:
            for con in self._all:
                con.close()
            self._all.clear()
