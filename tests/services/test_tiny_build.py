"""The four services over the real pipeline's tiny build (dbt + models), checked against it."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import httpx
import pytest
from svc_stack import SERVICES, Stack, service_settings


@pytest.fixture(scope="module")
def tiny_stack(tiny_build, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:  # noqa: ANN001
    root = tmp_path_factory.mktemp("services_tiny")
    settings = service_settings(root, warehouse_path=tiny_build.settings.warehouse_path)
    stack = Stack(settings, root).start(*SERVICES)
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def wh(tiny_build) -> Iterator[duckdb.DuckDBPyConnection]:  # noqa: ANN001
    con = duckdb.connect(str(tiny_build.db_path), read_only=True)
    yield con
    con.close()


def test_warm_user_end_to_end(tiny_stack: Stack, wh: duckdb.DuckDBPyConnection, http: httpx.Client) -> None:
    user = wh.execute("SELECT min(user_id) FROM recs_final").fetchone()[0]
    expected = [
        r[0]
        for r in wh.execute(
            "SELECT track_id FROM recs_final WHERE user_id = ? ORDER BY rank LIMIT 10", [user]
        ).fetchall()
    ]
    offline = http.get(f"{tiny_stack.url('offline')}/users/{user}/recommendations", params={"k": 10}).json()
    assert offline["source"] == "personal"
    assert [i["track_id"] for i in offline["items"]] == expected
    build_id = wh.execute("SELECT value FROM build_info WHERE key = 'build_id'").fetchone()[0]
    assert offline["build_id"] == build_id

    # one online listen of a track with neighbours, then the blend
    track = wh.execute("SELECT min(track_id) FROM similar_tracks").fetchone()[0]
    assert (
        http.post(f"{tiny_stack.url('events')}/put", params={"user_id": user, "track_id": track}).status_code
        == 200
    )
    body = http.get(f"{tiny_stack.url('final')}/users/{user}/recommendations", params={"k": 20}).json()
    got = [i["track_id"] for i in body["items"]]
    heard = {r[0] for r in wh.execute("SELECT track_id FROM events WHERE user_id = ?", [user]).fetchall()}
    assert body["degraded"] == [] and len(got) == 20 and len(set(got)) == 20
    assert not (heard | {track}) & set(got)
    assert {"offline", "online"} <= {i["source"] for i in body["items"]}
    names = dict(
        wh.execute(
            "SELECT track_id, track_name FROM catalog WHERE track_id IN (SELECT unnest(?::BIGINT[]))", [got]
        ).fetchall()
    )
    assert [i["track_name"] for i in body["items"]] == [names[t] for t in got]
    assert all(i["artist_name"] is not None for i in body["items"])


def test_cold_user_and_similar(tiny_stack: Stack, wh: duckdb.DuckDBPyConnection, http: httpx.Client) -> None:
    cold = 1 + wh.execute("SELECT max(user_id) FROM events").fetchone()[0]
    body = http.get(f"{tiny_stack.url('final')}/users/{cold}/recommendations", params={"k": 10}).json()
    popular = [
        r[0] for r in wh.execute("SELECT track_id FROM recs_popular ORDER BY rank LIMIT 10").fetchall()
    ]
    assert [i["track_id"] for i in body["items"]] == popular

    track, n = wh.execute(
        "SELECT track_id, count(*) FROM similar_tracks GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"
    ).fetchone()
    similar = http.get(f"{tiny_stack.url('online')}/tracks/{track}/similar", params={"k": 100}).json()
    expected = [
        r[0]
        for r in wh.execute(
            "SELECT similar_track_id FROM similar_tracks WHERE track_id = ? ORDER BY rank", [track]
        ).fetchall()
    ]
    assert [i["track_id"] for i in similar["items"]] == expected and len(expected) == n


def test_export_folds_into_next_build_format(tiny_stack: Stack, tmp_path) -> None:  # noqa: ANN001
    from services.events.export import export_events

    n = export_events(tiny_stack.settings.events_db, tmp_path / "online.parquet")
    assert n >= 1
    con = duckdb.connect()
    types = dict(
        con.execute(
            f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM '{tmp_path / 'online.parquet'}')"
        ).fetchall()
    )
    assert types == {"user_id": "INTEGER", "track_id": "BIGINT", "started_at": "TIMESTAMP"}


def test_the_build_writes_the_serving_lists_the_services_map(tiny_build) -> None:  # noqa: ANN001
    """The build's ``serving`` step leaves recs_final and heard lists beside the build file,
    equal to the tables (recs_final in rank order)."""
    from music_recs.serving_arrays import open_lists, serving_dir

    build = tiny_build.db_path.resolve()
    recs, heard = (open_lists(serving_dir(build) / name) for name in ("recs_final", "heard"))
    assert recs is not None and heard is not None
    con = duckdb.connect(str(build), read_only=True)
    try:
        rows = con.execute(
            "SELECT user_id, track_id, score FROM recs_final ORDER BY user_id, rank"
        ).fetchall()
        pairs = con.execute("SELECT user_id, track_id FROM events ORDER BY user_id, track_id").fetchall()
    finally:
        con.close()
    users = recs.keys.repeat(recs.offsets[1:] - recs.offsets[:-1])
    assert list(zip(users.tolist(), recs.values.tolist(), recs.scores.tolist())) == rows
    users = heard.keys.repeat(heard.offsets[1:] - heard.offsets[:-1])
    assert sorted(zip(users.tolist(), heard.values.tolist())) == pairs
