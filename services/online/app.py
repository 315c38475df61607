"""Online recommendations service (8003): tracks similar to a track or to recent listens.

``similar_tracks`` is loaded into memory keyed by track id when a build is opened (a binary
search per request instead of a scan; see services/lookups.py). For a user, the lists of
their most recent online listens are merged (newer listens weigh more), deduplicated, and
tracks the user already heard (online or in the warehouse ``events``) are removed.
"""

from __future__ import annotations

from fastapi import FastAPI, HTTPException
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from music_recs.config import Settings
from music_recs.tables import Tables
from music_recs.warehouse_reader import WarehouseReader
from services import queries
from services.api import (
    MAX_EVENTS_K,
    ErrorBody,
    KQuery,
    Ready,
    ScoredTrack,
    TrackIdPath,
    TrackIdQuery,
    UserIdPath,
    health_router,
    json_response,
    unavailable_response,
    warehouse_ready,
)
from services.app_base import Client, Reader, service_app
from services.lookups import KeyedLists, TrackMap, load_heard, load_similar

SERVICE = "online"
REQUIRED = (Tables.SimilarTracks, Tables.MapTracks, Tables.Events)
RECENCY_DECAY = 0.9  # weight of the i-th most recent listen: RECENCY_DECAY ** i


class SimilarTracks(BaseModel):
    track_id: int = Field(description="The track asked for (raw or canonical id).")
    canonical_track_id: int
    build_id: str
    items: list[ScoredTrack]


class OnlineRecs(BaseModel):
    user_id: int
    build_id: str
    based_on: list[int] = Field(description="Canonical ids of the recent listens used, newest first.")
    listened: list[int] = Field(
        default_factory=list,
        description="Canonical ids of all the user's online listens seen (excluded from items); "
        "the final service reuses them instead of asking the events service again.",
    )
    degraded: list[str] = Field(default_factory=list, description="Dependencies that were down.")
    items: list[ScoredTrack]


def merge_similar(
    similar: KeyedLists, recent: list[int], exclude: set[int], k: int
) -> list[tuple[int, float]]:
    """Sum of similarity weighted by recency over the recent listens; top k, ties by id."""
    scores: dict[int, float] = {}
    for i, track_id in enumerate(recent):
        weight = RECENCY_DECAY**i
        for other, score in similar.get(track_id):
            if other not in exclude:
                scores[other] = scores.get(other, 0.0) + weight * score
    return sorted(scores.items(), key=lambda ts: (-ts[1], ts[0]))[:k]


def _similar(reader: WarehouseReader, track_id: int, k: int) -> SimilarTracks:
    with reader.session() as wh:
        canonical = wh.cache["track_map"].canonical(track_id)
        if canonical is None:
            raise HTTPException(404, f"track {track_id} is not in the catalog")
        items = wh.cache["similar"].get(canonical, limit=k)
        return SimilarTracks(
            track_id=track_id,
            canonical_track_id=canonical,
            build_id=wh.build_id,
            items=[ScoredTrack(track_id=t, score=s, rank=i) for i, (t, s) in enumerate(items, start=1)],
        )


def _for_user(reader: WarehouseReader, user_id: int, k: int, online: list[int], n_recent: int) -> OnlineRecs:
    with reader.session() as wh:
        canonical = wh.cache["track_map"].canonical_many(online)
        recent = list(dict.fromkeys(canonical))[:n_recent]
        exclude = set(canonical) | (queries.heard_tracks(wh, user_id) if recent else set())
        merged = merge_similar(wh.cache["similar"], recent, exclude, k)
        return OnlineRecs(
            user_id=user_id,
            build_id=wh.build_id,
            based_on=recent,
            listened=list(dict.fromkeys(canonical)),
            items=[ScoredTrack(track_id=t, score=s, rank=i) for i, (t, s) in enumerate(merged, start=1)],
        )


def create_app(settings: Settings) -> FastAPI:
    """The online app; its lifespan loads similarity lists and opens the events client."""

    app = service_app(
        settings,
        service=SERVICE,
        title="music_recs online",
        description="Similar tracks for a track and for a user's recent listens.",
        warmers={
            "similar": load_similar,
            "track_map": TrackMap.load,
            "heard": load_heard(settings.services.serving_memory_rows),
        },
        required_tables=REQUIRED,
    )

    def ready() -> Ready:
        return warehouse_ready(SERVICE, app.state.reader)

    app.include_router(health_router(ready))
    responses = {404: {"model": ErrorBody, "description": "Unknown track."}, **unavailable_response()}

    @app.post(
        "/similar_tracks",
        response_model=SimilarTracks,
        responses=responses,
        tags=["similar"],
        summary="Similar tracks (first published style)",
    )
    def similar_tracks(reader: Reader, track_id: TrackIdQuery, k: KQuery = 10) -> Response:
        return json_response(_similar(reader, track_id, k))

    @app.get(
        "/tracks/{track_id}/similar",
        response_model=SimilarTracks,
        responses=responses,
        tags=["similar"],
        summary="Tracks similar to a track",
    )
    def track_similar(reader: Reader, track_id: TrackIdPath, k: KQuery = 10) -> Response:
        return json_response(_similar(reader, track_id, k))

    @app.get(
        "/users/{user_id}/recommendations",
        response_model=OnlineRecs,
        responses=unavailable_response(),
        tags=["similar"],
        summary="Tracks similar to a user's recent listens (heard ones removed)",
    )
    async def user_recs(reader: Reader, client: Client, user_id: UserIdPath, k: KQuery = 10) -> Response:
        online = await client.recent_listens(user_id, MAX_EVENTS_K)
        recs = await run_in_threadpool(
            _for_user, reader, user_id, k, online or [], settings.services.online_recent_listens
        )
        if online is None:
            recs.degraded.append("events")
            app.state.metrics.count_degraded(recs.degraded)
        return json_response(recs)

    return app
