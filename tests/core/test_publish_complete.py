"""Only a complete build is ever served: `make dbt` leaves its file unpublished, and `publish`
refuses a file that lacks the tables the services need."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import duckdb
import pytest

from music_recs.warehouse import (
    SERVED_TABLES,
    IncompleteBuildError,
    current_build,
    missing_tables,
    new_build_path,
    publish,
)
from tests.conftest import TinyBuild, make_settings


def _file_with(path: Path, tables: tuple[str, ...]) -> Path:
    con = duckdb.connect(str(path))
    try:
        for table in tables:
            con.execute(f'CREATE TABLE "{table}" AS SELECT 1 AS x')
    finally:
        con.close()
    return path


def test_served_tables_cover_what_every_service_requires() -> None:
    from services.events.app import REQUIRED as EVENTS
    from services.final.app import REQUIRED as FINAL
    from services.offline.app import REQUIRED as OFFLINE
    from services.online.app import REQUIRED as ONLINE

    assert set(FINAL) | set(OFFLINE) | set(ONLINE) | set(EVENTS) | {"build_info"} <= set(SERVED_TABLES)


def test_publish_refuses_an_incomplete_file_naming_the_missing_tables(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "unused")
    good = _file_with(new_build_path(settings), SERVED_TABLES)
    publish(good, settings)
    partial = _file_with(new_build_path(settings), ("build_info", "catalog", "events", "map_tracks"))
    with pytest.raises(IncompleteBuildError) as err:
        publish(partial, settings)
    message = str(err.value)
    for table in ("item_genres", "recs_final", "recs_popular", "recs_popular_genre", "similar_tracks"):
        assert repr(table) in message
    assert "'catalog'" not in message and str(partial.resolve()) in message
    assert current_build(settings) == good.resolve()  # the served link did not move
    assert partial.exists()  # refused, not deleted: it can still be inspected


def test_publish_refuses_a_file_without_any_tables(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "unused")
    empty = _file_with(new_build_path(settings), ())
    with pytest.raises(IncompleteBuildError, match="recs_popular"):
        publish(empty, settings)
    assert not os.path.lexists(settings.warehouse_path)


def test_dbt_only_build_is_left_unpublished(
    tiny_build: TinyBuild, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """`make dbt` after a complete build: the served link keeps pointing at the complete
    build; the dbt-only file exists, is logged, and cannot be published."""
    from orchestration.pipeline import build

    settings = make_settings(tmp_path, str(tiny_build.raw_dir), keep_builds=1)
    previous = new_build_path(settings)
    shutil.copyfile(tiny_build.db_path, previous)  # the previous complete build, served
    publish(previous, settings)

    with caplog.at_level(logging.INFO, logger="build"):
        dbt_only = build(settings, dbt_only=True)

    assert dbt_only.is_file() and dbt_only.resolve() != previous.resolve()
    assert current_build(settings) == previous.resolve()
    assert previous.exists()  # no publish, so nothing pruned either (keep_builds=1)
    assert str(dbt_only) in caplog.text and "NOT published" in caplog.text
    missing = missing_tables(dbt_only)
    assert "recs_popular" in missing and "recs_final" in missing
    assert "catalog" not in missing and "build_info" not in missing  # dbt's part is there
    with pytest.raises(IncompleteBuildError, match=r"missing tables \[.*'recs_popular'"):
        publish(dbt_only, settings)
    assert current_build(settings) == previous.resolve()
