"""Snapshot the events service's SQLite into parquet for the next dbt build.

Why: online listens must fold into the next warehouse build. The pipeline calls
``export_events`` before ``dbt build``; it reads the SQLite file read-only inside one read
transaction (a consistent snapshot, safe while the service writes) and writes the parquet
atomically (temp file + rename), so dbt never sees a half-written file.

Schema: user_id int32, track_id int64, started_at timestamp[us] (UTC, naive).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from services.events.store import TIME_FORMAT

SCHEMA = pa.schema(
    [
        pa.field("user_id", pa.int32()),
        pa.field("track_id", pa.int64()),
        pa.field("started_at", pa.timestamp("us")),
    ]
)


def _read_rows(events_db: Path) -> list[tuple[int, int, str]]:
    if not events_db.exists():
        return []
    con = sqlite3.connect(f"{events_db.resolve().as_uri()}?mode=ro", uri=True, timeout=10.0)
    try:
        has_table = con.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'events'"
        ).fetchone()[0]
        if not has_table:
            return []
        return con.execute("SELECT user_id, track_id, started_at FROM events ORDER BY id").fetchall()
    finally:
        con.close()


def export_events(events_db: Path, out_path: Path) -> int:
    """Write all online events to ``out_path`` (empty file of the schema if none); row count."""
    rows = _read_rows(Path(events_db))
    try:
        table = pa.table(
            {
                "user_id": pa.array([r[0] for r in rows], pa.int32()),
                "track_id": pa.array([r[1] for r in rows], pa.int64()),
                "started_at": pa.array(
                    [datetime.strptime(r[2], TIME_FORMAT) for r in rows], pa.timestamp("us")
                ),
            },
            schema=SCHEMA,
        )
    except (pa.ArrowInvalid, ValueError, OverflowError) as exc:
        raise ValueError(f"{events_db}: events table holds a row outside the schema: {exc}") from exc
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, out_path)
    return table.num_rows


def main(argv: list[str] | None = None) -> int:
    from music_recs.config import get_settings

    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m services.events.export")
    parser.add_argument("--events-db", type=Path, default=settings.events_db)
    parser.add_argument("--out", type=Path, default=settings.online_events_path)
    args = parser.parse_args(argv)
    n = export_events(args.events_db, args.out)
    print(f"exported {n} online events to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
