"""WarehouseReader in-process: swaps under concurrent use, lease-safe closing, bad builds."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import duckdb
import pytest
from svc_stack import publish_handmade, service_settings

from music_recs.warehouse import new_build_path, publish
from music_recs.warehouse_reader import WarehouseReader, WarehouseUnavailable


def test_missing_then_published(tmp_path: Path) -> None:
    settings = service_settings(tmp_path)
    reader = WarehouseReader(settings.warehouse_path, check_interval_s=0.05)
    reader.refresh()
    assert reader.build_id is None and not reader.check()["ok"]
    with pytest.raises(WarehouseUnavailable, match="not found"):
        with reader.session():
            pass
    publish_handmade(settings, "b-1")
    assert reader.refresh() is True and reader.refresh() is False
    with reader.session() as wh:
        assert wh.build_id == "b-1"
        assert wh.cursor.execute("SELECT count(*) FROM catalog").fetchone()[0] == 30
    assert reader.check()["ok"]
    reader.close()


def test_swap_keeps_leased_build_open_until_released(tmp_path: Path) -> None:
    settings = service_settings(tmp_path)
    publish_handmade(settings, "old")
    reader = WarehouseReader(settings.warehouse_path)
    reader.refresh()
    with reader.session() as old:
        publish_handmade(settings, "new")
        assert reader.refresh() is True
        assert reader.build_id == "new"
        with reader.session() as new:
            assert new.build_id == "new" and new.path != old.path
        # the request still holding the old build keeps reading it
        assert old.cursor.execute("SELECT value FROM build_info").fetchone()[0] == "old"
        old_cursor = old.cursor
    with pytest.raises(duckdb.ConnectionException):
        old_cursor.execute("SELECT 1")  # closed once the last lease ended
    reader.close()


def test_concurrent_sessions_across_many_swaps(tmp_path: Path) -> None:
    settings = service_settings(tmp_path, keep_builds=2)
    publish_handmade(settings, "gen-0")
    reader = WarehouseReader(settings.warehouse_path, check_interval_s=0.01).start()
    errors: list[BaseException] = []
    seen: set[str] = set()
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            try:
                with reader.session() as wh:
                    value = wh.cursor.execute(
                        "SELECT value FROM build_info WHERE key = 'build_id'"
                    ).fetchone()[0]
                    assert value == wh.build_id  # cursor and build id from the same build
                    seen.add(value)
            except BaseException as exc:  # noqa: BLE001 - every failure is a test failure
                errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(1, 5):
        publish_handmade(settings, f"gen-{i}")  # also prunes files beyond keep_builds
        for _ in range(200):  # wait until the watcher switched (≤ 2 s)
            if reader.build_id == f"gen-{i}":
                break
            time.sleep(0.01)
    for _ in range(200):  # and until a worker read the last one
        if "gen-4" in seen:
            break
        time.sleep(0.01)
    stop.set()
    for t in threads:
        t.join()
    reader.close()
    assert errors == []
    assert reader.switches == 5 and "gen-4" in seen


def test_bad_build_is_not_switched_to(tmp_path: Path) -> None:
    settings = service_settings(tmp_path)
    publish_handmade(settings, "good")
    reader = WarehouseReader(settings.warehouse_path, required_tables=("catalog",))
    reader.refresh()
    broken = new_build_path(settings)
    con = duckdb.connect(str(broken))
    con.execute("CREATE TABLE other AS SELECT 1 AS x")
    con.close()
    publish(broken, settings, required=())  # past publish's own check: the reader must refuse it too
    assert reader.refresh() is False
    assert reader.build_id == "good" and "catalog" in (reader.last_error or "")
    with reader.session() as wh:
        assert wh.cursor.execute("SELECT count(*) FROM catalog").fetchone()[0] == 30
    facts = reader.check()
    assert facts["ok"] and "catalog" in facts["rejected_build"]
    publish_handmade(settings, "fixed")  # the next good publish is picked up
    assert reader.refresh() is True and reader.build_id == "fixed"
    assert "rejected_build" not in reader.check()
    reader.close()


def test_warmers_run_once_per_build(tmp_path: Path) -> None:
    settings = service_settings(tmp_path)
    publish_handmade(settings, "w1")
    calls: list[str] = []

    def warm(con: duckdb.DuckDBPyConnection) -> int:
        calls.append(con.execute("SELECT value FROM build_info").fetchone()[0])
        return con.execute("SELECT count(*) FROM similar_tracks").fetchone()[0]

    reader = WarehouseReader(settings.warehouse_path, warmers={"n_similar": warm})
    reader.refresh()
    for _ in range(3):
        with reader.session() as wh:
            assert wh.cache["n_similar"] == 90
    publish_handmade(settings, "w2")
    reader.refresh()
    with reader.session() as wh:
        assert wh.build_id == "w2"
    assert calls == ["w1", "w2"]
    reader.close()


def test_rejects_bad_interval(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="check_interval_s"):
        WarehouseReader(tmp_path / "x.duckdb", check_interval_s=0)
