"""Events service (8002): records listens durably and returns a user's recent listens.

Owns the SQLite file ``settings.events_db``. Track ids are checked against the warehouse's
``map_tracks`` (raw or canonical ids are both accepted, as clients may send either); when no
warehouse is published yet, listens are still recorded, since losing them would be worse.

Every events route needs an API key (``X-API-Key``, services/security.py). Writes accept an
``Idempotency-Key``: a retry with the same key stores no second row and gets the first
answer. A write that cannot be stored is a JSON 503 with ``Retry-After`` and readiness stays
false until a write works again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field

from music_recs.config import Settings
from music_recs.tables import Tables
from music_recs.warehouse_reader import WarehouseReader, WarehouseUnavailable
from services.api import (
    MAX_TRACK_ID,
    ErrorBody,
    EventsKQuery,
    Ready,
    TrackIdQuery,
    UserIdPath,
    UserIdQuery,
    health_router,
    json_response,
)
from services.app_base import Reader, service_app
from services.events.store import Event, EventStore, IdempotencyConflict, StoreUnavailable
from services.lookups import TrackMap
from services.observability import ServiceMetrics
from services.security import KEY_RESPONSES, require_api_key, server_keys

SERVICE = "events"
REQUIRED = (Tables.MapTracks,)
RETRY_AFTER_S = 1
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Optional client key of this write: a retry with the same key stores "
        "no second row and gets the first answer (409 if it named another user or track).",
    ),
]
YEAR_PATTERN = "^(19[7-9][0-9]|20[0-9][0-9])-"  # years 1970..2099, as documented in the schema


def _check_year(ts: datetime) -> datetime:
    """A typo'd year is a client error (422), not a 500 when converting or exporting."""
    if not 1970 <= ts.year <= 2099:
        raise ValueError("started_at must be in the years 1970..2099")
    return ts


def _require_text(value: object) -> object:
    """Only ISO 8601 text (or a datetime): numbers are not silently read as epoch seconds."""
    if not isinstance(value, (str, datetime)):
        raise ValueError("started_at must be an ISO 8601 string")
    return value


StartedAt = Annotated[
    datetime,
    BeforeValidator(_require_text),
    AfterValidator(_check_year),
    Field(
        description="When the listen started: ISO 8601 (years 1970..2099); naive times are UTC.",
        json_schema_extra={"pattern": YEAR_PATTERN},
    ),
]


class ListenIn(BaseModel):
    track_id: int = Field(ge=0, le=MAX_TRACK_ID, description="Track listened to (BIGINT).")
    started_at: StartedAt | None = None


class EventOut(BaseModel):
    id: int
    user_id: int
    track_id: int
    started_at: datetime


class EventsOut(BaseModel):
    user_id: int
    events: list[EventOut] = Field(description="Newest first.")


def _out(e: Event) -> EventOut:
    return EventOut(id=e.id, user_id=e.user_id, track_id=e.track_id, started_at=e.started_at)


def _recent(store: EventStore, user_id: int, k: int) -> EventsOut:
    return EventsOut(user_id=user_id, events=[_out(e) for e in store.recent(user_id, k)])


def get_store(request: Request) -> EventStore:
    return request.app.state.store


Store = Annotated[EventStore, Depends(get_store)]


@contextmanager
def _open_store(app: FastAPI, settings: Settings) -> Iterator[EventStore]:
    """The SQLite store lives as long as the app (opened before the warehouse reader)."""
    app.state.store = EventStore(settings.events_db)
    app.state.metrics.events_store_writable.set(1)
    try:
        yield app.state.store
    finally:
        app.state.store.close()


def _record(
    store: EventStore,
    reader: WarehouseReader,
    metrics: ServiceMetrics,
    user_id: int,
    track_id: int,
    started_at: datetime | None,
    idempotency_key: str | None,
    status: int,
) -> Response:
    try:
        with reader.session() as wh:
            if wh.cache["track_map"].canonical(track_id) is None:
                raise HTTPException(404, f"track {track_id} is not in the catalog")
    except WarehouseUnavailable:
        pass  # no warehouse yet: record anyway, the next build maps or drops unknown ids
    ts = started_at if started_at is not None else datetime.now(UTC)
    try:
        event, stored = store.add_once(user_id, track_id, ts, idempotency_key)
    except StoreUnavailable:
        metrics.events_written.labels("failed").inc()
        metrics.events_store_writable.set(0)
        raise
    except IdempotencyConflict as exc:
        raise HTTPException(409, str(exc)) from None
    metrics.events_written.labels("stored" if stored else "replayed").inc()
    metrics.events_store_writable.set(1)
    response = json_response(_out(event), status)
    if not stored:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def create_app(settings: Settings) -> FastAPI:
    """The events app; its lifespan opens the SQLite store and the warehouse reader."""

    app = service_app(
        settings,
        service=SERVICE,
        title="music_recs events",
        description="Records listens durably (SQLite, WAL, synchronous=FULL); recent listens.",
        warmers={"track_map": TrackMap.load},
        required_tables=REQUIRED,
        with_client=False,
        extra=lambda app: _open_store(app, settings),
    )

    metrics: ServiceMetrics = app.state.metrics
    app.state.api_keys = tuple(k.encode("utf-8", "surrogateescape") for k in server_keys(settings))

    @app.exception_handler(StoreUnavailable)
    async def _store_unavailable(request: Request, exc: StoreUnavailable) -> JSONResponse:
        return JSONResponse(
            {"detail": f"events store unavailable: {exc}", "retry_after_s": RETRY_AFTER_S},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )

    def ready() -> Ready:
        store_facts = app.state.store.check()
        metrics.events_store_writable.set(1 if store_facts.get("writable") else 0)
        wh = app.state.reader.check()
        return Ready(
            ready=bool(store_facts["ok"]),
            service=SERVICE,
            build_id=wh.get("build_id"),
            checks={"events_db": store_facts, "warehouse": wh},
        )

    app.include_router(health_router(ready))
    store_down = {
        503: {"model": ErrorBody, "description": "The events file cannot be used now (Retry-After)."}
    }
    common = {**KEY_RESPONSES, **store_down}
    writes = {
        **common,
        404: {"model": ErrorBody, "description": "Unknown track."},
        409: {"model": ErrorBody, "description": "Idempotency-Key used for another listen."},
    }
    protected = [Depends(require_api_key)]

    @app.post(
        "/put",
        response_model=EventOut,
        responses=writes,
        tags=["events"],
        dependencies=protected,
        summary="Record a listen (query parameters, first published style)",
    )
    def put(
        store: Store,
        reader: Reader,
        user_id: UserIdQuery,
        track_id: TrackIdQuery,
        started_at: Annotated[StartedAt | None, Query()] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response:
        return _record(store, reader, metrics, user_id, track_id, started_at, idempotency_key, 200)

    @app.post(
        "/get",
        response_model=EventsOut,
        responses=common,
        tags=["events"],
        dependencies=protected,
        summary="A user's recent listens, newest first (first published style)",
    )
    def get(store: Store, user_id: UserIdQuery, k: EventsKQuery = 10) -> Response:
        return json_response(_recent(store, user_id, k))

    @app.post(
        "/users/{user_id}/events",
        response_model=EventOut,
        status_code=201,
        responses=writes,
        tags=["events"],
        dependencies=protected,
        summary="Record a listen",
    )
    def post_event(
        store: Store,
        reader: Reader,
        user_id: UserIdPath,
        body: ListenIn,
        idempotency_key: IdempotencyKey = None,
    ) -> Response:
        return _record(store, reader, metrics, user_id, body.track_id, body.started_at, idempotency_key, 201)

    @app.get(
        "/users/{user_id}/events",
        response_model=EventsOut,
        responses=common,
        tags=["events"],
        dependencies=protected,
        summary="A user's recent listens, newest first",
    )
    def list_events(store: Store, user_id: UserIdPath, k: EventsKQuery = 10) -> Response:
        return json_response(_recent(store, user_id, k))

    return app
