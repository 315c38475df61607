"""A real S3-compatible server on loopback: upload tiny data, read it back through DuckDB."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from music_recs.duck import connect
from music_recs.raw import RawDataError, validate
from music_recs.s3 import SeaweedServer, free_port, upload_raw
from tests.conftest import make_settings


@pytest.fixture(scope="module")
def s3_settings(tmp_path_factory: pytest.TempPathFactory, tiny_raw_dir: Path):
    root = tmp_path_factory.mktemp("s3")
    settings = make_settings(
        root,
        "s3://music-recs/raw",
        s3_endpoint=f"127.0.0.1:{free_port()}",
        s3_bucket="music-recs",
        s3_prefix="raw",
    )
    with SeaweedServer(settings, data_dir=root / "server"):
        assert upload_raw(settings, tiny_raw_dir) == "s3://music-recs/raw"
        yield settings


def test_duckdb_reads_uploaded_files(s3_settings, tiny_raw_dir: Path) -> None:
    con = connect(s3_settings)
    n = con.execute(
        "SELECT count(*) FROM read_parquet('s3://music-recs/raw/interactions.parquet')"
    ).fetchone()[0]
    assert n == pq.read_metadata(tiny_raw_dir / "interactions.parquet").num_rows
    local = con.execute(
        "SELECT sum(track_id), max(started_at) FROM read_parquet(?)",
        [str(tiny_raw_dir / "interactions.parquet")],
    ).fetchone()
    remote = con.execute(
        "SELECT sum(track_id), max(started_at) FROM read_parquet('s3://music-recs/raw/interactions.parquet')"
    ).fetchone()
    assert remote == local


def test_validate_from_s3(s3_settings) -> None:
    counts = validate(s3_settings)
    assert counts["tracks"] > 0 and counts["interactions"] > 0


def test_missing_object_is_named(s3_settings) -> None:
    settings = s3_settings.updated(raw_uri="s3://music-recs/nothing-here")
    with pytest.raises(RawDataError, match=r"s3://music-recs/nothing-here/tracks\.parquet"):
        validate(settings)


def test_unreachable_endpoint_is_named(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "s3://music-recs/raw", s3_endpoint=f"127.0.0.1:{free_port()}")
    with pytest.raises(RawDataError, match=r"S3 endpoint 127\.0\.0\.1:\d+"):
        validate(settings)
