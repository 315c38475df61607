"""The scaffolding every service app shares: its lifespan resources and its dependencies.

Why one place: each service opens the same swap-aware warehouse reader (with its own
in-memory lookups) and most hold the same keep-alive client to the other services; opening
and closing them in one lifespan keeps the order and the shutdown identical everywhere.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractContextManager, asynccontextmanager, nullcontext
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request

from music_recs.config import Settings
from music_recs.warehouse_reader import WarehouseReader
from services import observability
from services.api import install_error_handlers
from services.clients import ServiceClient

#: Opens a service's own extra resource (e.g. the events store) on ``app.state``; the
#: returned context manager closes it at shutdown.
ExtraResource = Callable[[FastAPI], AbstractContextManager[Any]]


class ObservedReader(WarehouseReader):
    """The warehouse reader, counting newer builds it had to reject (for ``/metrics``)."""

    def __init__(self, *args: Any, on_rejected: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_rejected = on_rejected

    def refresh(self) -> bool:
        before = getattr(self, "_rejected", None)
        switched = super().refresh()
        after = getattr(self, "_rejected", None)
        if not switched and after is not None and after != before:
            self._on_rejected()  # a new target failed to open (each target is tried once)
        return switched


def service_app(
    settings: Settings,
    *,
    service: str,
    title: str,
    description: str,
    warmers: Mapping[str, Callable[..., Any]],
    required_tables: tuple[str, ...],
    with_client: bool = True,
    extra: ExtraResource | None = None,
) -> FastAPI:
    """A FastAPI app whose lifespan opens ``extra``, the warehouse reader and the client.

    ``app.state.reader`` serves the published warehouse (``warmers`` are loaded per build);
    ``app.state.client`` calls the other services when ``with_client``;
    ``app.state.metrics`` are served at ``GET /metrics`` (services/observability.py).
    """
    metrics: observability.ServiceMetrics

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with extra(app) if extra is not None else nullcontext():
            app.state.reader = ObservedReader(
                settings.warehouse_path,
                settings.services.warehouse_check_interval_s,
                warmers={**warmers, "_build_facts": observability.build_facts},
                required_tables=required_tables,
                on_rejected=metrics.builds_rejected.inc,
            ).start()
            app.state.client = ServiceClient(settings, metrics) if with_client else None
            try:
                yield
            finally:
                if app.state.client is not None:
                    await app.state.client.aclose()
                app.state.reader.close()

    app = FastAPI(title=title, description=description, version="1.0", lifespan=lifespan)
    app.state.reader = None
    install_error_handlers(app)
    metrics = observability.install(
        app,
        service,
        max_body_bytes=settings.services.max_body_bytes,
        log_requests=settings.services.access_log,
    )
    metrics.watch_reader(lambda: app.state.reader)
    return app


def get_reader(request: Request) -> WarehouseReader:
    return request.app.state.reader


def get_client(request: Request) -> ServiceClient:
    return request.app.state.client


Reader = Annotated[WarehouseReader, Depends(get_reader)]
Client = Annotated[ServiceClient, Depends(get_client)]
