"""Checks of the three raw files before anything is built from them.

Why: a missing file, a renamed column or a wrong type should stop the build with a message
that names the file and the problem, not with a SQL error deep inside dbt.
"""

from __future__ import annotations

import os

import duckdb

from music_recs.config import Settings
from music_recs.duck import connect

RAW_FILES = ("tracks", "catalog_names", "interactions")

# Exact types of the published dataset first; the others are accepted because they cast
# losslessly into what the warehouse uses.
_INTS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER")
EXPECTED: dict[str, dict[str, tuple[str, ...]]] = {
    "tracks": {
        "track_id": ("BIGINT", "INTEGER"),
        "albums": ("BIGINT[]", "INTEGER[]"),
        "artists": ("BIGINT[]", "INTEGER[]"),
        "genres": ("BIGINT[]", "INTEGER[]"),
    },
    "catalog_names": {
        "id": ("BIGINT", "INTEGER"),
        "type": ("VARCHAR",),
        "name": ("VARCHAR",),
    },
    "interactions": {
        "user_id": ("INTEGER", "BIGINT"),
        "track_id": ("INTEGER", "BIGINT"),
        "track_seq": ("SMALLINT", "INTEGER", "BIGINT"),
        "started_at": ("TIMESTAMP_NS", "TIMESTAMP", "TIMESTAMP_MS", "TIMESTAMP_S", "DATE"),
    },
}


class RawDataError(ValueError):
    """The raw data cannot be used; the message names the file and the problem."""


def raw_files_present(settings: Settings) -> bool:
    """True when the raw location is local and holds all three files."""
    if settings.raw_is_s3:
        return True
    return all(os.path.isfile(settings.raw_file(name)) for name in RAW_FILES)


def describe(con: duckdb.DuckDBPyConnection, location: str) -> dict[str, str]:
    rows = con.execute(
        "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(?))",
        [location],
    ).fetchall()
    return {name: typ for name, typ in rows}


def validate(settings: Settings) -> dict[str, int]:
    """Check presence, columns and types of the raw files; return their row counts."""
    con = connect(settings, s3=settings.raw_is_s3)
    counts: dict[str, int] = {}
    try:
        for name in RAW_FILES:
            location = settings.raw_file(name)
            if not settings.raw_is_s3 and not os.path.isfile(location):
                raise RawDataError(
                    f"{location}: file not found (set MUSIC_RECS_RAW_URI, or run `make data` "
                    "to generate a data set)"
                )
            try:
                columns = describe(con, location)
            except duckdb.Error as exc:
                where = f" (S3 endpoint {settings.s3.endpoint})" if settings.raw_is_s3 else ""
                raise RawDataError(f"{location}: cannot read as parquet{where}: {_short(exc)}") from exc
            problems = []
            for column, allowed in EXPECTED[name].items():
                if column not in columns:
                    problems.append(f"column '{column}' is missing")
                elif columns[column] not in allowed:
                    problems.append(f"column '{column}' has type {columns[column]}, expected {allowed[0]}")
            if problems:
                raise RawDataError(f"{location}: " + "; ".join(problems))
            counts[name] = con.execute("SELECT count(*) FROM read_parquet(?)", [location]).fetchone()[0]
    finally:
        con.close()
    return counts


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__
