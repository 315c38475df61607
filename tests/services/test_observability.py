"""/metrics on every service (parsed by prometheus_client), request ids through final, access
logs, rate-limited dependency warnings, a rejected build counted, JSON 500 with the request id."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from svc_stack import SERVICES, Stack, publish_handmade, service_settings

from music_recs.warehouse import new_build_path, publish


def scrape(client: httpx.Client, url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``/metrics`` as {(name, sorted labels): value}."""
    resp = client.get(f"{url}/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(resp.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def sample(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def access_lines(logs_dir: Path, service: str) -> list[dict]:
    path = logs_dir / f"service-{service}.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [line for line in lines if line.get("logger") == "services.access"]


def test_metrics_on_every_service_move_with_requests(handmade_stack: Stack, http: httpx.Client) -> None:
    routes = {
        "final": ("GET", "/users/{user_id}/recommendations", "/users/1/recommendations"),
        "offline": ("GET", "/users/{user_id}/recommendations", "/users/2/recommendations"),
        "online": ("GET", "/tracks/{track_id}/similar", "/tracks/5/similar"),
        "events": ("GET", "/users/{user_id}/events", "/users/1/events"),
    }
    for name in SERVICES:
        url = handmade_stack.url(name)
        method, template, path = routes[name]
        labels = {"method": method, "route": template, "status": "200"}
        before = scrape(http, url)
        for _ in range(3):
            assert http.get(f"{url}{path}").status_code == 200
        assert http.get(f"{url}/no/such/route").status_code == 404
        after = scrape(http, url)
        assert sample(after, "music_recs_service_info", service=name) == 1
        grew = sample(after, "music_recs_http_requests_total", **labels) - sample(
            before, "music_recs_http_requests_total", **labels
        )
        assert grew >= 3, name
        count = sample(after, "music_recs_http_request_duration_seconds_count", **labels)
        assert count == sample(after, "music_recs_http_requests_total", **labels)
        assert sample(after, "music_recs_http_request_duration_seconds_bucket", le="+Inf", **labels) == count
        assert (
            sample(after, "music_recs_http_requests_total", method="GET", route="<unmatched>", status="404")
            >= 1
        )  # no per-path series
        assert sample(after, "music_recs_warehouse_up") == 1
        assert sample(after, "music_recs_warehouse_build_info", build_id="handmade-1") == 1
        age = sample(after, "music_recs_warehouse_build_age_seconds")
        assert 0 <= age < 24 * 3600
        assert sample(after, "music_recs_warehouse_builds_rejected_total") == 0
        assert sample(after, "process_resident_memory_bytes") > 0

    events = handmade_stack.url("events")
    before = scrape(http, events)
    assert http.post(f"{events}/put", params={"user_id": 4401, "track_id": 11}).status_code == 200
    after = scrape(http, events)
    assert (
        sample(after, "music_recs_events_written_total", outcome="stored")
        - sample(before, "music_recs_events_written_total", outcome="stored")
    ) == 1
    assert sample(after, "music_recs_events_store_writable") == 1


def test_request_id_through_final_in_every_access_log(handmade_stack: Stack, http: httpx.Client) -> None:
    rid = f"test-{uuid.uuid4().hex}"
    resp = http.get(
        f"{handmade_stack.url('final')}/users/1/recommendations",
        params={"k": 3},
        headers={"X-Request-ID": rid},
    )
    assert resp.status_code == 200 and resp.headers["x-request-id"] == rid
    logs_dir = handmade_stack.settings.logs_dir
    seen: dict[str, list[dict]] = {}
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        seen = {
            s: [line for line in access_lines(logs_dir, s) if line["request_id"] == rid]
            for s in ("final", "offline", "online")
        }
        if all(seen.values()):
            break
        time.sleep(0.05)
    (final,) = seen["final"]
    assert final["method"] == "GET" and final["path"] == "/users/1/recommendations"
    assert final["route"] == "/users/{user_id}/recommendations" and final["status"] == 200
    assert final["duration_ms"] > 0
    assert [line["path"] for line in seen["offline"]] == ["/users/1/recommendations"]
    assert [line["path"] for line in seen["online"]] == ["/users/1/recommendations"]
    # online asked events with the same id
    assert any(line["request_id"] == rid for line in access_lines(logs_dir, "events"))

    made = http.get(f"{handmade_stack.url('offline')}/health/live").headers["x-request-id"]
    assert len(made) == 24 and int(made, 16) >= 0  # none sent: one is made
    odd = http.get(
        f"{handmade_stack.url('offline')}/health/live", headers={"X-Request-ID": "a b\tc"}
    ).headers["x-request-id"]
    assert odd != "a b\tc" and len(odd) == 24  # unsafe ids are replaced, not echoed


@pytest.fixture(scope="module")
def final_alone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Final with its three dependencies down (nothing listens on their ports)."""
    root = tmp_path_factory.mktemp("final_alone")
    settings = service_settings(root, service_timeout_s=0.2)
    publish_handmade(settings, "alone-1")
    stack = Stack(settings, root).start("final")
    yield stack
    stack.stop()


def test_degraded_counts_and_rate_limited_warnings(final_alone: Stack, http: httpx.Client) -> None:
    url = final_alone.url("final")
    n = 6
    for _ in range(n):
        body = http.get(f"{url}/users/1/recommendations", params={"k": 3}).json()
        assert body["degraded"] == ["events", "offline", "online"]
    metrics = scrape(http, url)
    for dep in ("events", "offline", "online"):
        assert sample(metrics, "music_recs_degraded_answers_total", dependency=dep) == n
    assert (
        sample(metrics, "music_recs_dependency_failures_total", dependency="offline", reason="unreachable")
        == n
    )
    lines = [
        json.loads(x)
        for x in (final_alone.settings.logs_dir / "service-final.jsonl").read_text().splitlines()
    ]
    warnings = [x for x in lines if x["level"] == "WARNING" and x["logger"] == "services.clients"]
    per_dep = {
        d: sum(1 for w in warnings if w.get("dependency") == d) for d in ("offline", "online", "events")
    }
    assert per_dep == {"offline": 1, "online": 1, "events": 1}, warnings  # not one per request


def test_rejected_build_is_counted(final_alone: Stack, http: httpx.Client) -> None:
    url = final_alone.url("final")
    broken = new_build_path(final_alone.settings)
    con = duckdb.connect(str(broken))
    con.execute("CREATE TABLE other AS SELECT 1 AS x")
    con.close()
    publish(broken, final_alone.settings, required=())  # past publish's check: final refuses it
    deadline = time.monotonic() + 10
    metrics = scrape(http, url)
    while sample(metrics, "music_recs_warehouse_builds_rejected_total") < 1 and time.monotonic() < deadline:
        time.sleep(0.1)
        metrics = scrape(http, url)
    assert sample(metrics, "music_recs_warehouse_builds_rejected_total") == 1
    assert sample(metrics, "music_recs_warehouse_build_info", build_id="alone-1") == 1
    time.sleep(3 * final_alone.settings.services.warehouse_check_interval_s)  # rejected once, not per check
    assert sample(scrape(http, url), "music_recs_warehouse_builds_rejected_total") == 1


def test_unhandled_error_is_a_json_500_with_the_request_id() -> None:
    from fastapi import FastAPI

    from services import observability
    from services.api import install_error_handlers

    app = FastAPI()
    install_error_handlers(app)
    metrics = observability.install(app, "test", max_body_bytes=1024, log_requests=False)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("kaput")

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.get("/boom", headers={"X-Request-ID": "rid-500"})

    resp = asyncio.run(call())
    assert resp.status_code == 500
    assert resp.json() == {"detail": "internal server error", "request_id": "rid-500"}
    assert resp.headers["x-request-id"] == "rid-500"
    assert metrics.requests.labels("GET", "/boom", "500")._value.get() == 1
