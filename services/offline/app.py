"""Offline recommendations service (8001): precomputed re-ranked lists, popularity otherwise.

A user with a row in ``recs_final`` gets their list (topped up from global popularity if it is
shorter than k). Anyone else is a cold user: popularity, genre-aware when the user's genres
are known from their listens (warehouse ``events`` and the events service's online listens),
global otherwise. If the events service is down, the answer says so (``degraded``).
"""

from __future__ import annotations

from typing import Literal

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from music_recs.cold_start import genre_aware_popular
from music_recs.config import Settings
from music_recs.tables import Tables
from music_recs.warehouse_reader import WarehouseReader
from services import queries
from services.api import (
    MAX_EVENTS_K,
    KQuery,
    Ready,
    ScoredTrack,
    UserIdPath,
    UserIdQuery,
    health_router,
    json_response,
    unavailable_response,
    warehouse_ready,
)
from services.app_base import Client, Reader, service_app
from services.clients import ServiceClient
from services.lookups import (
    TrackMap,
    load_heard,
    load_item_genres,
    load_popular,
    load_popular_genre,
    load_recs_final,
)

SERVICE = "offline"
REQUIRED = (
    Tables.RecsFinal,
    Tables.RecsPopular,
    Tables.RecsPopularGenre,
    Tables.ItemGenres,
    Tables.Events,
    Tables.MapTracks,
)
Source = Literal["personal", "popular_genre", "popular"]


class OfflineItem(ScoredTrack):
    source: Source = Field(description="List this item came from.")


class OfflineRecs(BaseModel):
    user_id: int
    source: Source = Field(description="personal (recs_final), popular_genre or popular.")
    build_id: str
    degraded: list[str] = Field(default_factory=list, description="Dependencies that were down.")
    items: list[OfflineItem]


def _personal(reader: WarehouseReader, user_id: int, k: int) -> OfflineRecs | None:
    with reader.session() as wh:
        recs = queries.personal_recs(wh, user_id, k)
        if not recs:
            return None
        items = _items(recs, "personal")
        if len(recs) < k:  # top up from global popularity
            have = {t for t, _ in recs}
            fill = [(t, s) for t, s in wh.cache["popular"] if t not in have][: k - len(recs)]
            items += _items(fill, "popular", start=len(items) + 1)
        return OfflineRecs(user_id=user_id, source="personal", build_id=wh.build_id, items=items)


def _cold(reader: WarehouseReader, user_id: int, k: int, online: list[int]) -> OfflineRecs:
    with reader.session() as wh:
        heard = queries.heard_tracks(wh, user_id)
        heard.update(wh.cache["track_map"].canonical_many(online))
        preference = queries.genre_preference(wh.cache["item_genres"], sorted(heard))
        recs = genre_aware_popular(wh.cache["popular"], wh.cache["popular_genre"], preference, heard, k)
        source: Source = "popular_genre" if preference else "popular"
        return OfflineRecs(user_id=user_id, source=source, build_id=wh.build_id, items=_items(recs, source))


def _items(recs: list[tuple[int, float]], source: Source, start: int = 1) -> list[OfflineItem]:
    return [
        OfflineItem(track_id=t, score=s, rank=i, source=source) for i, (t, s) in enumerate(recs, start=start)
    ]


async def recommend(reader: WarehouseReader, client: ServiceClient, user_id: int, k: int) -> OfflineRecs:
    """Personal list if the user has one, else (genre-aware) popularity."""
    personal = await run_in_threadpool(_personal, reader, user_id, k)
    if personal is not None:
        return personal
    online = await client.recent_listens(user_id, MAX_EVENTS_K)
    recs = await run_in_threadpool(_cold, reader, user_id, k, online or [])
    if online is None:
        recs.degraded.append("events")
    return recs


def create_app(settings: Settings) -> FastAPI:
    """The offline app; its lifespan opens the warehouse reader and the events client."""

    app = service_app(
        settings,
        service=SERVICE,
        title="music_recs offline",
        description="Precomputed re-ranked recommendations; popularity for cold users.",
        warmers={
            "popular": load_popular,
            "popular_genre": load_popular_genre,
            "track_map": TrackMap.load,
            "item_genres": load_item_genres,
            "recs_final": load_recs_final(settings.services.serving_memory_rows),
            "heard": load_heard(settings.services.serving_memory_rows),
        },
        required_tables=REQUIRED,
    )

    def ready() -> Ready:
        return warehouse_ready(SERVICE, app.state.reader)

    def _answer(recs: OfflineRecs) -> Response:
        if recs.degraded:
            app.state.metrics.count_degraded(recs.degraded)
        return json_response(recs)

    app.include_router(health_router(ready))

    @app.post(
        "/get_recs",
        response_model=OfflineRecs,
        responses=unavailable_response(),
        tags=["recommendations"],
        summary="Offline recs (first published style)",
    )
    async def get_recs(reader: Reader, client: Client, user_id: UserIdQuery, k: KQuery = 10) -> Response:
        return _answer(await recommend(reader, client, user_id, k))

    @app.get(
        "/users/{user_id}/recommendations",
        response_model=OfflineRecs,
        responses=unavailable_response(),
        tags=["recommendations"],
        summary="Offline recs of a user (popularity if cold)",
    )
    async def user_recs(reader: Reader, client: Client, user_id: UserIdPath, k: KQuery = 10) -> Response:
        return _answer(await recommend(reader, client, user_id, k))

    return app
