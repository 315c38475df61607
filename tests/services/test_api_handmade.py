"""The four services over HTTP on the hand-made warehouse: answers checked against the data."""

from __future__ import annotations

import httpx
import pytest
from handmade import DUPLICATES, GENRE_OF, HEARD, N_TRACKS, POPULAR, RECS_FINAL, similar_of
from svc_stack import Stack


def ids(items: list[dict]) -> list[int]:
    return [int(i["track_id"]) for i in items]


def test_health_and_build_id(handmade_stack: Stack, http: httpx.Client) -> None:
    for name in ("events", "offline", "online", "final"):
        live = http.get(f"{handmade_stack.url(name)}/health/live")
        assert live.status_code == 200 and live.json() == {"status": "ok"}
        ready = http.get(f"{handmade_stack.url(name)}/health/ready")
        assert ready.status_code == 200, ready.text
        body = ready.json()
        assert body["ready"] is True and body["service"] == name
        assert body["build_id"] == "handmade-1"
    final = http.get(f"{handmade_stack.url('final')}/health/ready").json()
    assert {d: final["checks"][d]["ok"] for d in ("offline", "online", "events")} == {
        "offline": True,
        "online": True,
        "events": True,
    }


def test_offline_user_with_history(handmade_stack: Stack, http: httpx.Client) -> None:
    url = handmade_stack.url("offline")
    body = http.post(f"{url}/get_recs", params={"user_id": 1, "k": 3}).json()
    assert body["source"] == "personal"
    assert ids(body["items"]) == RECS_FINAL[1][:3]
    assert [i["rank"] for i in body["items"]] == [1, 2, 3]
    # shorter than k: topped up from global popularity, labelled as such
    body = http.get(f"{url}/users/2/recommendations", params={"k": 6}).json()
    assert ids(body["items"])[:4] == RECS_FINAL[2]
    assert [i["source"] for i in body["items"]] == ["personal"] * 4 + ["popular"] * 2
    assert ids(body["items"])[4:] == [t for t in POPULAR if t not in RECS_FINAL[2]][:2]


def test_offline_cold_user_gets_popularity(handmade_stack: Stack, http: httpx.Client) -> None:
    body = http.get(f"{handmade_stack.url('offline')}/users/424242/recommendations", params={"k": 7}).json()
    assert body["source"] == "popular" and body["degraded"] == []
    assert ids(body["items"]) == POPULAR[:7]


def test_offline_genre_aware_for_warehouse_only_user(handmade_stack: Stack, http: httpx.Client) -> None:
    # user 3 heard 21, 22 (genre 3) but has no recs_final row
    body = http.get(f"{handmade_stack.url('offline')}/users/3/recommendations", params={"k": 5}).json()
    assert body["source"] == "popular_genre"
    got = ids(body["items"])
    assert all(GENRE_OF[t] == 3 for t in got) and not set(got) & set(HEARD[3])


def test_user_with_only_online_events(handmade_stack: Stack, http: httpx.Client) -> None:
    user = 7001
    events = handmade_stack.url("events")
    r1 = http.post(
        f"{events}/put", params={"user_id": user, "track_id": 11, "started_at": "2023-01-01T10:00:00"}
    )
    r2 = http.post(
        f"{events}/users/{user}/events", json={"track_id": 12, "started_at": "2023-01-01T11:00:00+00:00"}
    )
    assert r1.status_code == 200 and r2.status_code == 201, (r1.text, r2.text)
    listed = http.get(f"{events}/users/{user}/events", params={"k": 5}).json()["events"]
    assert ids(listed) == [12, 11]  # newest first
    assert ids(http.post(f"{events}/get", params={"user_id": user, "k": 1}).json()["events"]) == [12]

    offline = http.get(
        f"{handmade_stack.url('offline')}/users/{user}/recommendations", params={"k": 5}
    ).json()
    assert offline["source"] == "popular_genre"
    assert all(GENRE_OF[t] == 2 for t in ids(offline["items"]))
    assert not {11, 12} & set(ids(offline["items"]))

    online = http.get(f"{handmade_stack.url('online')}/users/{user}/recommendations", params={"k": 10}).json()
    assert online["based_on"] == [12, 11]
    expected = (set(similar_of(12)) | set(similar_of(11))) - {11, 12}
    assert set(ids(online["items"])) == expected
    scores = [i["score"] for i in online["items"]]
    assert scores == sorted(scores, reverse=True)

    final = http.post(
        f"{handmade_stack.url('final')}/recommendations", params={"user_id": user, "k": 8}
    ).json()
    got = ids(final["items"])
    assert len(got) == 8 and len(set(got)) == 8 and not {11, 12} & set(got)
    assert final["items"][0]["source"] == "online"  # cold in the warehouse: online leads


def test_final_blend_user_with_history(handmade_stack: Stack, http: httpx.Client) -> None:
    user = 1
    events = handmade_stack.url("events")
    # an online listen of raw id 101 (a duplicate of canonical 1) and of track 9
    for track in (101, 9):
        assert http.post(f"{events}/put", params={"user_id": user, "track_id": track}).status_code == 200
    body = http.get(f"{handmade_stack.url('final')}/users/{user}/recommendations", params={"k": 10}).json()
    assert body["offline_source"] == "personal" and body["degraded"] == []
    got = ids(body["items"])
    heard = set(HEARD[user]) | {DUPLICATES[101], 9}
    assert len(got) == 10 and len(set(got)) == 10
    assert not heard & set(got)
    assert [i["rank"] for i in body["items"]] == list(range(1, 11))
    # interleaved: offline first, then online (similar of 9: 10, 1, 2 → only 10 is unheard)
    assert got[0] == RECS_FINAL[user][0] and got[1] == 10
    assert body["items"][1]["source"] == "online"
    for item in body["items"]:
        assert item["track_name"] == f"Track {item['track_id']}"
        assert item["artist_name"] == f"Artist {item['track_id'] % 5}"


def test_final_fills_to_k_when_catalog_allows(handmade_stack: Stack, http: httpx.Client) -> None:
    user = 2
    available = N_TRACKS - len(HEARD[user])
    body = http.get(
        f"{handmade_stack.url('final')}/users/{user}/recommendations", params={"k": available}
    ).json()
    got = ids(body["items"])
    assert len(got) == available and set(got) == set(range(1, N_TRACKS + 1)) - set(HEARD[user])
    # more than the catalog holds: everything unheard, no repeats, no error
    body = http.get(f"{handmade_stack.url('final')}/users/{user}/recommendations", params={"k": 100}).json()
    assert sorted(ids(body["items"])) == sorted(got)


def test_final_cold_user(handmade_stack: Stack, http: httpx.Client) -> None:
    body = http.post(
        f"{handmade_stack.url('final')}/recommendations", params={"user_id": 515151, "k": 5}
    ).json()
    assert body["offline_source"] == "popular"
    assert ids(body["items"]) == POPULAR[:5]
    assert {i["source"] for i in body["items"]} == {"popular"}


def test_online_similar_tracks(handmade_stack: Stack, http: httpx.Client) -> None:
    url = handmade_stack.url("online")
    body = http.post(f"{url}/similar_tracks", params={"track_id": 5, "k": 2}).json()
    assert ids(body["items"]) == similar_of(5)[:2]
    body = http.get(f"{url}/tracks/102/similar", params={"k": 10}).json()
    assert body["canonical_track_id"] == 2 and ids(body["items"]) == similar_of(2)
    missing = http.get(f"{url}/tracks/99999/similar")
    assert missing.status_code == 404 and "99999" in missing.json()["detail"]


@pytest.mark.parametrize(
    ("service", "method", "path", "params"),
    [
        ("final", "GET", "/users/1/recommendations", {"k": 0}),
        ("final", "GET", "/users/1/recommendations", {"k": 101}),
        ("final", "GET", "/users/1/recommendations", {"k": -5}),
        ("final", "GET", "/users/abc/recommendations", {"k": 5}),
        ("final", "POST", "/recommendations", {"k": 5}),
        ("final", "POST", "/recommendations", {"user_id": "1.5"}),
        ("offline", "POST", "/get_recs", {"user_id": 2**40}),
        ("offline", "GET", "/users/-1/recommendations", {}),
        ("online", "POST", "/similar_tracks", {"track_id": "x"}),
        ("online", "GET", "/tracks/1/similar", {"k": 10**9}),
        ("events", "POST", "/put", {"user_id": 1}),
        ("events", "POST", "/put", {"user_id": 1, "track_id": 1, "started_at": "yesterday"}),
        ("events", "POST", "/put", {"user_id": 1, "track_id": 1, "started_at": "0001-01-01T00:00:00-10:00"}),
        ("events", "POST", "/get", {"user_id": 1, "k": 0}),
    ],
)
def test_bad_input_is_422(
    handmade_stack: Stack, http: httpx.Client, service: str, method: str, path: str, params: dict
) -> None:
    resp = http.request(method, f"{handmade_stack.url(service)}{path}", params=params)
    assert resp.status_code == 422, resp.text
    assert resp.json()["detail"]


def test_events_unknown_track_and_bad_bodies(handmade_stack: Stack, http: httpx.Client) -> None:
    url = handmade_stack.url("events")
    resp = http.post(f"{url}/put", params={"user_id": 1, "track_id": 123456})
    assert resp.status_code == 404 and "123456" in resp.json()["detail"]
    for body in (
        {"track_id": 1, "started_at": 0},
        {"started_at": "2023-01-01T00:00:00"},
        {"track_id": "one"},
    ):
        resp = http.post(f"{url}/users/1/events", json=body)
        assert resp.status_code == 422, (body, resp.text)
    resp = http.post(f"{url}/users/1/events", content=b"\xff{", headers={"content-type": "application/json"})
    assert 400 <= resp.status_code < 500
