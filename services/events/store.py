"""Durable store of online listens: a SQLite file owned by the events service.

Why SQLite in WAL mode with ``synchronous=FULL``: a listen acknowledged with 200 must survive
a restart and a ``kill -9`` (FULL fsyncs the WAL on every commit), while readers (the export
step of the pipeline) read a consistent snapshot without blocking the writer.
Timestamps are stored as UTC text ``YYYY-MM-DD HH:MM:SS.ffffff`` so text order is time order.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL,
    track_id INTEGER NOT NULL,
    started_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_user_time ON events (user_id, started_at, id);
"""
TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def to_text(ts: datetime) -> str:
    """UTC text form of a timestamp (naive timestamps are taken as UTC)."""
    if ts.tzinfo is not None:
        ts = ts.astimezone(timezone.utc).replace(tzinfo=None)
    return ts.strftime(TIME_FORMAT)


def from_text(text: str) -> datetime:
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=timezone.utc)


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

    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(
                self.path, timeout=self.busy_timeout_s, isolation_level=None,
                check_same_thread=False,
            )
            con.execute("PRAGMA synchronous=FULL")
            self._local.con = con
            with self._lock:
                self._all.append(con)
        return con

    def add(self, user_id: int, track_id: int, started_at: datetime) -> Event:
        """Record one listen; returns once it is on disk."""
        text = to_text(started_at)
        cur = self._con().execute(
            "INSERT INTO events (user_id, track_id, started_at) VALUES (?, ?, ?)",
            (user_id, track_id, text),
        )
        return Event(int(cur.lastrowid or 0), user_id, track_id, from_text(text))

    def recent(self, user_id: int, k: int) -> list[Event]:
        """The user's ``k`` most recent listens, newest first (ties: last recorded first)."""
        rows = self._con().execute(
            "SELECT id, user_id, track_id, started_at FROM events WHERE user_id = ? "
            "ORDER BY started_at DESC, id DESC LIMIT ?",
            (user_id, k),
        ).fetchall()
        return [Event(r[0], r[1], r[2], from_text(r[3])) for r in rows]

    def check(self) -> dict[str, object]:
        """Readiness facts: file present and readable, journal mode, last event id (O(log n))."""
        facts: dict[str, object] = {"events_db": str(self.path), "ok": False}
        try:
            con = self._con()
            facts["journal_mode"] = con.execute("PRAGMA journal_mode").fetchone()[0]
            facts["last_id"] = con.execute("SELECT max(id) FROM events").fetchone()[0]
            facts["ok"] = self.path.exists() and facts["journal_mode"] == "wal"
        except sqlite3.Error as exc:
            facts["error"] = str(exc)
        return facts

    def close(self) -> None:
        with self._lock:
            for con in self._all:
                con.close()
            self._all.clear()
