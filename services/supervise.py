"""Supervision of the four services by supervisor (``supervisord``), run in the foreground.

``python -m services.run`` (``make serve``) writes a supervisord configuration for the four
services into ``<data_dir>/run/`` and runs supervisord in this process, in the foreground:

- each service is one ``python -m services.run <name>`` process (one uvicorn), in its own
  process group, started in dependency order (events, offline, online, final);
- a service that exits, crashes or is killed (``kill -9``) is started again at once, alone:
  the other three keep their processes and keep answering meanwhile;
- a service that dies again within ``START_SECS`` of its start is retried with back-off
  (supervisor waits 1 s, then 2 s, 3 s, ... between tries) and, after ``START_RETRIES``
  tries, is left FATAL (``python -m services.run ctl status`` shows it; ``ctl start <name>``
  tries again), so a service that cannot start does not burn the CPU the others need;
- Ctrl-C or SIGTERM to this process stops the services in reverse order (final first) with
  SIGTERM, which is uvicorn's graceful shutdown: it stops accepting, lets requests in flight
  finish (up to 5 s) and runs the app's shutdown; a service still running after
  ``STOP_WAIT_SECS`` is killed;
- the services' output goes to this process's stdout, supervisord's own log also to
  ``<logs_dir>/supervisord.log``; ``python -m services.run ctl <supervisorctl command>``
  talks to it over a unix socket in the run folder (``status``, ``restart final``, ...).

Why supervisor: it restarts one program without touching the others, backs off on a crash
loop, stops in priority order with a per-program grace period, and is a small pure-Python
package with no dependencies (pinned in requirements.txt). The others considered: honcho
(and foreman) stop every process when one exits, which is exactly what must not happen;
gunicorn restarts crashed workers but serves one app per master (four masters would still
need a supervisor of their own); circus restarts with back-off too but brings pyzmq, tornado
and psutil and listens on TCP control ports by default.
"""

from __future__ import annotations

import os
import shlex
import sys
import xmlrpc.client
from collections.abc import Sequence
from pathlib import Path

from music_recs.config import Settings

#: A start counts as successful once the process has stayed up this long (seconds); an exit
#: before that is a failed start and is retried with back-off.
START_SECS = 5
#: Failed starts in a row before a service is left FATAL (the waits grow 1, 2, ... s: ~3.5 min).
START_RETRIES = 20
#: SIGTERM, then SIGKILL after this long (uvicorn's graceful shutdown takes up to 5 s).
STOP_WAIT_SECS = 15
#: Unix socket paths are limited to 107 bytes.
_MAX_SOCKET_PATH = 100


def events_api_key_hint() -> str:
    """The line ``make serve`` prints on how to set the events API key."""
    if "events_api_keys" in Settings.flat_names():  # accepted keys, comma-separated
        var = "MUSIC_RECS_EVENTS_API_KEYS=<secret>[,<another>]"
    else:
        var = "MUSIC_RECS_EVENTS_API_KEY=<secret>"
    return (
        f"events API key: export {var} (or put it in .env) before `make serve`; "
        "clients send it in the X-API-Key header"
    )


def run_dir(settings: Settings) -> Path:
    """Folder of supervisord's configuration, pid file and control socket."""
    return Path(os.path.abspath(settings.data_dir)) / "run"


def config_path(settings: Settings) -> Path:
    return run_dir(settings) / "supervisord.conf"


def socket_path(settings: Settings) -> Path:
    return run_dir(settings) / "supervisor.sock"


def _value(text: object) -> str:
    """A value for supervisor's config: ``%`` starts an expansion there, so it is doubled."""
    return str(text).replace("%", "%%")


def config_text(settings: Settings, services: Sequence[str]) -> str:
    """The supervisord configuration of ``services`` (started in the given order)."""
    directory = run_dir(settings)
    logs = Path(os.path.abspath(settings.logs_dir))
    sock = socket_path(settings)
    lines = [
        "; written by services/supervise.py at each start of `python -m services.run`",
        "[supervisord]",
        "nodaemon=true",
        f"user={os.getuid()}",  # our own uid: nothing to drop (silences the warning as root)
        f"logfile={_value(logs / 'supervisord.log')}",
        "logfile_maxbytes=10MB",
        "logfile_backups=3",
        "loglevel=info",
        f"pidfile={_value(directory / 'supervisord.pid')}",
        f"childlogdir={_value(directory)}",
        "",
        "[unix_http_server]",
        f"file={_value(sock)}",
        "chmod=0700",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{_value(sock)}",
    ]
    for priority, name in enumerate(services, start=1):
        command = shlex.join([sys.executable, "-m", "services.run", name])
        lines += [
            "",
            f"[program:{name}]",
            f"command={_value(command)}",
            f"directory={_value(os.getcwd())}",
            f"priority={priority * 10}",  # start in this order, stop in the reverse one
            "autostart=true",
            "autorestart=true",  # a service never exits on its own: restart on any exit
            f"startsecs={START_SECS}",
            f"startretries={START_RETRIES}",
            "stopsignal=TERM",
            f"stopwaitsecs={STOP_WAIT_SECS}",
            "stopasgroup=true",
            "killasgroup=true",
            "redirect_stderr=true",
            "stdout_logfile=/dev/stdout",
            "stdout_logfile_maxbytes=0",
            'environment=PYTHONUNBUFFERED="1"',
        ]
    return "\n".join(lines) + "\n"


def write_config(settings: Settings, services: Sequence[str]) -> Path:
    """Write the configuration into the run folder; return its path."""
    sock = socket_path(settings)
    if len(os.fsencode(sock)) > _MAX_SOCKET_PATH:
        raise ValueError(
            f"control socket path too long for a unix socket: {sock}; "
            "set MUSIC_RECS_DATA_DIR to a shorter path"
        )
    path = config_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    Path(os.path.abspath(settings.logs_dir)).mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(config_text(settings, services), encoding="utf-8")
    os.replace(tmp, path)
    return path


def supervise(settings: Settings, services: Sequence[str]) -> int:
    """Run supervisord in this process until Ctrl-C / SIGTERM; return 0 after a clean stop."""
    from supervisor import supervisord

    conf = write_config(settings, services)
    print(
        f"supervising {', '.join(services)} (config {conf}); stop with Ctrl-C or SIGTERM; "
        f"status: {shlex.quote(sys.executable)} -m services.run ctl status",
        file=sys.stderr,
    )
    print(events_api_key_hint(), file=sys.stderr)
    supervisord.main(args=["-c", str(conf), "-n"])
    return 0


def ctl(settings: Settings, args: Sequence[str]) -> int:
    """``supervisorctl`` on the running supervisord (``status``, ``restart final``, ...)."""
    from supervisor import supervisorctl

    conf = config_path(settings)
    if not conf.is_file():
        print(
            f"no supervisord configuration at {conf}: is `make serve` running with these settings?",
            file=sys.stderr,
        )
        return 1
    try:
        supervisorctl.main(args=["-c", str(conf), *args])
    except SystemExit as exc:  # supervisorctl exits with the status of its command
        return int(exc.code or 0)
    return 0


def rpc(settings: Settings) -> xmlrpc.client.ServerProxy:
    """XML-RPC proxy of the running supervisord (``proxy.supervisor.getAllProcessInfo()``)."""
    from supervisor.xmlrpc import SupervisorTransport

    transport = SupervisorTransport(None, None, f"unix://{socket_path(settings)}")
    return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)


def processes(settings: Settings) -> dict[str, dict]:
    """Name -> supervisor's process info (``statename``, ``pid``, ...) of each service."""
    return {p["name"]: p for p in rpc(settings).supervisor.getAllProcessInfo()}
