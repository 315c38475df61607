"""Real service processes for the services tests (helpers; fixtures are in conftest.py).

Each service runs as ``python -m services.run <name>`` (a real uvicorn process on 127.0.0.1,
free ports, paths under a temp dir), configured only through ``MUSIC_RECS_*`` env vars, just
as in production. The hand-made warehouse (tests/services/handmade.py) keeps answers easy to
verify; ``handmade_stack`` (all four services over it) is shared by the whole session.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import httpx
from handmade import build_handmade

from music_recs.config import Settings
from music_recs.warehouse import new_build_path, publish

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("events", "offline", "online", "final")
#: the events API key of the test stacks (made per test session, never a fixed key)
EVENTS_KEY = secrets.token_urlsafe(16)
AUTH = {"X-API-Key": EVENTS_KEY}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def service_settings(root: Path, **overrides: object) -> Settings:
    """Settings with every path under ``root`` and four free ports."""
    values: dict[str, object] = dict(
        data_dir=root / "data",
        warehouse_path=root / "warehouse" / "music_recs.duckdb",
        logs_dir=root / "logs",
        events_db=root / "data" / "events" / "events.sqlite3",
        online_events_path=root / "data" / "online_events.parquet",
        final_port=free_port(),
        offline_port=free_port(),
        events_port=free_port(),
        online_port=free_port(),
        service_timeout_s=0.5,
        warehouse_check_interval_s=0.2,
        keep_builds=5,
        events_api_keys=EVENTS_KEY,
    )
    values.update(overrides)
    return Settings(_env_file=None, **values)


def settings_env(settings: Settings) -> dict[str, str]:
    """The process environment that reproduces ``settings`` in a child."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSIC_RECS_")}
    for name in (
        "data_dir",
        "warehouse_path",
        "logs_dir",
        "events_db",
        "online_events_path",
        "final_port",
        "offline_port",
        "events_port",
        "online_port",
        "service_timeout_s",
        "warehouse_check_interval_s",
        "keep_builds",
        "host",
        "serving_memory_rows",
    ):
        env[f"MUSIC_RECS_{name.upper()}"] = str(settings.value_of(name))
    for name in ("events_api_keys", "events_api_key"):
        env[f"MUSIC_RECS_{name.upper()}"] = settings.value_of(name).get_secret_value()
    env["OPENBLAS_NUM_THREADS"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class ServiceProcess:
    """One service as a real child process."""

    name: str
    settings: Settings
    log_path: Path
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return self.settings.url(self.name)  # type: ignore[arg-type]

    def start(self) -> ServiceProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "services.run", self.name],
            cwd=REPO_ROOT,
            env=settings_env(self.settings),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        return self

    def wait_live(self, timeout_s: float = 60.0) -> ServiceProcess:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/health/live", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} not live after {timeout_s}s: {self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        """Graceful stop (SIGTERM), as an orchestrator would do."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill9(self) -> None:
        """Hard kill: no shutdown code runs."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


@dataclass
class Stack:
    """Some or all of the four services over one warehouse link."""

    settings: Settings
    root: Path
    procs: dict[str, ServiceProcess] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return self.settings.url(name)  # type: ignore[arg-type]

    def start(self, *names: str) -> Stack:
        for name in names:
            self.procs[name] = ServiceProcess(name, self.settings, self.root / "logs" / f"{name}.out").start()
        for name in names:
            self.procs[name].wait_live()
        return self

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.stop()


_TEMPLATE: Path | None = None


def publish_handmade(settings: Settings, build_id: str) -> Path:
    """A hand-made build in a fresh build file, published with the lead's atomic swap.

    The tables are written once per test process into a template that is then copied (and
    its build id set), which keeps repeated rebuilds cheap.
    """
    global _TEMPLATE
    if _TEMPLATE is None:
        directory = tempfile.mkdtemp(prefix="handmade_")
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        template = Path(directory) / "template.duckdb"
        _TEMPLATE = build_handmade(template, "template")
    path = new_build_path(settings)
    shutil.copyfile(_TEMPLATE, path)
    con = duckdb.connect(str(path))
    try:
        con.execute("UPDATE build_info SET value = ? WHERE key = 'build_id'", [build_id])
    finally:
        con.close()
    publish(path, settings)
    return path
