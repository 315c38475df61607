"""What every service exposes about itself: Prometheus metrics, a JSON access log, request ids.

Why one pure ASGI middleware: the services are load-tested at 200 req/s on 2 cores, so the
per-request cost must stay at a few microseconds. ``BaseHTTPMiddleware`` runs the app in a
separate task and wraps every message in streams; this middleware only wraps ``send`` (to
read the status and add the ``X-Request-ID`` header) and does its accounting once, after
the response. It also caps request bodies (JSON 413) before any route reads them.

Why ``prometheus_client`` directly (not an instrumentator package): each service is its own
single-worker uvicorn process (no multiprocess mode), the few metrics we need are plain
counters / histograms, and the same middleware already has the route template, status and
duration for the access log, so one pass records both.

Request ids: an incoming ``X-Request-ID`` (up to 128 characters of ``[A-Za-z0-9._:-]``) is
kept, otherwise a new one is made; it is returned in the response header, set in
``request.state.request_id`` and in :data:`REQUEST_ID` (a context variable that
``services.clients`` forwards to the services final calls), and written in the access log.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from music_recs.tables import Columns as C
from music_recs.tables import Tables
from music_recs.warehouse_reader import WarehouseUnavailable

#: The request id of the request being served (``None`` outside a request).
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
REQUEST_ID_HEADER = "X-Request-ID"
_VALID_ID = re.compile(rb"^[A-Za-z0-9._:\-]{1,128}$")
UNMATCHED = "<unmatched>"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

access_log = logging.getLogger("services.access")

# no `<name>_created` series next to every counter / histogram: smaller, cheaper scrapes
disable_created_metrics()


def new_request_id() -> str:
    return os.urandom(12).hex()


class WarningLimiter:
    """At most one warning per key (e.g. a dependency) per ``interval_s``; the next one that
    gets through says how many were suppressed meanwhile."""

    def __init__(self, logger: logging.Logger, interval_s: float) -> None:
        self.logger = logger
        self.interval_s = interval_s
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def warn(self, key: str, msg: str, *args: object) -> bool:
        """Log ``msg % args`` unless ``key`` warned less than ``interval_s`` ago; True if logged."""
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self.interval_s:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return False
        self._last[key] = now
        suppressed = self._suppressed.pop(key, 0)
        if suppressed:
            msg += f" ({suppressed} more like it suppressed in the last {self.interval_s:g} s)"
        self.logger.warning(msg, *args, extra={"data": {"dependency": key, "suppressed": suppressed}})
        return True


class ServiceMetrics:
    """The metrics of one service process, in their own registry (served at ``/metrics``)."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)
        Gauge("music_recs_service_info", "The service this process runs.", ["service"], registry=r).labels(
            service
        ).set(1)
        self.requests = Counter(
            "music_recs_http_requests",
            "HTTP requests answered, by route template and status.",
            ["method", "route", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "music_recs_http_request_duration_seconds",
            "Time from the request's arrival to the end of its response.",
            ["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.degraded = Counter(
            "music_recs_degraded_answers",
            "Answers built without a dependency (one per dependency named in `degraded`).",
            ["dependency"],
            registry=r,
        )
        self.dependency_failures = Counter(
            "music_recs_dependency_failures",
            "Calls to another service that failed (timeout, refused, non-2xx, bad body).",
            ["dependency", "reason"],
            registry=r,
        )
        events = r if service == "events" else None  # only the events process writes
        self.events_written = Counter(
            "music_recs_events_written",
            "Listens the events service was asked to store: stored (new row), replayed "
            "(same Idempotency-Key, no new row) or failed (not stored, 503).",
            ["outcome"],
            registry=events,
        )
        self.events_store_writable = Gauge(
            "music_recs_events_store_writable",
            "1 while the events SQLite accepts writes (0 after a failed write until one works).",
            registry=events,
        )
        self.builds_rejected = Counter(
            "music_recs_warehouse_builds_rejected",
            "Newer published builds that could not be opened (the previous one stays served).",
            registry=r,
        )
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._reader: Callable[[], Any] | None = None

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        pair = self._children.get(key)
        if pair is None:  # labels() takes a lock and builds a tuple: do it once per series
            labels = (method, route, str(status))
            pair = (self.requests.labels(*labels), self.latency.labels(*labels))
            self._children[key] = pair
        pair[0].inc()
        pair[1].observe(seconds)

    def count_degraded(self, degraded: list[str]) -> None:
        for dependency in degraded:
            self.degraded.labels(dependency).inc()

    def watch_reader(self, get_reader: Callable[[], Any]) -> None:
        """Report the served build (id, age, switches) from ``get_reader()`` at scrape time."""
        if self._reader is None:
            self.registry.register(_WarehouseCollector(get_reader))
        self._reader = get_reader

    def render(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


class _WarehouseCollector:
    """Build id / age / switches of the served warehouse, read when scraped (no polling)."""

    def __init__(self, get_reader: Callable[[], Any]) -> None:
        self.get_reader = get_reader

    def describe(self) -> list[Any]:
        return []  # unchecked collector: its series depend on the served build

    def collect(self) -> list[Any]:
        up = GaugeMetricFamily("music_recs_warehouse_up", "1 while a warehouse build is open and served.")
        info = GaugeMetricFamily(
            "music_recs_warehouse_build_info",
            "The served build (value 1, id in the label).",
            labels=["build_id"],
        )
        age = GaugeMetricFamily(
            "music_recs_warehouse_build_age_seconds",
            "Seconds since the served build was made (build_info.built_at, else the file's mtime).",
        )
        switches = CounterMetricFamily(
            "music_recs_warehouse_switches", "Builds switched to since the process started."
        )
        reader = self.get_reader()
        facts = None
        if reader is not None:
            try:
                with reader.session() as wh:
                    facts = (wh.build_id, wh.cache.get("_build_facts") or {})
            except WarehouseUnavailable:
                facts = None
            switches.add_metric([], float(reader.switches))
        up.add_metric([], 1.0 if facts else 0.0)
        out: list[Any] = [up, switches]
        if facts:
            build_id, extra = facts
            info.add_metric([build_id], 1.0)
            built_at = extra.get("built_at")
            if built_at is not None:
                age.add_metric([], max(0.0, time.time() - float(built_at)))
                out.append(age)
            out.append(info)
        return out


class ObservabilityMiddleware:
    """Request id, body cap, metrics and the JSON access log, in one pure ASGI pass."""

    def __init__(
        self, app: ASGIApp, *, metrics: ServiceMetrics, max_body_bytes: int, log_requests: bool
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.log_requests = log_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        incoming = length = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value
            elif name == b"content-length":
                length = value
        rid = incoming.decode("ascii") if incoming and _VALID_ID.match(incoming) else new_request_id()
        state = scope.get("state")
        if state is None:
            state = scope["state"] = {}
        state["request_id"] = rid
        token = REQUEST_ID.set(rid)
        rid_header = (b"x-request-id", rid.encode("ascii"))
        status = 500  # what the client gets if the app raises before answering

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), rid_header]
            await send(message)

        try:
            too_large = False
            if length is not None:
                too_large = not length.isdigit() or int(length) > self.max_body_bytes
            if too_large:
                await _json_error(
                    send_with_id, 413, f"request body larger than {self.max_body_bytes} bytes", rid
                )
            elif length is None and scope["method"] in ("POST", "PUT", "PATCH"):
                await self.app(scope, _capped(receive, self.max_body_bytes), send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)
            seconds = time.perf_counter() - start
            route = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED
            self.metrics.observe(scope["method"], template, status, seconds)
            if self.log_requests and access_log.isEnabledFor(logging.INFO):
                # makeRecord + handle: what .info() does, minus its walk up the (deep) stack
                # to find the caller, which cost more than the rest of the line
                access_log.handle(
                    access_log.makeRecord(
                        access_log.name,
                        logging.INFO,
                        __file__,
                        0,
                        "request",
                        None,
                        None,
                        extra={
                            "data": {
                                "method": scope["method"],
                                "path": scope["path"],
                                "route": template,
                                "status": status,
                                "duration_ms": round(seconds * 1000, 3),
                                "request_id": rid,
                                "service": self.metrics.service,
                            }
                        },
                    )
                )


class BodyTooLarge(HTTPException):
    """A chunked request body went past the cap (answered as a JSON 413 by FastAPI)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes")


def _capped(receive: Receive, limit: int) -> Receive:
    """``receive`` that raises :class:`BodyTooLarge` once more than ``limit`` bytes arrived."""
    seen = 0

    async def capped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
        return message

    return capped


async def _json_error(send: Send, status: int, detail: str, rid: str) -> None:
    import orjson

    body = orjson.dumps({"detail": detail, "request_id": rid})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode("ascii")),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def route_access_log_to_files() -> None:
    """Write access lines only to the JSON-lines file(s) of ``setup_logging`` (not the console:
    at hundreds of requests a second it would drown everything else)."""
    files = [h for h in logging.getLogger().handlers if isinstance(h, logging.FileHandler)]
    access_log.setLevel(logging.INFO)
    if files:
        access_log.handlers = files
        access_log.propagate = False


def build_facts(con: Any) -> dict[str, Any]:
    """Warmer: when the build was made (``build_info.built_at``, else the file's mtime)."""
    from datetime import datetime

    built_at: float | None = None
    try:
        row = con.execute(f"SELECT {C.Value} FROM {Tables.BuildInfo} WHERE {C.Key} = 'built_at'").fetchone()
        if row and row[0]:
            built_at = datetime.fromisoformat(str(row[0])).timestamp()
    except Exception:  # noqa: BLE001 - no build_info / odd value: fall back to the file
        built_at = None
    if built_at is None:
        try:
            path = con.execute(
                "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
            ).fetchone()
            built_at = os.stat(path[0]).st_mtime if path and path[0] else None
        except Exception:  # noqa: BLE001
            built_at = None
    return {"built_at": built_at}


def install(app: FastAPI, service: str, *, max_body_bytes: int, log_requests: bool) -> ServiceMetrics:
    """Add the middleware and ``GET /metrics`` to ``app``; returns its metrics."""
    metrics = ServiceMetrics(service)
    app.state.metrics = metrics
    if log_requests:
        route_access_log_to_files()
    app.add_middleware(
        ObservabilityMiddleware, metrics=metrics, max_body_bytes=max_body_bytes, log_requests=log_requests
    )

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        return metrics.render()

    return metrics
