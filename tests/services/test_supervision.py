"""`make serve` under supervision: real processes, real signals, loopback only.

``python -m services.run`` runs supervisord (services/supervise.py) over the four services,
on free ports, over a published hand-made build. Each service in turn is killed with
``kill -9``: the other three keep answering a real route all along and the killed one answers
again within 5 s, in a new process. Then SIGTERM to the supervisor stops every service
gracefully and the supervisor exits 0.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import svc_stack
from svc_stack import REPO_ROOT, SERVICES, publish_handmade, service_settings, settings_env

from music_recs.config import Settings
from services.supervise import events_api_key_hint, processes

#: One real route per service (hand-made warehouse: tests/services/handmade.py).
ROUTES = {
    "final": "/users/1/recommendations?k=5",
    "offline": "/users/2/recommendations?k=5",
    "events": "/users/1/events?k=5",
    "online": "/tracks/5/similar?k=3",
}
RESTART_WITHIN_S = 5.0
#: the test stacks' events API key header, where the events routes require one
AUTH: dict[str, str] = getattr(svc_stack, "AUTH", {})


@dataclass
class Supervised:
    settings: Settings
    proc: subprocess.Popen
    log_path: Path

    def url(self, name: str) -> str:
        return self.settings.url(name)  # type: ignore[arg-type]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def pids(self) -> dict[str, int]:
        return {name: info["pid"] for name, info in processes(self.settings).items()}

    def states(self) -> dict[str, str]:
        return {name: info["statename"] for name, info in processes(self.settings).items()}


def _answers(client: httpx.Client, stack: Supervised, name: str) -> bool:
    try:
        return client.get(stack.url(name) + ROUTES[name], headers=AUTH, timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def start_supervised(root: Path, wait_running: bool = True) -> Supervised:
    """``python -m services.run`` over a published hand-made build; returns once every service
    answers (and, with ``wait_running``, supervisor counts each start as done: START_SECS)."""
    settings = service_settings(root)
    publish_handmade(settings, "supervised")
    log_path = root / "serve.out"
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.run"],
            cwd=REPO_ROOT,
            env=settings_env(settings),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    stack = Supervised(settings, proc, log_path)
    deadline = time.monotonic() + 60
    with httpx.Client() as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"supervisor exited with {proc.returncode}: {stack.log()}")
            try:
                states = set(stack.states().values())
            except OSError:  # control socket not there yet
                states = set()
            up = states == {"RUNNING"} or (not wait_running and bool(states))
            if up and all(_answers(client, stack, n) for n in SERVICES):
                return stack
            time.sleep(0.2)
    stop_supervised(stack)
    raise TimeoutError(f"stack not up after 60 s: {stack.log()}")


def stop_supervised(stack: Supervised) -> None:
    """SIGTERM to the supervisor; if it hangs, kill it and every service it started."""
    if stack.proc.poll() is not None:
        return
    children: list[int] = []
    try:
        children = list(stack.pids().values())
    except OSError:
        pass
    stack.proc.send_signal(signal.SIGTERM)
    try:
        stack.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        stack.proc.kill()
        stack.proc.wait()
        for pid in children:
            if pid and _alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def supervised(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Supervised]:
    stack = start_supervised(tmp_path_factory.mktemp("supervised"))
    try:
        yield stack
    finally:
        stop_supervised(stack)


def test_serve_prints_the_events_api_key_hint(supervised: Supervised) -> None:
    hint = events_api_key_hint()
    assert hint in supervised.log_path.read_text()
    assert "MUSIC_RECS_EVENTS_API_KEY" in hint


def test_ctl_status_lists_every_service(supervised: Supervised) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "services.run", "ctl", "status"],
        cwd=REPO_ROOT,
        env=settings_env(supervised.settings),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {line.split()[0]: line.split()[1] for line in done.stdout.splitlines() if line.strip()}
    assert rows == {name: "RUNNING" for name in SERVICES}


@pytest.mark.parametrize("victim", SERVICES)
def test_kill9_restarts_only_that_service(supervised: Supervised, victim: str) -> None:
    before = supervised.pids()
    others = [n for n in SERVICES if n != victim]
    failures: list[str] = []
    with httpx.Client() as client:
        os.kill(before[victim], signal.SIGKILL)
        killed_at = time.monotonic()
        back_after = None
        outage_seen = False
        while time.monotonic() - killed_at < RESTART_WITHIN_S + 5:
            for name in others:  # the others answer all along
                if not _answers(client, supervised, name):
                    failures.append(
                        f"{name} did not answer {time.monotonic() - killed_at:.2f}s after {victim} was killed"
                    )
            if _answers(client, supervised, victim):
                if outage_seen:
                    back_after = time.monotonic() - killed_at
                    break
            else:
                outage_seen = True
            time.sleep(0.05)
    assert outage_seen, f"{victim} kept answering after kill -9"
    assert back_after is not None and back_after < RESTART_WITHIN_S, (
        f"{victim} not back within {RESTART_WITHIN_S}s: {supervised.log()}"
    )
    assert failures == []
    after = supervised.pids()
    assert after[victim] != before[victim] and not _alive(before[victim])
    assert {n: after[n] for n in others} == {n: before[n] for n in others}
    assert supervised.proc.poll() is None
    print(f"{victim}: answering again {back_after:.2f}s after kill -9")


def test_sigterm_stops_every_service_gracefully(supervised: Supervised) -> None:
    pids = supervised.pids()
    started = time.monotonic()
    supervised.proc.send_signal(signal.SIGTERM)
    rc = supervised.proc.wait(timeout=60)
    took = time.monotonic() - started
    log = supervised.log_path.read_text(errors="replace")
    assert rc == 0, log[-4000:]
    for name, pid in pids.items():
        assert not _alive(pid), f"{name} (pid {pid}) still running"
        # stopped by supervisor's SIGTERM, uvicorn's graceful shutdown: it ran to its end
        # (uvicorn then re-raises the signal, hence "terminated by SIGTERM", not SIGKILL)
        assert f"stopped: {name} (terminated by SIGTERM)" in log, log[-4000:]
        assert f"Finished server process [{pid}]" in log, log[-4000:]
    # final (which calls the others) is stopped first, events (which the others call) last
    order = [log.index(f"stopped: {name} ") for name in reversed(SERVICES)]
    assert order == sorted(order)
    with httpx.Client() as client:
        for name in SERVICES:
            with pytest.raises(httpx.ConnectError):
                client.get(supervised.url(name) + "/health/live", timeout=2.0)
    print(f"stopped in {took:.2f}s")


def test_services_stop_when_the_supervisor_is_killed(tmp_path: Path) -> None:
    """``kill -9`` of the supervisor itself: the services (own process groups) notice within
    about a second and shut down gracefully instead of holding their ports."""
    stack = start_supervised(tmp_path, wait_running=False)
    pids = stack.pids()
    try:
        stack.proc.kill()
        stack.proc.wait()
        deadline = time.monotonic() + 15
        while any(_alive(pid) for pid in pids.values()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [n for n, pid in pids.items() if _alive(pid)], stack.log()
        for name, pid in pids.items():  # the console pipe died with the supervisor: JSON logs
            log = (stack.settings.logs_dir / f"service-{name}.jsonl").read_text(errors="replace")
            assert "is gone; shutting down" in log and f"Finished server process [{pid}]" in log
    finally:
        for pid in pids.values():
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
