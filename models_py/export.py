"""Step ``export``: recommendation tables as parquet under ``settings.export_uri``.

A local folder gets ``<table>.parquet`` files, each written to a temporary name and renamed
(readers never see half a file); ``s3://bucket/prefix`` is written by DuckDB's httpfs with
the S3 settings (``LOAD httpfs`` works offline after ``python -m music_recs.duckdb_setup``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from models_py.db import connect, require_tables, timed
from music_recs.config import Settings
from music_recs.logs import setup_logging
from music_recs.tables import EXPORTED_TABLES

log = logging.getLogger("models_py.export")


def _quote(path: str) -> str:
    return "'" + path.replace("'", "''") + "'"


def run(db_path: Path, settings: Settings) -> None:
    setup_logging("models_py.export", logs_dir=settings.logs_dir)
    uri = settings.export_uri.rstrip("/")
    to_s3 = uri.startswith("s3://")
    with (
        timed(log, "export"),
        connect(db_path, read_only=True, memory_limit=settings.models.memory_limit) as con,
    ):
        require_tables(con, *EXPORTED_TABLES, step="export")
        if to_s3:
            from music_recs.duck import enable_s3

            enable_s3(con, settings)
        else:
            Path(uri).mkdir(parents=True, exist_ok=True)
        for table in EXPORTED_TABLES:
            target = f"{uri}/{table}.parquet"
            tmp = target if to_s3 else f"{target}.tmp"
            con.execute(f"COPY {table} TO {_quote(tmp)} (FORMAT parquet, COMPRESSION zstd)")
            if not to_s3:
                os.replace(tmp, target)
            n = con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            log.info("exported %s (%d rows) to %s", table, n, target)
