"""`make build`: raw data → dbt warehouse → models → evaluation → publish.

Every build goes into a new DuckDB file and is published by an atomic symlink swap only
when every step succeeded and the file holds every table the services need
(``music_recs.warehouse.SERVED_TABLES`` and the trained tables), so a failed build never
replaces a good warehouse and a running service never sees a half-built one. A dbt-only
build (``--dbt-only``, ``make dbt``) is never published: its file is left beside the others
and its path logged, to be queried directly.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from music_recs.config import Settings, get_settings
from music_recs.logs import setup_logging
from music_recs.raw import RawDataError, raw_files_present, validate
from music_recs.serving_arrays import remove_serving_dir
from music_recs.tables import Columns as C
from music_recs.tables import Tables
from music_recs.warehouse import SERVED_TABLES, new_build_path, publish

DEFAULT_RAW_URI = Settings.model_fields["raw_uri"].default

log = logging.getLogger("build")


@contextmanager
def step(name: str) -> Iterator[None]:
    """Log the start, the end and the duration of one build step."""
    log.info("[%s] started", name)
    started = time.perf_counter()
    yield
    log.info(
        "[%s] done in %.1fs",
        name,
        time.perf_counter() - started,
        extra={"data": {"step": name, "seconds": round(time.perf_counter() - started, 3)}},
    )


def absolute_settings(settings: Settings) -> Settings:
    """The same settings with local paths made absolute (dbt runs as a subprocess).

    ``os.path.abspath``, not ``Path.resolve``: resolving would follow the published symlink
    ``warehouse_path`` to the current build file, and the next build would then be written
    beside it in ``builds/builds/`` and fail to publish.
    """
    updates: dict[str, object] = {}
    for name, value in settings.as_flat().items():
        if isinstance(value, Path):
            updates[name] = Path(os.path.abspath(value))
    if not settings.raw_is_s3:
        updates["raw_uri"] = os.path.abspath(settings.raw_uri)
    if not settings.export_uri.startswith("s3://"):
        updates["export_uri"] = os.path.abspath(settings.export_uri)
    return settings.updated(**updates)


def ensure_raw(settings: Settings) -> None:
    """Generate the configured preset when the default local raw folder is empty."""
    if raw_files_present(settings):
        return
    if Path(settings.raw_uri).resolve() != Path(DEFAULT_RAW_URI).resolve():
        raise RawDataError(
            f"{settings.raw_uri}: raw files not found (tracks, catalog_names, interactions "
            ".parquet); data is only generated into the default folder data/raw"
        )
    from music_recs.generator import generate

    with step(f"generate {settings.scale} data into {settings.raw_uri}"):
        generate(Path(settings.raw_uri), scale=settings.scale, seed=settings.seed)


def export_online_events(settings: Settings) -> int:
    """Snapshot the events service's SQLite into the parquet file dbt reads."""
    from services.events.export import export_events

    return export_events(settings.events_db, settings.online_events_path)


def write_build_info(build_path: Path, settings: Settings, counts: dict[str, int]) -> None:
    info = {
        "build_id": build_path.stem,
        "built_at": datetime.now(UTC).isoformat(),
        "build_file": build_path.name,
        "raw_uri": settings.raw_uri,
        "scale": settings.scale,
        "seed": str(settings.seed),
        "git_commit": _git_commit(),
        "raw_rows": json.dumps(counts),
        "settings": settings.model_dump_json(exclude={"s3": {"access_key_id", "secret_access_key"}}),
    }
    con = duckdb.connect(str(build_path))
    try:
        con.execute(
            f"CREATE OR REPLACE TABLE {Tables.BuildInfo} ({C.Key} VARCHAR PRIMARY KEY, {C.Value} VARCHAR)"
        )
        con.executemany(f"INSERT INTO {Tables.BuildInfo} VALUES (?, ?)", list(info.items()))
    finally:
        con.close()


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5, check=True
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def build(settings: Settings, dbt_only: bool = False) -> Path:
    """Run the whole build and publish it; return the published build file.

    ``dbt_only``: stop after ``dbt build`` (and build_info) and return the new file
    unpublished: it lacks the trained tables the services read, so the served warehouse stays
    the previous complete build.
    """
    from orchestration.dbt_runner import dbt_vars_from_settings, run_dbt

    settings = absolute_settings(settings)
    started = time.perf_counter()
    ensure_raw(settings)
    with step("validate raw files"):
        counts = validate(settings)
        log.info("raw rows: %s", counts)
    with step("export online events"):
        n_online = export_online_events(settings)
        log.info("%d online events folded into this build", n_online)
    build_path = new_build_path(settings)
    log.info("building into %s", build_path)
    try:
        with step("dbt build"):
            run_dbt(["build"], build_path, dbt_vars_from_settings(settings))
        if not dbt_only:
            import models_py

            with step("models"):
                models_py.run_all(build_path, settings)
        write_build_info(build_path, settings, counts)
    except BaseException:
        log.error("build failed; %s is left unpublished and removed", build_path.name)
        for path in (build_path, build_path.with_name(build_path.name + ".wal")):
            path.unlink(missing_ok=True)
        remove_serving_dir(build_path)
        raise
    if dbt_only:
        log.info(
            "dbt-only build done in %.1fs; NOT published (no trained tables): %s is "
            "still served; query the new file read-only with duckdb.connect(%r, "
            "read_only=True)",
            time.perf_counter() - started,
            settings.warehouse_path,
            str(build_path),
            extra={"data": {"unpublished_build": str(build_path)}},
        )
        return build_path
    from music_recs.tables import TRAINED_TABLES

    with step("publish"):
        link = publish(build_path, settings, required=(*SERVED_TABLES, *TRAINED_TABLES))
    log.info("published %s -> %s in %.1fs total", link, build_path.name, time.perf_counter() - started)
    return build_path


#: Default global split of a public log: the date before which this share of it lies.
REAL_SPLIT_QUANTILE = 0.9


def real_settings(settings: Settings, dataset: str) -> Settings:
    """Settings of a build on a public log: its own raw folder, warehouse, reports and logs
    (the demo warehouse and the events service's data stay untouched), and a global split at
    ``REAL_SPLIT_QUANTILE`` of the log unless a split date or quantile is set."""
    from music_recs.public_logs import raw_dir

    root = settings.data_dir / "real" / dataset
    warehouse = settings.warehouse_path.parent / "real" / dataset
    updates: dict[str, object] = {
        "raw_uri": str(raw_dir(settings.data_dir, dataset)),
        "warehouse_path": warehouse / settings.warehouse_path.name,
        "artifacts_dir": warehouse / "artifacts",
        "reports_dir": settings.reports_dir / "real" / dataset,
        "logs_dir": settings.logs_dir / "real" / dataset,
        "events_db": root / "events.sqlite3",
        "online_events_path": root / "online_events.parquet",
        "export_uri": str(root / "export"),
    }
    if not ({"split_date", "split_quantile"} & settings.warehouse_vars.model_fields_set):
        updates["split_quantile"] = REAL_SPLIT_QUANTILE
    return settings.updated(**updates)


def build_real(settings: Settings, dataset: str, max_users: int = 0, dates: str = "exact") -> Path:
    """Fetch and convert a public log (docs/real-data.md), then build on it unchanged."""
    from music_recs.public_logs import prepare

    real = real_settings(settings, dataset)
    with step(f"fetch and convert {dataset}"):
        summary = prepare(
            dataset,
            Path(real.raw_uri),
            settings.data_dir / "real" / "_wheels",
            max_users=max_users,
            seed=settings.seed,
            dates=dates,
        )  # type: ignore[arg-type]
        log.info(
            "%s: %d listens, %d users, %d tracks",
            dataset,
            summary["n_listens"],
            summary["n_users"],
            summary["n_tracks"],
        )
    return build(real)


def main(argv: list[str] | None = None) -> int:
    from music_recs.public_logs import DATASETS

    parser = argparse.ArgumentParser(prog="python -m orchestration.pipeline")
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="build the warehouse, train, evaluate and publish")
    b.add_argument(
        "--dbt-only", action="store_true", help="stop after dbt build; the new file is left unpublished"
    )
    r = sub.add_parser("real", help="fetch a public log (MovieLens), convert it and build on it")
    r.add_argument("dataset", choices=sorted(DATASETS))
    r.add_argument("--max-users", type=int, default=0, help="seeded sample of users (0 = all)")
    r.add_argument(
        "--dates",
        choices=("exact", "month"),
        default="exact",
        help="exact timestamps, or cut to the month (a coarse log)",
    )
    args = parser.parse_args(argv)
    setup_logging("build")
    try:
        if args.cmd == "real":
            build_real(get_settings(), args.dataset, args.max_users, args.dates)
        else:
            build(get_settings(), dbt_only=args.dbt_only)
    except RawDataError as exc:
        log.error("%s", exc)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
