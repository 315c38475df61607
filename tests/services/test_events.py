"""Events service: durability across restart and kill -9, and the parquet export."""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from svc_stack import AUTH, Stack, publish_handmade, service_settings

from services.events.export import export_events
from services.events.store import EventStore


@pytest.fixture()
def events_only(tmp_path: Path) -> Stack:
    settings = service_settings(tmp_path)
    publish_handmade(settings, "events-test")
    stack = Stack(settings, tmp_path).start("events")
    yield stack
    stack.stop()


def _listens(client: httpx.Client, url: str, user: int) -> list[int]:
    resp = client.get(f"{url}/users/{user}/events", params={"k": 1000})
    assert resp.status_code == 200, resp.text
    return [e["track_id"] for e in resp.json()["events"]]


def test_survives_restart_and_kill9(events_only: Stack, http: httpx.Client) -> None:
    proc = events_only.procs["events"]
    url = events_only.url("events")
    for track in (1, 2, 3):
        assert (
            http.post(
                f"{url}/put",
                params={"user_id": 9, "track_id": track, "started_at": f"2023-01-0{track}T00:00:00"},
            ).status_code
            == 200
        )
    proc.stop()
    proc.start().wait_live()
    assert _listens(http, url, 9) == [3, 2, 1]

    # acknowledged, then killed at once: the acknowledged listen must be on disk
    resp = http.post(f"{url}/users/9/events", json={"track_id": 4, "started_at": "2023-01-04T00:00:00"})
    assert resp.status_code == 201
    proc.kill9()
    proc.start().wait_live()
    assert _listens(http, url, 9) == [4, 3, 2, 1]
    con = sqlite3.connect(events_only.settings.events_db)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()


def test_kill9_under_write_load_loses_no_acknowledged_listen(events_only: Stack) -> None:
    proc = events_only.procs["events"]
    url = events_only.url("events")
    acked: list[int] = []
    stop = threading.Event()

    def writer() -> None:
        with httpx.Client(timeout=2.0, headers=AUTH) as client:
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    r = client.post(f"{url}/put", params={"user_id": 77, "track_id": 1 + i % 30})
                except httpx.HTTPError:
                    return  # the server died mid-request: that listen was never acknowledged
                if r.status_code == 200:
                    acked.append(r.json()["id"])

    t = threading.Thread(target=writer)
    t.start()
    while len(acked) < 30:
        threading.Event().wait(0.01)
    proc.kill9()
    stop.set()
    t.join()
    con = sqlite3.connect(events_only.settings.events_db)
    stored = {r[0] for r in con.execute("SELECT id FROM events WHERE user_id = 77")}
    con.close()
    assert set(acked) <= stored


def test_export_schema_empty_and_full(tmp_path: Path) -> None:
    out = tmp_path / "online_events.parquet"
    assert export_events(tmp_path / "missing.sqlite3", out) == 0
    table = pq.read_table(out)
    assert table.num_rows == 0
    assert table.schema.field("user_id").type == pa.int32()
    assert table.schema.field("track_id").type == pa.int64()
    assert pa.types.is_timestamp(table.schema.field("started_at").type)

    store = EventStore(tmp_path / "events.sqlite3")
    store.add(5, 2**40, datetime(2022, 12, 31, 23, 59, 59))
    store.add(6, 7, datetime.fromisoformat("2023-01-01T05:00:00+05:00"))
    assert export_events(tmp_path / "events.sqlite3", out) == 2
    rows = pq.read_table(out).to_pylist()
    assert rows == [
        {"user_id": 5, "track_id": 2**40, "started_at": datetime(2022, 12, 31, 23, 59, 59)},
        {"user_id": 6, "track_id": 7, "started_at": datetime(2023, 1, 1, 0, 0, 0)},
    ]
    store.close()


def test_export_while_the_service_writes(events_only: Stack, tmp_path: Path) -> None:
    url = events_only.url("events")
    stop = threading.Event()
    written: list[int] = []

    def writer() -> None:
        with httpx.Client(timeout=5.0, headers=AUTH) as client:
            while not stop.is_set():
                resp = client.post(f"{url}/put", params={"user_id": 3, "track_id": 5})
                if resp.status_code == 200:
                    written.append(resp.json()["id"])

    t = threading.Thread(target=writer)
    t.start()
    counts = []
    try:
        while len(written) < 5:
            threading.Event().wait(0.01)
        for i in range(5):
            counts.append(export_events(events_only.settings.events_db, tmp_path / f"e{i}.parquet"))
    finally:
        stop.set()
        t.join()
    assert counts == sorted(counts) and counts[0] >= 5
    final = export_events(events_only.settings.events_db, tmp_path / "last.parquet")
    assert final == len(written)
