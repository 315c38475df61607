"""Warehouse fixtures: real `dbt build` runs (subprocess) into temporary DuckDB files.

Three builds per session: the hand-made raw set (answers checkable by eye, with online events),
a messy MovieLens-shaped set (monthly dates, no artists, rows breaking the contract) split by
quantile, and the generator's `tiny` preset (no online events file: the build must not need it).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from orchestration.dbt_runner import run_dbt
from tests.warehouse.handmade_raw import write_handmade_raw, write_online_events
from tests.warehouse.messy_raw import SPLIT_QUANTILE, write_messy_raw


def _run_dirs(root: Path) -> dict[str, str]:
    """dbt target/log paths inside the test's tmp folder, not the repo's target/."""
    return {"DBT_TARGET_PATH": str(root / "dbt_target"), "DBT_LOG_PATH": str(root / "dbt_logs")}


@pytest.fixture(scope="session")
def handmade(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The hand-made raw set built with `dbt build` (all models, data and unit tests)."""
    root = tmp_path_factory.mktemp("wh_handmade")
    raw = write_handmade_raw(root / "raw")
    online = write_online_events(root / "online_events.parquet")
    db = root / "handmade.duckdb"
    run_dbt(["build"], db, {"raw_uri": str(raw), "online_events_path": str(online)},
            env=_run_dirs(root))
    return {"db": db, "raw": raw, "root": root}


@pytest.fixture(scope="session")
def messy(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The messy raw set built with `dbt build` (all tests) and split_quantile."""
    root = tmp_path_factory.mktemp("wh_messy")
    raw = write_messy_raw(root / "raw")
    db = root / "messy.duckdb"
    run_dbt(["build"], db, {"raw_uri": str(raw), "online_events_path": str(root / "absent.parquet"),
                            "split_quantile": SPLIT_QUANTILE}, env=_run_dirs(root))
    return {"db": db, "raw": raw, "root": root}


@pytest.fixture()
def messy_con(messy: dict[str, Path]):
    con = duckdb.connect(str(messy["db"]), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="session")
def tiny_warehouse(tmp_path_factory: pytest.TempPathFactory, tiny_raw_dir: Path) -> dict[str, Path]:
    """The generator's tiny preset built with `dbt build` and no online events file.

    Models and the singular (invariant) tests only: the generic column tests run on the same
    tiny data in the pipeline's session build (tests/conftest.py), and all tests run on the
    hand-made build above.
    """
    root = tmp_path_factory.mktemp("wh_tiny")
    db = root / "tiny.duckdb"
    absent = root / "never_written" / "online_events.parquet"
    run_dbt(["build", "--exclude", "test_type:unit", "test_type:generic"], db,
            {"raw_uri": str(tiny_raw_dir), "online_events_path": str(absent)},
            env=_run_dirs(root))
    return {"db": db, "raw": tiny_raw_dir, "root": root}


@pytest.fixture()
def handmade_con(handmade: dict[str, Path]):
    con = duckdb.connect(str(handmade["db"]), read_only=True)
    yield con
    con.close()


@pytest.fixture()
def tiny_con(tiny_warehouse: dict[str, Path]):
    con = duckdb.connect(str(tiny_warehouse["db"]), read_only=True)
    yield con
    con.close()
