"""Build files and the atomic publish: what services rely on during a rebuild."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from music_recs.warehouse import SERVED_TABLES, current_build, new_build_path, prune, publish
from tests.conftest import make_settings


def _make_build(settings, value: int) -> Path:
    path = new_build_path(settings)
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t AS SELECT ? AS v", [value])
    for table in SERVED_TABLES:  # publish refuses a file without them
        con.execute(f"CREATE TABLE {table} (x INTEGER)")
    con.close()
    return path


def test_publish_swaps_symlink_and_readers_see_whole_builds(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "unused", keep_builds=2)
    first = _make_build(settings, 1)
    publish(first, settings)
    assert settings.warehouse_path.is_symlink()
    assert current_build(settings) == first.resolve()

    reader = duckdb.connect(str(current_build(settings)), read_only=True)
    second = _make_build(settings, 2)
    publish(second, settings)
    # The open reader still sees the old build; a new connection sees the new one.
    assert reader.execute("SELECT v FROM t").fetchone() == (1,)
    fresh = duckdb.connect(str(current_build(settings)), read_only=True)
    assert fresh.execute("SELECT v FROM t").fetchone() == (2,)
    reader.close()
    fresh.close()


def test_prune_keeps_newest_and_published(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "unused", keep_builds=2)
    builds = [_make_build(settings, i) for i in range(4)]
    publish(builds[1], settings)  # publishing an older build must never delete it
    remaining = sorted(p.name for p in builds[0].parent.glob("*.duckdb"))
    assert builds[1].name in remaining
    assert builds[3].name in remaining and builds[2].name in remaining
    assert builds[0].name not in remaining
    assert prune(settings) == []


def test_publish_refuses_to_overwrite_a_regular_file(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "unused")
    settings.warehouse_path.parent.mkdir(parents=True)
    settings.warehouse_path.write_bytes(b"user data")
    build = _make_build(settings, 1)
    with pytest.raises(FileExistsError):
        publish(build, settings)
    assert settings.warehouse_path.read_bytes() == b"user data"


def test_publish_missing_build(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "unused")
    with pytest.raises(FileNotFoundError, match="no such build file"):
        publish(tmp_path / "nope.duckdb", settings)
    assert not os.path.lexists(settings.warehouse_path)


def test_the_next_build_goes_beside_the_published_one(tmp_path: Path, monkeypatch) -> None:
    """The pipeline makes paths absolute without following the published symlink: following
    it sent the second build into builds/builds/ and its publish failed."""
    from orchestration.pipeline import absolute_settings

    monkeypatch.chdir(tmp_path)
    settings = make_settings(tmp_path, "unused", keep_builds=2).updated(
        warehouse_path=Path("warehouse/music_recs.duckdb")
    )
    first = _make_build(absolute_settings(settings), 1)
    publish(first, absolute_settings(settings))
    again = absolute_settings(settings)
    assert again.warehouse_path == tmp_path / "warehouse" / "music_recs.duckdb"
    second = _make_build(again, 2)
    assert second.parent == first.parent
    publish(second, again)
    assert current_build(again) == second.resolve()
