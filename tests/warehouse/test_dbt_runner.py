"""orchestration.dbt_runner: vars from settings, and failures that name what failed."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from music_recs.config import Settings
from orchestration.dbt_runner import dbt_vars_from_settings, run_dbt


def test_vars_from_settings_keep_secrets_out_of_vars() -> None:
    settings = Settings(_env_file=None, raw_uri="s3://bucket/raw/", split_date="2022-12-16",
                        s3_secret_access_key="very-secret", s3_endpoint="127.0.0.1:9999")
    dbt_vars = dbt_vars_from_settings(settings)
    assert dbt_vars["raw_uri"] == "s3://bucket/raw"
    assert dbt_vars["split_date"] == "2022-12-16"
    assert dbt_vars["track_seq_quantile"] == settings.warehouse_vars.track_seq_quantile
    assert dbt_vars["split_quantile"] is None
    assert dbt_vars_from_settings(Settings(_env_file=None, split_quantile=0.9))["split_quantile"] == 0.9
    assert "very-secret" not in repr(dict(dbt_vars))
    assert dbt_vars.env["MUSIC_RECS_S3_SECRET_ACCESS_KEY"] == "very-secret"
    assert dbt_vars.env["MUSIC_RECS_S3_ENDPOINT"] == "127.0.0.1:9999"


def test_bad_var_fails_naming_the_model(tmp_path: Path, handmade: dict[str, Path]) -> None:
    """A malformed split_date stops dbt; the error names the model and the var."""
    with pytest.raises(RuntimeError, match=r"int_split_dates_computed(.|\n)*split_date"):
        run_dbt(["compile", "--select", "int_split_dates_computed"], tmp_path / "bad.duckdb",
                {"raw_uri": str(handmade["raw"]), "split_date": "16/12/2022"},
                env={"DBT_TARGET_PATH": str(tmp_path / "t"), "DBT_LOG_PATH": str(tmp_path / "l")})


def test_split_quantile_outside_0_1_fails_naming_it(tmp_path: Path, handmade: dict[str, Path],
                                                    caplog: pytest.LogCaptureFixture) -> None:
    """The compilation error names the model (in the exception) and the setting (dbt's output,
    streamed to the `dbt` logger)."""
    with caplog.at_level(logging.INFO, logger="dbt"):
        with pytest.raises(RuntimeError, match=r"model int_split_dates_computed"):
            run_dbt(["compile", "--select", "int_split_dates_computed"], tmp_path / "bad.duckdb",
                    {"raw_uri": str(handmade["raw"]), "split_quantile": 1.5},
                    env={"DBT_TARGET_PATH": str(tmp_path / "t"), "DBT_LOG_PATH": str(tmp_path / "l")})
    assert "var split_quantile (MUSIC_RECS_SPLIT_QUANTILE) must be in (0, 1) or null, got 1.5" \
        in caplog.text


def test_failed_nodes_are_named_from_run_results(tmp_path: Path) -> None:
    """The summary names data tests without their hash, and models/unit tests by name."""
    import json

    from orchestration.dbt_runner import failed_nodes

    results = {"results": [
        {"unique_id": "model.music_recs.items", "status": "success", "message": "OK"},
        {"unique_id": "model.music_recs.events", "status": "error",
         "message": "Binder Error:\n  column x not found"},
        {"unique_id": "test.music_recs.unique_items_track_id.4acb03194d", "status": "fail",
         "message": "Got 3 results, configured to fail if != 0"},
        {"unique_id": "unit_test.music_recs.int_names_standardized.test_names", "status": "fail",
         "message": "actual differs from expected"},
    ]}
    path = tmp_path / "run_results.json"
    path.write_text(json.dumps(results), encoding="utf-8")
    assert failed_nodes(path) == [
        "model events: Binder Error: column x not found",
        "test unique_items_track_id: Got 3 results, configured to fail if != 0",
        "unit_test test_names: actual differs from expected",
    ]
    assert failed_nodes(tmp_path / "missing.json") == []
