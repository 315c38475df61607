"""Events keys (401 / 403 / ok), idempotent writes, body cap, a read-only events file (503 +
Retry-After, not ready until a write works), and the generated key when none is configured."""

from __future__ import annotations

import shutil
import sqlite3
import stat
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from svc_stack import AUTH, Stack, publish_handmade, service_settings

EVENT_ROUTES = [
    ("POST", "/put", {"params": {"user_id": 5, "track_id": 11}}),
    ("POST", "/get", {"params": {"user_id": 5}}),
    ("POST", "/users/5/events", {"json": {"track_id": 11}}),
    ("GET", "/users/5/events", {}),
]


def test_events_routes_need_the_key(handmade_stack: Stack) -> None:
    url = handmade_stack.url("events")
    with httpx.Client(timeout=10.0) as bare:
        for method, path, kwargs in EVENT_ROUTES:
            missing = bare.request(method, f"{url}{path}", **kwargs)
            assert missing.status_code == 401, path
            assert "X-API-Key" in missing.json()["detail"]
            wrong = bare.request(method, f"{url}{path}", headers={"X-API-Key": "nope"}, **kwargs)
            assert wrong.status_code == 403 and wrong.json() == {"detail": "wrong API key"}
            good = bare.request(method, f"{url}{path}", headers=AUTH, **kwargs)
            assert good.status_code in (200, 201), good.text
        # health and metrics stay open (orchestrators and scrapers)
        assert bare.get(f"{url}/health/ready").status_code == 200
        assert bare.get(f"{url}/metrics").status_code == 200


def _rows(stack: Stack, user: int) -> int:
    con = sqlite3.connect(stack.settings.events_db)
    try:
        return con.execute("SELECT count(*) FROM events WHERE user_id = ?", [user]).fetchone()[0]
    finally:
        con.close()


def test_a_retried_write_stores_one_row(handmade_stack: Stack, http: httpx.Client) -> None:
    url = handmade_stack.url("events")
    user = 7301
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = http.post(f"{url}/users/{user}/events", json={"track_id": 11}, headers=key)
    again = http.post(f"{url}/users/{user}/events", json={"track_id": 11}, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert _rows(handmade_stack, user) == 1

    key2 = {"Idempotency-Key": str(uuid.uuid4())}
    params = {"user_id": user, "track_id": 12}
    a = http.post(f"{url}/put", params=params, headers=key2)
    b = http.post(f"{url}/put", params=params, headers=key2)
    assert a.status_code == b.status_code == 200 and a.json() == b.json()
    assert _rows(handmade_stack, user) == 2
    other = http.post(f"{url}/put", params={"user_id": user, "track_id": 13}, headers=key2)
    assert other.status_code == 409 and "Idempotency-Key" in other.json()["detail"]
    plain = [http.post(f"{url}/put", params=params).json()["id"] for _ in range(2)]
    assert plain[0] != plain[1]  # without a key every write is a new listen
    assert _rows(handmade_stack, user) == 4


def test_large_bodies_are_refused(handmade_stack: Stack, http: httpx.Client) -> None:
    url = handmade_stack.url("events")
    big = b'{"track_id": 11, "pad": "' + b"x" * (handmade_stack.settings.services.max_body_bytes + 1) + b'"}'
    resp = http.post(f"{url}/users/1/events", content=big, headers={"content-type": "application/json"})
    assert resp.status_code == 413 and "larger than" in resp.json()["detail"]
    assert resp.headers["x-request-id"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield big[:1000]
        yield big[1000:]

    resp = http.post(f"{url}/users/1/events", content=chunks(), headers={"content-type": "application/json"})
    assert resp.status_code == 413 and "larger than" in resp.json()["detail"]


@pytest.fixture(scope="module")
def keyless(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Events + online with no key configured at all (a new user's ``make serve``)."""
    root = tmp_path_factory.mktemp("keyless")
    settings = service_settings(root, events_api_keys=SecretStr(""))
    publish_handmade(settings, "keyless-1")
    stack = Stack(settings, root).start("events", "online")
    yield stack
    stack.stop()


def test_no_key_configured_generates_one_for_the_stack(keyless: Stack, http: httpx.Client) -> None:
    key_file = keyless.settings.events_db.parent / "api_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    assert len(key) >= 32
    url = keyless.url("events")
    assert httpx.get(f"{url}/users/1/events").status_code == 401  # not open
    assert http.get(f"{url}/users/1/events").status_code == 403  # the test key is not it
    assert httpx.get(f"{url}/users/1/events", headers={"X-API-Key": key}).status_code == 200
    # online (same settings) reads the file: it gets the listens, not a degraded answer
    body = http.get(f"{keyless.url('online')}/users/1/recommendations").json()
    assert body["degraded"] == []
    log = (keyless.settings.logs_dir / "service-events.jsonl").read_text()
    assert str(key_file) in log and key not in log  # the path is logged, never the key


def _chattr(flag: str, *paths: Path) -> None:
    subprocess.run(["chattr", flag, *map(str, paths)], check=True, capture_output=True)


def test_read_only_events_file_is_a_503_and_not_ready(keyless: Stack) -> None:
    url = keyless.url("events")
    key = {"X-API-Key": (keyless.settings.events_db.parent / "api_key").read_text().strip()}
    db = keyless.settings.events_db
    files = [db, db.with_name(db.name + "-wal")]
    if shutil.which("chattr") is None:
        pytest.skip("chattr not available")
    with httpx.Client(timeout=10.0, headers=key) as client:
        assert client.post(f"{url}/users/8/events", json={"track_id": 11}).status_code == 201
        try:
            _chattr("+i", *files)  # immutable: even root's open descriptors cannot write
        except subprocess.CalledProcessError as exc:
            pytest.skip(f"cannot make the events file read-only here: {exc.stderr!r}")
        try:
            resp = client.post(f"{url}/users/8/events", json={"track_id": 12})
            assert resp.status_code == 503, resp.text
            assert resp.headers["retry-after"] == "1"
            assert "events store unavailable" in resp.json()["detail"]
            ready = client.get(f"{url}/health/ready")
            assert ready.status_code == 503
            assert ready.json()["checks"]["events_db"]["writable"] is False
            metrics = client.get(f"{url}/metrics").text
            assert 'music_recs_events_written_total{outcome="failed"} 1.0' in metrics
            assert "music_recs_events_store_writable 0.0" in metrics
        finally:
            _chattr("-i", *files)
        deadline = time.monotonic() + 5
        while client.get(f"{url}/health/ready").status_code != 200:  # a probe write works again
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert client.post(f"{url}/users/8/events", json={"track_id": 12}).status_code == 201
        assert [e["track_id"] for e in client.get(f"{url}/users/8/events").json()["events"]] == [12, 11]
