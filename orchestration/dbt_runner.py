"""Run dbt on the warehouse project as a subprocess, with clear errors.

Why a subprocess: dbt keeps global state per process (adapters, DuckDB connections, flags)
and one DuckDB file per build must be fully closed before the next step opens it. Why this
module: the pipeline, tests and engineers all run dbt the same way (project and profile at
the repo top, build file via ``MUSIC_RECS_BUILD_DB``, vars from settings, no network), and a
failure names the failing model or test instead of ending in "exit code 1".

S3 credentials never go on the command line or into dbt vars (both are logged and stored
in the manifest): they travel in the subprocess environment, which the profile reads with
``env_var``. ``dbt_vars_from_settings`` returns a :class:`DbtVars` that carries them along.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from music_recs.config import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
RUNS_DIR = REPO_ROOT / "target" / "dbt-runs"  # per-build dbt target/ and logs/ (git-ignored)
KEEP_RUN_DIRS = 10
log = logging.getLogger("dbt")

# dbt sub-commands that accept --vars (clean/deps/init/debug do not need them).
_TAKES_VARS = {
    "build",
    "run",
    "test",
    "compile",
    "seed",
    "snapshot",
    "docs",
    "list",
    "ls",
    "parse",
    "show",
    "run-operation",
    "source",
    "retry",
}
_NODE_START = re.compile(r"\d+ of \d+ START ")  # per-node start lines: debug, not info
_FAILURE_LINE = re.compile(
    r"(Failure|Error|Database Error|Compilation Error|Runtime Error|Parsing Error)"
    r" in (model|test|unit_test|seed|snapshot|source|operation|macro) (\S+)"
)


class DbtVars(dict):
    """dbt vars (a plain dict) plus the environment the profile needs for the same settings.

    ``env`` holds the S3 endpoint and keys and the DuckDB limits; ``run_dbt`` adds it to the
    subprocess environment, so it is never rendered into ``--vars``.
    """

    def __init__(self, values: Mapping[str, Any], env: Mapping[str, str] | None = None) -> None:
        super().__init__(values)
        self.env: dict[str, str] = dict(env or {})


def dbt_env_from_settings(settings: Settings) -> dict[str, str]:
    """Environment variables read by ``profiles.yml`` for these settings."""
    return {
        "MUSIC_RECS_S3_ENDPOINT": settings.s3.endpoint,
        "MUSIC_RECS_S3_ACCESS_KEY_ID": settings.s3.access_key_id,
        "MUSIC_RECS_S3_SECRET_ACCESS_KEY": settings.s3.secret_access_key,
        "MUSIC_RECS_S3_REGION": settings.s3.region,
        "MUSIC_RECS_S3_USE_SSL": "true" if settings.s3.use_ssl else "false",
        "MUSIC_RECS_S3_URL_STYLE": settings.s3.url_style,
        "MUSIC_RECS_DBT_MEMORY_LIMIT": settings.dbt.memory_limit,
        "MUSIC_RECS_DBT_THREADS": str(settings.dbt.threads),
        "MUSIC_RECS_DBT_NODE_THREADS": str(settings.dbt.node_threads),
    }


def dbt_vars_from_settings(settings: Settings) -> DbtVars:
    """The dbt vars of ``settings`` (see dbt_project.yml), carrying the profile's environment."""
    values = {
        "raw_uri": settings.raw_uri.rstrip("/"),
        "online_events_path": str(settings.online_events_path),
        "track_seq_quantile": settings.warehouse_vars.track_seq_quantile,
        "split_date": settings.warehouse_vars.split_date,
        "test_days": settings.warehouse_vars.test_days,
        "label_days": settings.warehouse_vars.label_days,
        "split_quantile": settings.warehouse_vars.split_quantile,
        "recency_half_life_days": settings.warehouse_vars.recency_half_life_days,
    }
    return DbtVars(values, env=dbt_env_from_settings(settings))


def dbt_executable() -> str:
    """The dbt script of this interpreter's environment (the project's .venv)."""
    candidate = Path(sys.executable).parent / "dbt"
    if candidate.is_file():
        return str(candidate)
    raise FileNotFoundError(f"dbt not found next to {sys.executable}: run `make venv`")


def ensure_httpfs() -> None:
    """Install httpfs from the pip wheel if DuckDB does not have it yet (never downloads)."""
    import duckdb

    con = duckdb.connect()
    try:
        installed = con.execute(
            "SELECT installed FROM duckdb_extensions() WHERE extension_name = 'httpfs'"
        ).fetchone()
    finally:
        con.close()
    if not (installed and installed[0]):
        from music_recs.duckdb_setup import install_httpfs

        log.info("installing DuckDB httpfs from %s", install_httpfs())


def run_dbt(args: list[str], build_db: Path, vars: dict, env: dict | None = None) -> None:
    """Run ``dbt <args>`` against ``build_db``; stream its output to the log.

    Raises RuntimeError naming each failing model/test (from run_results.json, else from the
    output) when dbt exits non-zero.
    """
    if not args:
        raise ValueError("run_dbt needs a dbt command, e.g. ['build']")
    build_db = Path(build_db).resolve()
    build_db.parent.mkdir(parents=True, exist_ok=True)
    ensure_httpfs()
    run_dir = RUNS_DIR / build_db.stem
    _prune_run_dirs(keep=KEEP_RUN_DIRS)
    child_env = {
        **os.environ,
        "MUSIC_RECS_BUILD_DB": str(build_db),
        "DBT_TARGET_PATH": str(run_dir / "target"),
        "DBT_LOG_PATH": str(run_dir / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
        "DBT_USE_COLORS": "false",
        **getattr(vars, "env", {}),
        **(env or {}),
    }
    cmd = [dbt_executable(), *args, "--project-dir", str(REPO_ROOT), "--profiles-dir", str(REPO_ROOT)]
    if args[0] in _TAKES_VARS:
        cmd += ["--vars", json.dumps(dict(vars), default=str)]
    target_path = Path(child_env["DBT_TARGET_PATH"])
    results_file = target_path / "run_results.json"
    results_file.unlink(missing_ok=True)
    log.info("dbt %s -> %s", " ".join(args), build_db)
    tail: deque[str] = deque(maxlen=40)
    failures_seen: list[str] = []
    with subprocess.Popen(
        cmd,
        cwd=REPO_ROOT,
        env=child_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip()
            tail.append(line)
            log.log(logging.DEBUG if _NODE_START.search(line) else logging.INFO, "%s", line)
            match = _FAILURE_LINE.search(line)
            if match:
                failures_seen.append(f"{match.group(2)} {match.group(3)}")
    if proc.returncode != 0:
        raise RuntimeError(_failure_message(args, proc.returncode, results_file, failures_seen, list(tail)))


def _prune_run_dirs(keep: int) -> None:
    """Delete all but the ``keep`` newest per-build dbt folders (manifests add up)."""
    if not RUNS_DIR.is_dir():
        return
    runs = sorted((p for p in RUNS_DIR.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)
    for old in runs[:-keep] if keep > 0 else runs:
        shutil.rmtree(old, ignore_errors=True)


def _failure_message(
    args: list[str], code: int, results_file: Path, failures_seen: list[str], tail: list[str]
) -> str:
    """One readable message: what failed and why, then where the full log is."""
    problems = failed_nodes(results_file)
    if not problems:
        problems = list(dict.fromkeys(failures_seen))
    if not problems:  # e.g. a parsing error: show the output from its first error line
        lines = [line for line in tail if line.strip()]
        first = next((i for i, line in enumerate(lines) if "Error" in line), max(len(lines) - 12, 0))
        problems = lines[first : first + 25]
    lines = "\n  ".join(problems) if problems else "(no output)"
    return f"dbt {' '.join(args)} failed (exit {code}):\n  {lines}"


def failed_nodes(results_file: Path) -> list[str]:
    """'<resource> <name>: <message>' for every errored or failed node of a dbt run."""
    try:
        results = json.loads(results_file.read_text(encoding="utf-8"))["results"]
    except (OSError, ValueError, KeyError):
        return []
    out = []
    for result in results:
        if result.get("status") in {"error", "fail", "runtime error"}:
            unique_id = result.get("unique_id", "?")
            parts = unique_id.split(".")
            if len(parts) < 3:
                kind, name = "node", unique_id
            else:  # data tests end in a hash: test.<project>.<name>.<hash>
                kind, name = parts[0], parts[2] if parts[0] == "test" else parts[-1]
            message = " ".join(str(result.get("message") or "").split())[:400]
            out.append(f"{kind} {name}: {message}")
    return out


def main(argv: list[str] | None = None) -> int:
    """`python -m orchestration.dbt_runner <dbt args...>`: dbt on the dev file with settings' vars."""
    from music_recs.config import get_settings
    from music_recs.logs import setup_logging

    setup_logging("dbt")
    argv = list(sys.argv[1:] if argv is None else argv) or ["build"]
    settings = get_settings()
    build_db = Path(os.environ.get("MUSIC_RECS_BUILD_DB", "warehouse/dev.duckdb"))
    try:
        run_dbt(argv, build_db, dbt_vars_from_settings(settings))
    except RuntimeError as exc:
        log.error("%s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
