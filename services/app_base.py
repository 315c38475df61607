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
from services.api import install_error_handlers
from services.clients import ServiceClient

#: Opens a service's own extra resource (e.g. the events store) on ``app.state``; the
#: returned context manager closes it at shutdown.
ExtraResource = Callable[[FastAPI], AbstractContextManager[Any]]


def service_app(settings: Settings, *, title: str, description: str,
                warmers: Mapping[str, Callable[..., Any]], required_tables: tuple[str, ...],
                with_client: bool = True, extra: ExtraResource | None = None) -> FastAPI:
    """A FastAPI app whose lifespan opens ``extra``, the warehouse reader and the client.

    ``app.state.reader`` serves the published warehouse (``warmers`` are loaded per build);
    ``app.state.client`` calls the other services when ``with_client``.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with extra(app) if extra is not None else nullcontext():
            app.state.reader = WarehouseReader(
                settings.warehouse_path,
                settings.warehouse_check_interval_s,
                warmers=dict(warmers),
                required_tables=required_tables,
            ).start()
            app.state.client = ServiceClient(settings) if with_client else None
            try:
                yield
            finally:
                if app.state.client is not None:
                    await app.state.client.aclose()
                app.state.reader.close()

    app = FastAPI(title=title, description=description, version="1.0", lifespan=lifespan)
    install_error_handlers(app)
    return app


def get_reader(request: Request) -> WarehouseReader:
    return request.app.state.reader


def get_client(request: Request) -> ServiceClient:
    return request.app.state.client


Reader = Annotated[WarehouseReader, Depends(get_reader)]
Client = Annotated[ServiceClient, Depends(get_client)]
