"""Bad raw input stops the build with a message naming the file and the problem."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from music_recs.raw import RawDataError, validate
from tests.conftest import make_settings


@pytest.fixture()
def raw_copy(tmp_path: Path, tiny_raw_dir: Path) -> Path:
    out = tmp_path / "raw"
    out.mkdir()
    for name in ("tracks", "catalog_names", "interactions"):
        shutil.copy(tiny_raw_dir / f"{name}.parquet", out / f"{name}.parquet")
    return out


def test_generated_data_validates(tmp_path: Path, raw_copy: Path) -> None:
    counts = validate(make_settings(tmp_path, str(raw_copy)))
    assert set(counts) == {"tracks", "catalog_names", "interactions"}
    assert all(n > 0 for n in counts.values())
    assert counts["interactions"] == pq.read_metadata(raw_copy / "interactions.parquet").num_rows


def test_missing_file(tmp_path: Path, raw_copy: Path) -> None:
    (raw_copy / "catalog_names.parquet").unlink()
    with pytest.raises(RawDataError, match=r"catalog_names\.parquet: file not found"):
        validate(make_settings(tmp_path, str(raw_copy)))


def test_missing_column_and_wrong_type(tmp_path: Path, raw_copy: Path) -> None:
    table = pq.read_table(raw_copy / "interactions.parquet")
    table = table.drop_columns(["track_seq"]).set_column(
        0, "user_id", pa.array([str(v) for v in table["user_id"].to_pylist()])
    )
    pq.write_table(table, raw_copy / "interactions.parquet")
    with pytest.raises(RawDataError) as err:
        validate(make_settings(tmp_path, str(raw_copy)))
    message = str(err.value)
    assert "interactions.parquet" in message
    assert "'track_seq' is missing" in message
    assert "'user_id' has type VARCHAR, expected INTEGER" in message


def test_corrupt_file(tmp_path: Path, raw_copy: Path) -> None:
    (raw_copy / "tracks.parquet").write_bytes(b"this is not parquet")
    with pytest.raises(RawDataError, match=r"tracks\.parquet: cannot read as parquet"):
        validate(make_settings(tmp_path, str(raw_copy)))
