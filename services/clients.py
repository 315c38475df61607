"""HTTP calls between services, with timeouts and a clear "down" signal.

Why a tiny wrapper: every caller must degrade rather than fail when a dependency is slow or
down, so each call returns ``None`` on timeout, connection error, non-2xx or a malformed body,
and the caller records the dependency in its ``degraded`` list.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from music_recs.config import Settings

log = logging.getLogger("services.clients")


class ServiceClient:
    """Async JSON client of the sibling services (one connection pool per process)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.service_timeout_s),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def get_json(self, service: str, path: str, **params: Any) -> dict[str, Any] | None:
        """GET ``path`` on ``service``; None if it is down, slow, or answers non-2xx."""
        url = f"{self.settings.url(service)}{path}"  # type: ignore[arg-type]
        try:
            resp = await self._http.get(url, params=params)
        except httpx.HTTPError as exc:
            log.warning("%s unreachable: %s %s", service, type(exc).__name__, url)
            return None
        if resp.status_code // 100 != 2:
            log.warning("%s answered %s for %s", service, resp.status_code, url)
            return None
        try:
            body = resp.json()
        except ValueError:
            log.warning("%s answered non-JSON for %s", service, url)
            return None
        return body if isinstance(body, dict) else None

    async def recent_listens(self, user_id: int, k: int) -> list[int] | None:
        """Track ids of the user's recent online listens, newest first (None if events is down)."""
        body = await self.get_json("events", f"/users/{user_id}/events", k=k)
        if body is None:
            return None
        try:
            return [int(e["track_id"]) for e in body["events"]]
        except (KeyError, TypeError, ValueError):
            log.warning("events answered an unexpected body for user %s", user_id)
            return None
