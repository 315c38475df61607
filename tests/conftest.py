"""Session-wide fixtures: tiny generated data and one real build of the whole pipeline.

Expensive things are built once per test session and shared: generating `tiny` data and
running `orchestration.pipeline.build` on it (real dbt, real training, real DuckDB file).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from music_recs.config import Settings  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
TINY_SEED = 42


def make_settings(root: Path, raw_uri: str, **overrides: object) -> Settings:
    """Settings whose every writable path lies under ``root`` (no .env, no user state)."""
    values: dict[str, object] = dict(
        raw_uri=raw_uri,
        data_dir=root / "data",
        warehouse_path=root / "warehouse" / "music_recs.duckdb",
        artifacts_dir=root / "warehouse" / "artifacts",
        reports_dir=root / "reports",
        logs_dir=root / "logs",
        events_db=root / "data" / "events" / "events.sqlite3",
        online_events_path=root / "data" / "online_events.parquet",
        export_uri=str(root / "data" / "export"),
        s3_data_dir=root / "s3",
        scale="tiny",
        seed=TINY_SEED,
    )
    values.update(overrides)
    return Settings(_env_file=None, **values)


@dataclass(frozen=True)
class TinyBuild:
    """A published build of the whole pipeline on tiny data."""

    settings: Settings
    db_path: Path
    raw_dir: Path
    root: Path


@pytest.fixture(scope="session")
def tiny_raw_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `tiny` preset generated once into a temporary folder."""
    from music_recs.generator import generate

    out = tmp_path_factory.mktemp("raw_tiny")
    generate(out, scale="tiny", seed=TINY_SEED)
    return out


@pytest.fixture(scope="session")
def tiny_build(tmp_path_factory: pytest.TempPathFactory, tiny_raw_dir: Path) -> TinyBuild:
    """`orchestration.pipeline.build` run once on tiny data (dbt + models + publish)."""
    from orchestration.pipeline import build

    root = tmp_path_factory.mktemp("tiny_build")
    # the re-ranker is served even where a single list wins on the tiny log's few label users:
    # these tests exercise its path; the fallback is tested in test_ranker_selection / test_public_logs
    settings = make_settings(root, str(tiny_raw_dir), ranker_fallback=False)
    db_path = build(settings)
    return TinyBuild(settings=settings, db_path=db_path, raw_dir=tiny_raw_dir, root=root)
