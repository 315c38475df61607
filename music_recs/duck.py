"""DuckDB connections that can read and write s3:// with the configured endpoint.

httpfs is installed from the pip wheel by `make venv` (music_recs.duckdb_setup), so
``LOAD httpfs`` never touches the network.
"""

from __future__ import annotations

import duckdb

from music_recs.config import Settings


def s3_secret_sql(settings: Settings) -> str:
    """The CREATE SECRET statement for the configured S3 endpoint (path style, no SSL by default)."""

    def q(value: str) -> str:
        return "'" + value.replace("'", "''") + "'"

    return (
        "CREATE OR REPLACE SECRET music_recs_s3 (TYPE s3, "
        f"KEY_ID {q(settings.s3.access_key_id)}, SECRET {q(settings.s3.secret_access_key)}, "
        f"REGION {q(settings.s3.region)}, ENDPOINT {q(settings.s3.endpoint)}, "
        f"URL_STYLE {q(settings.s3.url_style)}, USE_SSL {str(settings.s3.use_ssl).lower()})"
    )


def enable_s3(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Load httpfs and register the S3 secret on ``con``."""
    try:
        con.execute("LOAD httpfs")
    except duckdb.Error:
        from music_recs.duckdb_setup import install_httpfs

        install_httpfs()
        con.execute("LOAD httpfs")
    con.execute(s3_secret_sql(settings))


def connect(
    settings: Settings, database: str = ":memory:", read_only: bool = False, s3: bool | None = None
) -> duckdb.DuckDBPyConnection:
    """Open ``database``; enable S3 when asked or when the raw/export location is s3://."""
    con = duckdb.connect(database, read_only=read_only)
    want_s3 = s3 if s3 is not None else (settings.raw_is_s3 or settings.export_uri.startswith("s3://"))
    if want_s3:
        enable_s3(con, settings)
    return con
