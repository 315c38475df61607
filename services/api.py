"""What every service shares: parameter types, health models and routes, error handlers.

Why one module: the four services must validate ids and ``k`` the same way (4xx with a clear
message, never a 500) and expose the same health contract, so orchestration and tests can
treat them alike.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from music_recs.warehouse_reader import WarehouseReader, WarehouseUnavailable

log = logging.getLogger("services.api")

MAX_K = 100
MAX_EVENTS_K = 1000
MAX_USER_ID = 2**31 - 1  # user_id is INTEGER in the warehouse
MAX_TRACK_ID = 2**53 - 1  # BIGINT ids, capped to what every JSON client holds exactly

UserIdQuery = Annotated[int, Query(ge=0, le=MAX_USER_ID, description="User id (INTEGER).")]
UserIdPath = Annotated[int, Path(ge=0, le=MAX_USER_ID, description="User id (INTEGER).")]
TrackIdQuery = Annotated[int, Query(ge=0, le=MAX_TRACK_ID, description="Track id (BIGINT).")]
TrackIdPath = Annotated[int, Path(ge=0, le=MAX_TRACK_ID, description="Track id (BIGINT).")]
KQuery = Annotated[int, Query(ge=1, le=MAX_K, description=f"How many items, 1..{MAX_K}.")]
EventsKQuery = Annotated[
    int, Query(ge=1, le=MAX_EVENTS_K, description=f"How many recent listens, 1..{MAX_EVENTS_K}.")
]


class Live(BaseModel):
    status: str = Field("ok", description="Always 'ok' while the process answers.")


class Ready(BaseModel):
    ready: bool
    service: str
    build_id: str | None = Field(None, description="Warehouse build currently served.")
    checks: dict[str, Any] = Field(default_factory=dict, description="Per-resource facts.")


class ErrorBody(BaseModel):
    detail: str


class ScoredTrack(BaseModel):
    track_id: int
    score: float
    rank: int = Field(ge=1)


ReadyCheck = Callable[[], Ready] | Callable[[], Awaitable[Ready]]


def health_router(ready_check: ReadyCheck) -> APIRouter:
    """``/health/live`` (process up) and ``/health/ready`` (200 if serving, else 503)."""
    router = APIRouter(prefix="/health", tags=["health"])

    @router.get("/live", response_model=Live)
    def live() -> Live:
        return Live()

    @router.get(
        "/ready",
        response_model=Ready,
        responses={503: {"model": Ready, "description": "Not ready: see checks."}},
    )
    async def ready() -> JSONResponse:
        # sync checks touch DuckDB/SQLite: keep them off the event loop
        if inspect.iscoroutinefunction(ready_check):
            body = await ready_check()
        else:
            body = await run_in_threadpool(ready_check)
        return JSONResponse(body.model_dump(), status_code=200 if body.ready else 503)

    return router


def warehouse_ready(service: str, reader: WarehouseReader) -> Ready:
    """Readiness of a service whose only resource is the warehouse."""
    facts = reader.check()
    return Ready(
        ready=facts["ok"], service=service, build_id=facts.get("build_id"), checks={"warehouse": facts}
    )


def json_response(model: BaseModel, status_code: int = 200) -> Response:
    """Serialize a response model once, in Rust (pydantic), skipping FastAPI's re-validation.

    Routes still declare ``response_model`` for the OpenAPI schema; returning a ``Response``
    saves the re-validation pass (and, for sync routes, a second threadpool hop) per request.
    """
    return Response(model.model_dump_json(), status_code=status_code, media_type="application/json")


def install_error_handlers(app: FastAPI) -> None:
    """Warehouse missing → 503 with the reason; anything unexpected → logged JSON 500 with
    the request id (never the plain-text 500 of the server)."""

    @app.exception_handler(WarehouseUnavailable)
    async def _unavailable(_: Request, exc: WarehouseUnavailable) -> JSONResponse:
        return JSONResponse({"detail": f"warehouse unavailable: {exc}"}, status_code=503)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        # Starlette's ServerErrorMiddleware sends this answer, then re-raises so uvicorn logs
        # the traceback; this line ties it to the request id the client saw
        rid = getattr(request.state, "request_id", None)
        log.error(
            "unhandled %s on %s %s (request id %s)",
            type(exc).__name__,
            request.method,
            request.url.path,
            rid,
            extra={"data": {"request_id": rid}},
        )
        return JSONResponse(
            {"detail": "internal server error", "request_id": rid},
            status_code=500,
            headers={"X-Request-ID": rid} if rid else None,
        )


def unavailable_response() -> dict[int | str, dict[str, Any]]:
    """OpenAPI entry for the 503 every warehouse-backed route may return."""
    return {503: {"model": ErrorBody, "description": "Warehouse unavailable."}}
