"""The before/after check of a restructuring: identical tables pass, one changed row fails."""

from __future__ import annotations

from pathlib import Path

import duckdb

from benchmarks import same_build


def _build(path: Path, rows: list[tuple[int, int, float, int]]) -> Path:
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE recs_final (user_id INTEGER, track_id BIGINT, score DOUBLE, rank INTEGER)")
    con.executemany("INSERT INTO recs_final VALUES (?, ?, ?, ?)", rows)
    con.execute("CREATE TABLE eval_metrics AS SELECT 'als' AS model, 0.5 AS value")
    con.close()
    return path


def test_same_rows_in_any_order_pass_and_a_changed_score_fails(tmp_path: Path, capsys) -> None:
    rows = [(1, 10, 0.9, 1), (1, 11, 0.8, 2), (2, 10, 0.7, 1)]
    old = _build(tmp_path / "old.duckdb", rows)
    assert same_build.main([str(old), str(_build(tmp_path / "new.duckdb", rows[::-1]))]) == 0
    changed = _build(tmp_path / "changed.duckdb", [*rows[:2], (2, 10, 0.70001, 1)])
    assert same_build.main([str(old), str(changed)]) == 1
    assert "recs_final: 3 vs 3 rows, 1 only in old, 1 only in new: DIFFERENT" in capsys.readouterr().out
