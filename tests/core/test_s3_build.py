"""`make build` from S3, end to end: real SeaweedFS, the real pipeline CLI, real dbt.

The tiny raw files are uploaded to a SeaweedFS server on free loopback ports, then
``python -m orchestration.pipeline build --dbt-only`` runs as a child process configured only
through ``MUSIC_RECS_*`` env vars (raw location, endpoint, non-default keys), in a temp root
without ``data/raw``. Its warehouse must equal the local build of the same files (the
session fixture ``tiny_build``), table by table. The export step is checked the same way:
``python -m models_py export`` with an ``s3://`` export location.

By hand: ``make s3`` (terminal 1), ``make upload``, then
``MUSIC_RECS_RAW_URI=s3://music-recs/raw make dbt`` (or ``make build``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from music_recs.config import Settings
from music_recs.duck import connect
from music_recs.s3 import SeaweedServer, client, free_port, upload_raw
from music_recs.tables import EXPORTED_TABLES
from tests.conftest import REPO_ROOT, TinyBuild, make_settings

BUCKET = "s3-build"
RAW_PREFIX = "tiny/raw"
RAW_URI = f"s3://{BUCKET}/{RAW_PREFIX}"
EXPORT_URI = f"s3://{BUCKET}/tiny/export"
# The tables the brief names; every other dbt table is compared too (see dbt_tables).
MAIN_TABLES = (
    "items",
    "map_tracks",
    "catalog",
    "events",
    "events_train",
    "events_test",
    "split_info",
    "track_features",
    "user_features",
)


def settings_env(settings: Settings) -> dict[str, str]:
    """The child environment that reproduces ``settings`` (and nothing from the caller's)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSIC_RECS_")}
    for name, value in settings.as_flat().items():
        if value is not None:
            env[f"MUSIC_RECS_{name.upper()}"] = str(value)
    env.update(PYTHONPATH=str(REPO_ROOT), OPENBLAS_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    return env


def run_module(
    module: str, args: list[str], settings: Settings, cwd: Path, timeout_s: float = 300
) -> subprocess.CompletedProcess[str]:
    """``python -m <module> <args>`` as ``make`` runs it, configured through the environment."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env=settings_env(settings),
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


def table_digest(con: duckdb.DuckDBPyConnection, relation: str) -> tuple[int, int, list]:
    """Row count, an order-independent checksum of all columns, and the schema of ``relation``."""
    count, checksum = con.execute(
        f"SELECT count(*), coalesce(sum(hash(t)::HUGEINT), 0) FROM {relation} AS t"
    ).fetchone()
    schema = con.execute(
        f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {relation})"
    ).fetchall()
    return count, checksum, schema


def dbt_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Relations of a dbt-only build: its tables (not build_info) and the views over them.

    The staging views are left out: they read the raw files themselves (S3 needs the build's
    secret, which a plain read-only session does not have); their outputs are compared
    through every table built from them.
    """
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' AND table_name <> 'build_info' "
        "UNION ALL SELECT view_name FROM duckdb_views() WHERE NOT internal AND schema_name = 'main' "
        "AND view_name NOT LIKE 'stg\\_%' ESCAPE '\\' ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]


@pytest.fixture(scope="module")
def s3_root(tmp_path_factory: pytest.TempPathFactory, tiny_raw_dir: Path):
    """Settings of a running SeaweedFS server (own port and keys) holding the tiny raw files."""
    root = tmp_path_factory.mktemp("s3_build")
    settings = make_settings(
        root,
        RAW_URI,
        export_uri=EXPORT_URI,
        s3_endpoint=f"127.0.0.1:{free_port()}",
        s3_bucket=BUCKET,
        s3_prefix=RAW_PREFIX,
        s3_access_key_id="s3build",
        s3_secret_access_key="s3build-not-the-default",
    )
    with SeaweedServer(settings, data_dir=root / "server"):
        assert upload_raw(settings, tiny_raw_dir) == RAW_URI
        yield settings, root


@pytest.fixture(scope="module")
def s3_build(s3_root) -> tuple[Settings, Path, subprocess.CompletedProcess[str]]:
    """The pipeline CLI's dbt-only build from S3; returns settings, build file, the run."""
    settings, root = s3_root
    done = run_module("orchestration.pipeline", ["build", "--dbt-only"], settings, cwd=root)
    assert done.returncode == 0, done.stderr[-4000:]
    link = Path(settings.warehouse_path)
    assert not os.path.lexists(link), f"a dbt-only build was published at {link}"
    builds = list((link.parent / "builds").glob("music_recs-*.duckdb"))
    assert len(builds) == 1 and str(builds[0]) in done.stderr, done.stderr[-4000:]  # logged
    return settings, builds[0], done


def test_build_reads_raw_files_from_s3(s3_build, tiny_raw_dir: Path) -> None:
    settings, db_path, done = s3_build
    root = Path(settings.data_dir).parent
    # No fallback: nothing was generated or read locally.
    assert not (root / "data" / "raw").exists()
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        views = dict(
            con.execute(
                "SELECT view_name, sql FROM duckdb_views() WHERE view_name LIKE 'stg_yandex__%'"
            ).fetchall()
        )
        info = dict(con.execute("SELECT key, value FROM build_info").fetchall())
    finally:
        con.close()
    for name in ("tracks", "catalog_names", "interactions"):
        sql = views[f"stg_yandex__{name}"]
        assert f"{RAW_URI}/{name}.parquet" in sql, sql
        assert str(tiny_raw_dir) not in sql
    assert info["raw_uri"] == RAW_URI
    assert "s3build-not-the-default" not in info["settings"]


def test_s3_build_equals_local_build(s3_build, tiny_build: TinyBuild) -> None:
    _, db_path, _ = s3_build
    s3_con = duckdb.connect(str(db_path), read_only=True)
    local_con = duckdb.connect(str(tiny_build.db_path), read_only=True)
    try:
        tables = dbt_tables(s3_con)
        assert set(MAIN_TABLES) <= set(tables), tables
        local_tables = set(dbt_tables(local_con))
        missing = set(tables) - local_tables
        assert not missing, f"dbt tables of the S3 build missing from the local one: {missing}"
        differing = {}
        for table in tables:
            s3_digest, local_digest = table_digest(s3_con, table), table_digest(local_con, table)
            assert s3_digest[0] > 0 or table not in MAIN_TABLES, f"{table} is empty"
            if s3_digest != local_digest:
                differing[table] = {
                    "s3": s3_digest[:2],
                    "local": local_digest[:2],
                    "same_schema": s3_digest[2] == local_digest[2],
                }
    finally:
        s3_con.close()
        local_con.close()
    assert not differing, f"S3 build differs from the local build: {differing}"


def test_build_fails_clearly_without_the_server(s3_root) -> None:
    """A wrong endpoint stops the build before dbt, naming the file and the endpoint."""
    settings, root = s3_root
    dead = settings.updated(
        s3_endpoint=f"127.0.0.1:{free_port()}", warehouse_path=root / "dead" / "music_recs.duckdb"
    )
    done = run_module("orchestration.pipeline", ["build", "--dbt-only"], dead, cwd=root, timeout_s=120)
    assert done.returncode == 2, done.stderr[-2000:]
    assert f"{RAW_URI}/tracks.parquet: cannot read as parquet" in done.stderr
    assert dead.s3.endpoint in done.stderr
    assert not (root / "dead").exists()


def test_export_writes_parquet_to_s3(s3_root, tiny_build: TinyBuild, tmp_path: Path) -> None:
    settings, _ = s3_root
    db = tmp_path / "copy.duckdb"
    shutil.copy(tiny_build.db_path, db)
    exporting = settings.updated(logs_dir=tmp_path / "logs", artifacts_dir=tiny_build.settings.artifacts_dir)
    done = run_module("models_py", ["export", "--db", str(db)], exporting, cwd=tmp_path, timeout_s=120)
    assert done.returncode == 0, done.stderr[-4000:]
    keys = {
        o["Key"]
        for o in client(settings).list_objects_v2(Bucket=BUCKET, Prefix="tiny/export/").get("Contents", [])
    }
    assert keys == {f"tiny/export/{t}.parquet" for t in EXPORTED_TABLES}
    s3_con = connect(settings, s3=True)
    local_con = duckdb.connect(str(db), read_only=True)
    try:
        for table in EXPORTED_TABLES:
            remote = f"read_parquet('{EXPORT_URI}/{table}.parquet')"
            assert table_digest(s3_con, remote) == table_digest(local_con, table), table
    finally:
        s3_con.close()
        local_con.close()
    assert not (tmp_path / "s3:").exists() and not (REPO_ROOT / "s3:").exists()


def test_second_server_coexists_and_stops_fast(s3_root, tmp_path: Path) -> None:
    """A second server (a user's `make s3`, another test) starts beside the first one and stops
    in seconds: weed's Iceberg/Lance ports are off, and it never exits on SIGTERM by itself."""
    settings, _ = s3_root
    other = make_settings(tmp_path, "s3://other/raw", s3_endpoint=f"127.0.0.1:{free_port()}")
    server = SeaweedServer(other, data_dir=tmp_path / "server").start()
    try:
        client(other).create_bucket(Bucket="other")
        assert BUCKET in {b["Name"] for b in client(settings).list_buckets()["Buckets"]}
    finally:
        started = time.perf_counter()
        server.stop()
        stop_s = time.perf_counter() - started
    assert server.process is not None and server.process.poll() is not None
    assert stop_s < 10, f"stop took {stop_s:.1f}s"
