"""Final recommendations service (8000): blends offline and online lists for a user.

Calls offline and online concurrently over HTTP (timeout ``service_timeout_s``; the events
service only when online is down, since online's answer carries the user's listens),
interleaves the two lists, drops what the user already heard (warehouse ``events`` plus online
listens), fills to k from popularity and then the catalog, and names every track from
``catalog``. A dependency that is down or slow is listed in ``degraded`` and the answer is
built from what is left (popularity from this service's own warehouse reader at worst).
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from music_recs.config import Settings
from music_recs.tables import Tables
from music_recs.warehouse_reader import WarehouseReader
from services import queries
from services.api import (
    MAX_EVENTS_K,
    MAX_K,
    KQuery,
    Ready,
    UserIdPath,
    UserIdQuery,
    health_router,
    json_response,
    unavailable_response,
)
from services.app_base import Client, Reader, service_app
from services.clients import ServiceClient
from services.final.blend import blend
from services.lookups import CatalogIndex, TrackMap, load_heard, load_popular

SERVICE = "final"
REQUIRED = (Tables.Catalog, Tables.Events, Tables.RecsPopular, Tables.MapTracks)
DEPENDENCIES = ("offline", "online", "events")
Source = Literal["offline", "online", "popular", "catalog"]


class RecItem(BaseModel):
    rank: int = Field(ge=1)
    track_id: int
    track_name: str | None = None
    artist_name: str | None = None
    album_name: str | None = None
    genre_name: str | None = None
    source: Source = Field(description="List the track came from.")


class FinalRecs(BaseModel):
    user_id: int
    build_id: str
    offline_source: str | None = Field(
        description="What the offline service answered from (personal, popular_genre, popular)."
    )
    degraded: list[str] = Field(default_factory=list, description="Dependencies that were down.")
    items: list[RecItem]


def _labeled(body: dict[str, Any] | None, label: str) -> list[tuple[int, str]]:
    """(track_id, label) pairs of a sibling's answer; offline items keep their own source."""
    if body is None:
        return []
    out = []
    try:
        for item in body.get("items", []):
            source = item.get("source", "personal")
            out.append((int(item["track_id"]), label if source == "personal" else "popular"))
    except (AttributeError, KeyError, TypeError, ValueError):
        return []
    return out


def _assemble(
    reader: WarehouseReader,
    user_id: int,
    k: int,
    offline: dict[str, Any] | None,
    online: dict[str, Any] | None,
    listens: list[int],
    degraded: list[str],
) -> FinalRecs:
    offline_source = offline.get("source") if offline else None
    offline_items, online_items = _labeled(offline, "offline"), _labeled(online, "online")
    with reader.session() as wh:
        heard = queries.heard_tracks(wh, user_id)
        heard.update(wh.cache["track_map"].canonical_many(listens))
        if offline_source == "personal" or not online_items:
            first, second = offline_items, online_items
        else:  # cold in the warehouse but active online: what they play now leads
            first, second = online_items, offline_items
        popular = ((t, "popular") for t, _ in wh.cache["popular"])
        chosen = blend(first, second, popular, heard, k)
        if len(chosen) < k:
            taken = heard | {t for t, _ in chosen}
            chosen += [(t, "catalog") for t in queries.catalog_fill(wh.cursor, taken, k - len(chosen))]
        names = wh.cache["catalog"].lookup([t for t, _ in chosen])
        items = [
            RecItem(
                rank=rank,
                track_id=track_id,
                source=source,  # type: ignore[arg-type]
                **names.get(track_id, {}),
            )
            for rank, (track_id, source) in enumerate(chosen, start=1)
        ]
        return FinalRecs(
            user_id=user_id,
            build_id=wh.build_id,
            offline_source=offline_source,
            degraded=degraded,
            items=items,
        )


async def recommend(reader: WarehouseReader, client: ServiceClient, user_id: int, k: int) -> FinalRecs:
    """Ask offline and online at once, then blend in a worker thread.

    The online answer carries the user's online listens (``listened``), so the events
    service is asked directly only when online is down.
    """
    pool = candidate_pool(k)
    offline, online = await asyncio.gather(
        client.get_json("offline", f"/users/{user_id}/recommendations", k=pool),
        client.get_json("online", f"/users/{user_id}/recommendations", k=pool),
    )
    degraded: set[str] = set()
    for name, body in (("offline", offline), ("online", online)):
        if body is None:
            degraded.add(name)
        else:
            degraded.update(str(d) for d in body.get("degraded", []))
    listens: list[int] | None = None
    if online is not None and "events" not in online.get("degraded", []):
        listens = _listened(online)
    elif online is None:  # online down: ask the events service ourselves
        listens = await client.recent_listens(user_id, MAX_EVENTS_K)
    if listens is None:
        degraded.add("events")
    return await run_in_threadpool(
        _assemble, reader, user_id, k, offline, online, listens or [], sorted(degraded)
    )


def candidate_pool(k: int) -> int:
    """Items asked from each list: room for dedup and heard removal without paying for 100."""
    return min(MAX_K, 2 * k + 20)


def _listened(online: dict[str, Any]) -> list[int] | None:
    try:
        return [int(t) for t in online["listened"]]
    except (KeyError, TypeError, ValueError):
        return None


def create_app(settings: Settings) -> FastAPI:
    """The final app; its lifespan opens the warehouse reader and the HTTP client."""

    app = service_app(
        settings,
        service=SERVICE,
        title="music_recs final",
        description="Blended offline + online recommendations with track names; degrades "
        "to offline + popularity when a dependency is down.",
        warmers={
            "popular": load_popular,
            "track_map": TrackMap.load,
            "catalog": CatalogIndex.load,
            "heard": load_heard(settings.services.serving_memory_rows),
        },
        required_tables=REQUIRED,
    )

    async def ready() -> Ready:
        """Ready when the own warehouse is readable (dependencies only degrade answers)."""
        facts = await run_in_threadpool(app.state.reader.check)
        deps = await asyncio.gather(*(_dependency(app.state.client, d) for d in DEPENDENCIES))
        checks: dict[str, Any] = {"warehouse": facts, **dict(zip(DEPENDENCIES, deps))}
        return Ready(ready=facts["ok"], service=SERVICE, build_id=facts.get("build_id"), checks=checks)

    app.include_router(health_router(ready))

    def _answer(recs: FinalRecs) -> Response:
        if recs.degraded:  # one count per missing dependency (/metrics)
            app.state.metrics.count_degraded(recs.degraded)
        return json_response(recs)

    @app.post(
        "/recommendations",
        response_model=FinalRecs,
        responses=unavailable_response(),
        tags=["recommendations"],
        summary="Final recs (first published style)",
    )
    async def recommendations(
        reader: Reader, client: Client, user_id: UserIdQuery, k: KQuery = 10
    ) -> Response:
        return _answer(await recommend(reader, client, user_id, k))

    @app.get(
        "/users/{user_id}/recommendations",
        response_model=FinalRecs,
        responses=unavailable_response(),
        tags=["recommendations"],
        summary="Final blended recommendations of a user",
    )
    async def user_recs(reader: Reader, client: Client, user_id: UserIdPath, k: KQuery = 10) -> Response:
        return _answer(await recommend(reader, client, user_id, k))

    return app


async def _dependency(client: ServiceClient, service: str) -> dict[str, Any]:
    body = await client.get_json(service, "/health/ready")
    if body is None:
        return {"ok": False, "url": client.settings.url(service)}  # type: ignore[arg-type]
    return {"ok": bool(body.get("ready")), "build_id": body.get("build_id")}
