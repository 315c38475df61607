"""The nested build: the same pipeline with the real label window as its test window.

Why: every choice (features, candidate sources, settings) is made here, never on the real
test window. The nested build cuts the log at the real build's split date, so it never
sees a test listen, and splits it at the real build's label start: its "test" window is the
real label window, its own label window lies before that.

    python -m benchmarks.nested [--dataset ml-1m] [--warehouse PATH]

reads ``split_info`` of the published warehouse (of the dataset, with ``--dataset``),
writes the cut raw files under ``data/nested/<generated|dataset>/raw`` and builds into
``nested/`` beside that warehouse (``warehouse/nested/``, ``warehouse/real/ml-1m/nested/``),
with reports in ``nested/`` of its reports folder. Any other setting
comes from the environment as for ``make build`` (e.g. ``MUSIC_RECS_SEED``), so a candidate
choice is tried by setting it for both the nested build and, once chosen, the real one.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from datetime import date
from pathlib import Path

import duckdb

from music_recs.config import Settings, get_settings
from music_recs.logs import setup_logging
from orchestration.pipeline import absolute_settings, build, real_settings

log = logging.getLogger("build")


def real_split(warehouse: Path) -> tuple[date, date]:
    """(split_date, label_start) of a published build."""
    if not warehouse.exists():
        raise FileNotFoundError(
            f"{warehouse}: no published build to nest (run `make build` or `make real` first)"
        )
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute("SELECT split_date, label_start FROM split_info").fetchone()
    finally:
        con.close()


def cut_raw(settings: Settings, until: date, out_dir: Path) -> None:
    """The raw files with every listen after ``until`` removed (catalog files as they are)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in ("tracks", "catalog_names"):
        shutil.copyfile(settings.raw_file(name), out_dir / f"{name}.parquet")
    con = duckdb.connect()
    try:
        con.execute(
            f"COPY (SELECT * FROM read_parquet(?) WHERE CAST(started_at AS DATE) <= ?) "
            f"TO '{out_dir / 'interactions.parquet'}' (FORMAT parquet)",
            [settings.raw_file("interactions"), until],
        )
    finally:
        con.close()


def nested_settings(settings: Settings, name: str, label_start: date) -> Settings:
    """The real settings with the nested build's own folders and the split at ``label_start``."""
    root = settings.data_dir / "nested" / name
    warehouse = settings.warehouse_path.parent / "nested"  # a public log's folders already name it
    return settings.updated(
        **{
            "raw_uri": str(root / "raw"),
            "split_date": label_start.isoformat(),
            "warehouse_path": warehouse / settings.warehouse_path.name,
            "artifacts_dir": warehouse / "artifacts",
            "reports_dir": settings.reports_dir / "nested",
            "logs_dir": settings.logs_dir / "nested",
            "events_db": root / "events.sqlite3",
            "online_events_path": root / "online_events.parquet",
            "export_uri": str(root / "export"),
        }
    )


def build_nested(settings: Settings, dataset: str | None = None) -> Path:
    """Cut the log at the real split, build the nested warehouse, return its build file."""
    real = real_settings(settings, dataset) if dataset else settings
    split_date, label_start = real_split(real.warehouse_path)
    name = dataset or "generated"
    nested = nested_settings(real, name, label_start)
    log.info(
        "nested build of %s: log cut at %s (the real split), split at %s (the real label start)",
        name,
        split_date,
        label_start,
    )
    cut_raw(absolute_settings(real), split_date, Path(nested.raw_uri))
    return build(nested)


def main(argv: list[str] | None = None) -> int:
    from music_recs.public_logs import DATASETS

    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.nested",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dataset", choices=sorted(DATASETS), help="a public log built by `make real`")
    args = parser.parse_args(argv)
    setup_logging("build")
    try:
        build_nested(get_settings(), args.dataset)
    except FileNotFoundError as exc:
        log.error("%s", exc)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
