"""API keys of the events routes: which keys the events service accepts, which one callers send.

Keys come from settings (``MUSIC_RECS_EVENTS_API_KEYS``, comma-separated); none is ever in
the repository. With no key configured the events service does not run open: it uses the
key kept in ``events_api_key_file`` (default ``api_key`` next to ``events_db``, mode 0600),
generating a random one there on first start and logging a warning with the file's path.
The other services (same machine, same settings) read that file when they have no key of
their own, so ``make serve`` works for a new user with no configuration.

A missing key is a 401, a wrong one a 403, both JSON ``{"detail": ...}``.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
from pathlib import Path
from typing import Annotated

from fastapi import HTTPException, Request, Security
from fastapi.security import APIKeyHeader

from music_recs.config import Settings

log = logging.getLogger("services.security")

API_KEY_HEADER = "X-API-Key"
api_key_header = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    scheme_name="EventsApiKey",
    description="Key of the events routes (MUSIC_RECS_EVENTS_API_KEYS).",
)
KEY_RESPONSES: dict[int | str, dict[str, object]] = {
    401: {"description": "No X-API-Key header."},
    403: {"description": "Wrong X-API-Key."},
}


def key_file(settings: Settings) -> Path:
    return settings.events.api_key_file or Path(settings.events_db).parent / "api_key"


def configured_keys(settings: Settings) -> list[str]:
    raw = settings.events.api_keys.get_secret_value()
    return [k.strip() for k in raw.split(",") if k.strip()]


def _read_key_file(path: Path) -> str | None:
    try:
        key = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return key or None


def server_keys(settings: Settings) -> list[str]:
    """Keys the events service accepts: the configured ones, else the (generated) key file."""
    keys = configured_keys(settings)
    if keys:
        return keys
    path = key_file(settings)
    key = _read_key_file(path)
    if key is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(secrets.token_urlsafe(32) + "\n")
        os.replace(tmp, path)
        key = _read_key_file(path)
        assert key is not None
        log.warning(
            "MUSIC_RECS_EVENTS_API_KEYS is not set: generated a random events API key "
            "in %s (send it as %s; set MUSIC_RECS_EVENTS_API_KEYS in production)",
            path,
            API_KEY_HEADER,
        )
    else:
        log.warning("MUSIC_RECS_EVENTS_API_KEYS is not set: the events routes accept the key in %s", path)
    return [key]


class ClientKey:
    """The key final/offline/online send to events (re-read from the key file when rejected)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        explicit = settings.events.api_key.get_secret_value().strip()
        configured = configured_keys(settings)
        self._fixed = explicit or (configured[0] if configured else None)
        self._cached: str | None = None

    def get(self) -> str | None:
        if self._fixed:
            return self._fixed
        if self._cached is None:
            self._cached = _read_key_file(key_file(self.settings))
        return self._cached

    def rejected(self) -> None:
        """Events answered 401/403: the key file may have been regenerated; read it again."""
        self._cached = None


async def require_api_key(request: Request, key: Annotated[str | None, Security(api_key_header)]) -> None:
    """Dependency of the protected routes: 401 without a key, 403 with a wrong one."""
    if not key:
        raise HTTPException(
            401,
            f"missing API key: send it in the {API_KEY_HEADER} header",
            headers={"WWW-Authenticate": "ApiKey"},
        )
    given = key.encode("utf-8", "surrogateescape")
    if not any(hmac.compare_digest(given, k) for k in request.app.state.api_keys):
        raise HTTPException(403, "wrong API key")
