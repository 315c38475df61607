"""Start the services: ``python -m services.run`` (all four) or ``python -m services.run offline``.

All four run as separate processes (one uvicorn each, on ``settings.services.host`` and the
per-service port), supervised by supervisord (services/supervise.py): a service that dies is
restarted alone, with back-off if it keeps dying, while the other three keep answering;
Ctrl-C / SIGTERM stops them all gracefully (uvicorn drains the requests in flight).
``python -m services.run ctl status`` (any supervisorctl command) talks to the supervisor.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import threading
import time

from fastapi import FastAPI

from music_recs.config import Settings, get_settings
from music_recs.logs import setup_logging

SERVICES = ("events", "offline", "online", "final")  # start order: dependencies first


def create_app(name: str, settings: Settings) -> FastAPI:
    """The app of one service (imported lazily: a process loads only its own code)."""
    if name not in SERVICES:
        raise ValueError(f"unknown service {name!r}; choose one of {', '.join(SERVICES)}")
    module = importlib.import_module(f"services.{name}.app")
    return module.create_app(settings)


def stop_with_supervisor(log: logging.Logger, interval_s: float = 1.0) -> threading.Thread | None:
    """Under supervisord: shut down gracefully (SIGTERM to ourselves) if it dies.

    Services run in their own process groups, so a supervisor killed with ``kill -9`` would
    otherwise leave them running and holding their ports. Outside supervisord (a service
    started alone) nothing is watched.
    """
    if not os.environ.get("SUPERVISOR_ENABLED"):
        return None
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval_s)
        log.warning("supervisor (pid %s) is gone; shutting down", parent)
        os.kill(os.getpid(), signal.SIGTERM)  # uvicorn's graceful shutdown

    thread = threading.Thread(target=watch, name="supervisor-watch", daemon=True)
    thread.start()
    return thread


def serve_one(name: str, settings: Settings) -> None:
    import uvicorn

    log = setup_logging(f"service-{name}")
    port = settings.services.port(name)  # type: ignore[arg-type]
    log.info("starting %s on %s:%s", name, settings.services.host, port)
    stop_with_supervisor(log)
    uvicorn.run(
        create_app(name, settings),
        host=settings.services.host,
        port=port,
        log_config=None,  # keep our logging setup
        access_log=False,  # per-request lines would dominate the CPU under load
        limit_concurrency=settings.services.max_concurrency,
        timeout_graceful_shutdown=5,
    )


def serve_all(settings: Settings) -> int:
    """Run each service in its own child process under supervisord, until Ctrl-C / SIGTERM."""
    from services.supervise import supervise

    return supervise(settings, SERVICES)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.run", description=__doc__)
    parser.add_argument("service", nargs="?", choices=SERVICES, help="one service (default: all)")
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["ctl"]:  # python -m services.run ctl status | restart final | ...
        from services.supervise import ctl

        return ctl(get_settings(), argv[1:])
    args = parser.parse_args(argv)
    settings = get_settings()
    if args.service:
        serve_one(args.service, settings)
        return 0
    return serve_all(settings)


if __name__ == "__main__":
    sys.exit(main())
