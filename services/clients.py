"""HTTP calls between services, with a hard deadline and a clear "down" signal.

Why a tiny wrapper: every caller must degrade rather than fail when a dependency is slow or
down, so each call returns ``None`` on timeout, connection error, non-2xx or a malformed body,
and the caller records the dependency in its ``degraded`` list.

Why not httpx here: under load its CPU per internal call is a large share of a request's
(a final request makes up to four internal calls) and, after connect timeouts under overload, its
pool kept slots that never came back (every later call failed with PoolTimeout until
restart). The calls
between our own services are plain ``GET``s answered with ``Content-Length`` JSON, so a
small keep-alive HTTP/1.1 client over asyncio streams does the job: one deadline around the
whole exchange, and a connection goes back to the idle list only after a clean, complete
response; on any error or cancellation it is closed, so nothing can leak.

Every call carries the current request's id (``X-Request-ID``, services/observability.py),
and calls to events carry the events API key (services/security.py). Failures are counted
in ``/metrics`` and logged at most once per dependency per ``service_warning_interval_s``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlencode

import orjson

from music_recs.config import Settings
from services.observability import REQUEST_ID, ServiceMetrics, WarningLimiter
from services.security import API_KEY_HEADER, ClientKey

log = logging.getLogger("services.clients")

MAX_IDLE_PER_HOST = 32
MAX_BODY_BYTES = 16 * 1024 * 1024

Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class HttpError(Exception):
    """The dependency answered something this client cannot use."""


class _StaleConnection(Exception):
    """A kept-alive connection was closed by the server before it answered."""


def _close(conn: Conn) -> None:
    try:
        conn[1].close()
    except Exception:  # noqa: BLE001 - closing a broken socket is best effort
        pass


class KeepAliveHttp:
    """Minimal HTTP/1.1 GET client with per-host keep-alive connections (no deadline inside:
    callers wrap calls in ``asyncio.timeout``; a cancelled exchange closes its connection)."""

    def __init__(self, max_idle_per_host: int = MAX_IDLE_PER_HOST) -> None:
        self.max_idle_per_host = max_idle_per_host
        self._idle: dict[tuple[str, int], list[Conn]] = {}

    def close(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                _close(conn)
        self._idle.clear()

    async def get(self, host: str, port: int, target: str, headers: str = "") -> tuple[int, bytes]:
        """Status and body of ``GET target``; raises OSError/HttpError/IncompleteReadError.

        ``headers``: extra header lines, each ending in CRLF."""
        return await self.request("GET", host, port, target, headers)

    async def request(
        self, method: str, host: str, port: int, target: str, headers: str = ""
    ) -> tuple[int, bytes]:
        """``get`` with another bodiless method (e.g. POST with query parameters)."""
        body = "Content-Length: 0\r\n" if method != "GET" else ""
        request = (
            f"{method} {target} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Accept: application/json\r\n{body}{headers}\r\n"
        ).encode("latin-1")
        idle = self._idle.setdefault((host, port), [])
        while idle:  # a reused connection may have been closed by the server meanwhile
            conn = idle.pop()
            try:
                return await self._exchange(conn, request, idle, reused=True)
            except _StaleConnection:
                continue
        conn = await asyncio.open_connection(host, port)
        return await self._exchange(conn, request, idle, reused=False)

    async def _exchange(
        self, conn: Conn, request: bytes, idle: list[Conn], reused: bool
    ) -> tuple[int, bytes]:
        reader, writer = conn
        done = False
        try:
            try:
                writer.write(request)
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
            except (OSError, asyncio.IncompleteReadError) as exc:
                partial = getattr(exc, "partial", b"")
                if reused and not partial:  # closed while idle: not an answer, retry fresh
                    raise _StaleConnection() from exc
                raise
            status, length, keep_alive = _parse_head(head)
            if length is None:  # no Content-Length: read to EOF, never reuse
                body = await reader.read(MAX_BODY_BYTES)
                keep_alive = False
            else:
                body = await reader.readexactly(length)
            done = True
        finally:
            if done and keep_alive and len(idle) < self.max_idle_per_host:
                idle.append(conn)
            else:
                _close(conn)
        return status, body


class ServiceClient:
    """Async JSON client of the sibling services, each call under one deadline."""

    def __init__(self, settings: Settings, metrics: ServiceMetrics | None = None) -> None:
        self.settings = settings
        self.timeout_s = settings.services.timeout_s
        self.metrics = metrics
        self.events_key = ClientKey(settings)
        self._warnings = WarningLimiter(log, settings.services.warning_interval_s)
        self._http = KeepAliveHttp()

    def _failed(self, service: str, reason: str, msg: str, *args: object) -> None:
        if self.metrics is not None:
            self.metrics.dependency_failures.labels(service, reason).inc()
        self._warnings.warn(service, msg, *args)

    def _headers(self, service: str) -> str:
        lines = ""
        rid = REQUEST_ID.get()
        if rid is not None:  # validated by the middleware: [A-Za-z0-9._:-] only
            lines += f"X-Request-ID: {rid}\r\n"
        if service == "events":
            key = self.events_key.get()
            if key is not None and key.isprintable() and "\r" not in key and "\n" not in key:
                lines += f"{API_KEY_HEADER}: {key}\r\n"
        return lines

    async def aclose(self) -> None:
        self._http.close()

    async def get_json(self, service: str, path: str, **params: Any) -> dict[str, Any] | None:
        """GET ``path`` on ``service``; None if it is down, slow, or answers non-2xx."""
        host = self.settings.services.host
        port = self.settings.services.port(service)  # type: ignore[arg-type]
        target = f"{path}?{urlencode(params)}" if params else path
        try:
            async with asyncio.timeout(self.timeout_s):
                status, body = await self._http.get(host, port, target, self._headers(service))
        except (
            TimeoutError,
            OSError,
            HttpError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            _StaleConnection,
        ) as exc:
            reason = "timeout" if isinstance(exc, TimeoutError) else "unreachable"
            self._failed(service, reason, "%s unreachable: %s %s", service, type(exc).__name__, target)
            return None
        if status // 100 != 2:
            if service == "events" and status in (401, 403):
                self.events_key.rejected()
            self._failed(service, f"http_{status}", "%s answered %s for %s", service, status, target)
            return None
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            self._failed(service, "bad_body", "%s answered non-JSON for %s", service, target)
            return None
        return parsed if isinstance(parsed, dict) else None

    async def recent_listens(self, user_id: int, k: int) -> list[int] | None:
        """Track ids of the user's recent online listens, newest first (None if events is down)."""
        body = await self.get_json("events", f"/users/{user_id}/events", k=k)
        if body is None:
            return None
        try:
            return [int(e["track_id"]) for e in body["events"]]
        except (KeyError, TypeError, ValueError):
            self._failed("events", "bad_body", "events answered an unexpected body for user %s", user_id)
            return None


def _parse_head(head: bytes) -> tuple[int, int | None, bool]:
    """Status code, Content-Length (None if absent) and whether the connection stays open."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise HttpError(f"bad status line {lines[0]!r}")
    status = int(parts[1])
    length: int | None = None
    keep_alive = parts[0] == "HTTP/1.1"
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        value = value.strip()
        if name == "content-length":
            if not value.isdigit() or int(value) > MAX_BODY_BYTES:
                raise HttpError(f"bad content-length {value!r}")
            length = int(value)
        elif name == "connection":
            keep_alive = value.lower() == "keep-alive" or (keep_alive and value.lower() != "close")
        elif name == "transfer-encoding" and value.lower() != "identity":
            raise HttpError(f"unsupported transfer-encoding {value!r}")
    return status, length, keep_alive
