"""Start the services: ``python -m services.run`` (all four) or ``python -m services.run offline``.

All four run as separate processes (one uvicorn each, on ``settings.host`` and the
per-service port), so one slow or crashing service cannot take the others with it; this
parent forwards SIGINT/SIGTERM and stops everything if any child exits.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import subprocess
import sys
import time
from types import FrameType

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


def serve_one(name: str, settings: Settings) -> None:
    import uvicorn

    log = setup_logging(f"service-{name}")
    port = getattr(settings, f"{name}_port")
    log.info("starting %s on %s:%s", name, settings.host, port)
    uvicorn.run(
        create_app(name, settings),
        host=settings.host,
        port=port,
        log_config=None,  # keep our logging setup
        access_log=False,  # per-request lines would dominate the CPU under load
        limit_concurrency=settings.service_max_concurrency,
        timeout_graceful_shutdown=5,
    )


def serve_all(settings: Settings) -> int:
    """Run each service in its own child process; stop all when one stops or on a signal."""
    log = setup_logging("services")
    children = {
        name: subprocess.Popen([sys.executable, "-m", "services.run", name]) for name in SERVICES
    }
    log.info("started %s", ", ".join(f"{n} (pid {p.pid})" for n, p in children.items()))
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    while not stopping:
        for name, proc in children.items():
            rc = proc.poll()
            if rc is not None:
                log.error("%s exited with code %s; stopping the others", name, rc)
                code = rc or 1
                stopping = True
                break
        time.sleep(0.2)
    for proc in children.values():
        if proc.poll() is None:
            proc.terminate()
    for name, proc in children.items():
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in 10 s; killing it", name)
            proc.kill()
            proc.wait()
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.run", description=__doc__)
    parser.add_argument("service", nargs="?", choices=SERVICES, help="one service (default: all)")
    args = parser.parse_args(argv)
    settings = get_settings()
    if args.service:
        serve_one(args.service, settings)
        return 0
    return serve_all(settings)


if __name__ == "__main__":
    sys.exit(main())
