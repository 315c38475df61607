"""Trouble on a private stack: a rebuild under load, then dependencies stopped or hanging."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from handmade import HEARD, POPULAR
from svc_stack import AUTH, SERVICES, Stack, publish_handmade, service_settings


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("services_resilience")
    # serving_memory_rows=0: per-user tables are read with DuckDB point queries here (the
    # hand-made stack covers the in-memory path)
    settings = service_settings(root, keep_builds=1, serving_memory_rows=0)
    publish_handmade(settings, "before")
    s = Stack(settings, root).start(*SERVICES)
    yield s
    s.stop()


def _ready_build(client: httpx.Client, stack: Stack, name: str) -> str | None:
    return client.get(f"{stack.url(name)}/health/ready").json()["build_id"]


def test_rebuild_while_a_client_keeps_requesting(stack: Stack, http: httpx.Client) -> None:
    urls = [
        f"{stack.url('final')}/users/1/recommendations?k=10",
        f"{stack.url('offline')}/users/2/recommendations?k=10",
        f"{stack.url('online')}/tracks/5/similar?k=3",
        f"{stack.url('events')}/users/1/events?k=5",
    ]
    statuses: Counter[int] = Counter()
    builds: list[str] = []
    failures: list[str] = []
    stop = threading.Event()

    def client_loop() -> None:
        with httpx.Client(timeout=5.0, headers=AUTH) as client:
            i = 0
            while not stop.is_set():
                url = urls[i % len(urls)]
                i += 1
                try:
                    resp = client.get(url)
                except httpx.HTTPError as exc:
                    failures.append(f"{url}: {exc!r}")
                    continue
                statuses[resp.status_code] += 1
                if resp.status_code != 200:
                    failures.append(f"{url}: {resp.status_code} {resp.text[:200]}")
                elif url.startswith(stack.url("final")):
                    body = resp.json()
                    builds.append(body["build_id"])
                    if len(body["items"]) != 10:
                        failures.append(f"final returned {len(body['items'])} items")

    threads = [threading.Thread(target=client_loop) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    publish_handmade(stack.settings, "after")  # keep_builds=1: the old file is deleted too
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if all(_ready_build(http, stack, n) == "after" for n in SERVICES) and builds[-1:] == ["after"]:
            break
        time.sleep(0.1)
    time.sleep(1.0)  # keep requesting on the new build for a while
    stop.set()
    for t in threads:
        t.join()
    assert failures == []
    assert statuses[200] > 40
    assert builds[0] == "before" and builds[-1] == "after"
    assert {_ready_build(http, stack, n) for n in SERVICES} == {"after"}


def test_degrades_when_online_and_events_are_down(stack: Stack, http: httpx.Client) -> None:
    final = stack.url("final")
    stack.procs["online"].stop()
    stack.procs["events"].stop()

    body = http.get(f"{final}/users/1/recommendations", params={"k": 12}).json()
    assert body["degraded"] == ["events", "online"]
    got = [i["track_id"] for i in body["items"]]
    assert len(got) == 12 and len(set(got)) == 12 and not set(HEARD[1]) & set(got)
    assert all(i["track_name"] for i in body["items"])

    cold = http.post(f"{final}/recommendations", params={"user_id": 8080, "k": 5}).json()
    assert cold["degraded"] == ["events", "online"] and [i["track_id"] for i in cold["items"]] == POPULAR[:5]

    ready = http.get(f"{final}/health/ready")
    assert ready.status_code == 200  # still serving, from offline + popularity
    checks = ready.json()["checks"]
    assert checks["online"]["ok"] is False and checks["events"]["ok"] is False
    assert checks["offline"]["ok"] is True


def test_hanging_dependency_costs_at_most_the_timeout(stack: Stack, http: httpx.Client) -> None:
    # a socket that accepts connections (backlog) and never answers, on online's port
    with socket.socket() as hang:
        hang.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        hang.bind(("127.0.0.1", stack.settings.services.online_port))
        hang.listen(64)
        t0 = time.monotonic()
        body = http.get(f"{stack.url('final')}/users/2/recommendations", params={"k": 5}).json()
        elapsed = time.monotonic() - t0
    assert "online" in body["degraded"] and len(body["items"]) == 5
    assert elapsed < 3 * stack.settings.services.timeout_s + 1.0


def test_everything_down_but_final_still_answers(stack: Stack, http: httpx.Client) -> None:
    stack.procs["offline"].stop()
    body = http.get(f"{stack.url('final')}/users/2/recommendations", params={"k": 5}).json()
    assert body["degraded"] == ["events", "offline", "online"]
    assert [i["track_id"] for i in body["items"]] == [t for t in POPULAR if t not in HEARD[2]][:5]
    assert {i["source"] for i in body["items"]} == {"popular"}


def test_recovers_when_dependencies_return(stack: Stack, http: httpx.Client) -> None:
    for name in ("events", "offline", "online"):
        stack.procs[name].start()
    for name in ("events", "offline", "online"):
        stack.procs[name].wait_live()
    body = http.get(f"{stack.url('final')}/users/1/recommendations", params={"k": 5}).json()
    assert body["degraded"] == [] and body["offline_source"] == "personal"


def test_only_online_down_listens_still_excluded(stack: Stack, http: httpx.Client) -> None:
    final, events = stack.url("final"), stack.url("events")
    first = http.get(f"{final}/users/2/recommendations", params={"k": 3}).json()["items"][0]
    assert http.post(f"{events}/put", params={"user_id": 2, "track_id": first["track_id"]}).status_code == 200
    stack.procs["online"].stop()
    try:
        body = http.get(f"{final}/users/2/recommendations", params={"k": 3}).json()
        assert body["degraded"] == ["online"]  # final asked events itself
        assert first["track_id"] not in [i["track_id"] for i in body["items"]]
    finally:
        stack.procs["online"].start().wait_live()


def test_only_events_down(stack: Stack, http: httpx.Client) -> None:
    stack.procs["events"].stop()
    try:
        for user in (1, 4242):  # offline reports it for the cold user, online for both
            body = http.get(f"{stack.url('final')}/users/{user}/recommendations", params={"k": 6}).json()
            assert body["degraded"] == ["events"] and len(body["items"]) == 6
        online = http.get(f"{stack.url('online')}/users/1/recommendations").json()
        assert online["degraded"] == ["events"] and online["items"] == []
    finally:
        stack.procs["events"].start().wait_live()


def test_missing_warehouse_is_not_ready_but_live(tmp_path: Path, http: httpx.Client) -> None:
    settings = service_settings(tmp_path)
    s = Stack(settings, tmp_path).start("offline")
    try:
        url = s.url("offline")
        assert http.get(f"{url}/health/live").status_code == 200
        ready = http.get(f"{url}/health/ready")
        assert ready.status_code == 503 and ready.json()["ready"] is False
        assert "not found" in ready.json()["checks"]["warehouse"]["error"]
        resp = http.get(f"{url}/users/1/recommendations")
        assert resp.status_code == 503 and "warehouse" in resp.json()["detail"]
        publish_handmade(settings, "late")  # published after start: picked up without restart
        deadline = time.monotonic() + 10
        while http.get(f"{url}/health/ready").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert http.get(f"{url}/users/1/recommendations").json()["build_id"] == "late"
    finally:
        s.stop()
