"""Warehouse files: one new DuckDB file per build, published by an atomic symlink swap.

Why: DuckDB allows one read-write process OR many read-only ones per file. Building into a
fresh file means `make build` never conflicts with services holding the served file open,
and the swap (``os.replace`` of a symlink) is atomic, so a reader sees either the old or the
new build, never a half-written one. Each build has its own path, so DuckDB's per-path
database cache in a long-running process never hands back the old file.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from music_recs.config import Settings, get_settings
from music_recs.serving_arrays import remove_serving_dir, serving_dir
from music_recs.tables import Tables

BUILDS_DIRNAME = "builds"
BUILD_PREFIX = "music_recs-"

#: What a build must hold to be served: every table a service requires at startup (the
#: ``REQUIRED`` tables of services/final, offline and online, ``map_tracks`` of events) and
#: ``build_info``. ``publish`` refuses a file without them (a dbt-only or broken build), so
#: services never switch to a build they cannot answer from. tests/core/test_publish_complete.py
#: checks that this covers what the services ask for.
SERVED_TABLES: tuple[str, ...] = (
    Tables.BuildInfo,
    Tables.Catalog,
    Tables.Events,
    Tables.ItemGenres,
    Tables.MapTracks,
    Tables.RecsFinal,
    Tables.RecsPopular,
    Tables.RecsPopularGenre,
    Tables.SimilarTracks,
)


class IncompleteBuildError(ValueError):
    """A build file lacks tables the services need: it must not be published."""


def builds_dir(settings: Settings) -> Path:
    return settings.warehouse_path.parent / BUILDS_DIRNAME


def new_build_path(settings: Settings) -> Path:
    """A fresh, unused path for the next build (UTC timestamp, microseconds)."""
    directory = builds_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return directory / f"{BUILD_PREFIX}{stamp}.duckdb"


def current_build(settings: Settings) -> Path | None:
    """The build file the served path points to, or None if nothing is published."""
    link = settings.warehouse_path
    if not link.exists():
        return None
    return link.resolve()


def missing_tables(build_path: Path, required: Sequence[str] = SERVED_TABLES) -> list[str]:
    """The tables (or views) of ``required`` that the DuckDB file ``build_path`` lacks."""
    import duckdb

    con = duckdb.connect(str(build_path), read_only=True)
    try:
        present = {
            row[0]
            for row in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
            ).fetchall()
        }
    finally:
        con.close()
    return [t for t in required if t not in present]


def check_complete(build_path: Path, required: Sequence[str] = SERVED_TABLES) -> None:
    """Raise ``IncompleteBuildError`` naming the missing tables if ``build_path`` lacks any."""
    missing = missing_tables(build_path, required)
    if missing:
        raise IncompleteBuildError(
            f"refusing to publish {build_path}: missing tables {missing} that the services "
            "need (a dbt-only or failed build?); run the whole build (`make build`)"
        )


def publish(build_path: Path, settings: Settings, required: Sequence[str] = SERVED_TABLES) -> Path:
    """Point ``settings.warehouse_path`` at ``build_path`` atomically; prune old builds.

    Only a complete build is published: a file lacking any of ``required`` (default: the
    tables the services need, ``SERVED_TABLES``) raises ``IncompleteBuildError`` and the
    served link is left as it was. A plain file at the served path (e.g. copied there by a
    user) is refused rather than overwritten, so nothing is lost.
    """
    build_path = build_path.resolve()
    if not build_path.is_file():
        raise FileNotFoundError(f"cannot publish {build_path}: no such build file")
    check_complete(build_path, required)
    link = settings.warehouse_path
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.exists() and not link.is_symlink():
        raise FileExistsError(
            f"{link} is a regular file, not the symlink this project manages; move it away first"
        )
    target = os.path.relpath(build_path, link.parent.resolve())
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(target, tmp)
    os.replace(tmp, link)
    _fsync_dir(link.parent)
    prune(settings)
    return link


def prune(settings: Settings) -> list[Path]:
    """Delete builds older than the newest ``keep_builds`` (never the published one), with
    their serving lists and their model artifacts (``artifacts_dir/<build>/``).

    Readers that still have an old file open keep reading it (POSIX unlink semantics) and
    move to the new build on their next check.
    """
    directory = builds_dir(settings)
    if not directory.is_dir():
        return []
    current = current_build(settings)
    builds = sorted(directory.glob(f"{BUILD_PREFIX}*.duckdb"), reverse=True)
    removed = []
    for old in builds[max(settings.keep_builds, 1) :]:
        if current is not None and old.resolve() == current:
            continue
        for path in (old, old.with_name(old.name + ".wal")):
            if path.exists():
                path.unlink()
                removed.append(path)
        if serving_dir(old).exists():
            remove_serving_dir(old)
            removed.append(serving_dir(old))
        artifacts = Path(settings.artifacts_dir) / old.stem
        if artifacts.is_dir():
            shutil.rmtree(artifacts, ignore_errors=True)
            removed.append(artifacts)
    return removed


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def open_read_only(settings: Settings | None = None):
    """A read-only DuckDB connection on the published build (safe while services run)."""
    import duckdb

    settings = settings or get_settings()
    current = current_build(settings)
    if current is None:
        raise FileNotFoundError(f"no warehouse at {settings.warehouse_path}: run `make build` first")
    return duckdb.connect(str(current), read_only=True)


def _shell(settings: Settings) -> int:
    """Minimal read-only SQL prompt: one statement per line, results printed as a table."""
    con = open_read_only(settings)
    print(f"read-only session on {current_build(settings)}; end with Ctrl-D", file=sys.stderr)
    for line in sys.stdin:
        sql = line.strip()
        if not sql:
            continue
        try:
            con.sql(sql).show(max_rows=50)
        except Exception as exc:  # noqa: BLE001 - a prompt reports every SQL error and goes on
            print(f"error: {exc}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m music_recs.warehouse")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("shell", help="read-only SQL on the published warehouse")
    sub.add_parser("path", help="print the published build file")
    args = parser.parse_args(argv)
    settings = get_settings()
    if args.cmd == "path":
        current = current_build(settings)
        if current is None:
            print(f"no warehouse at {settings.warehouse_path}", file=sys.stderr)
            return 1
        print(current)
        return 0
    return _shell(settings)


if __name__ == "__main__":
    sys.exit(main())
