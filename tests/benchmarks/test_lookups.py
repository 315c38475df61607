"""The lookup benchmark on a small synthetic warehouse: every lookup row is measured."""

from __future__ import annotations

from pathlib import Path

import duckdb

from benchmarks import lookups, synthetic_warehouse


def test_synthetic_warehouse_then_lookup_table(tmp_path: Path, capsys) -> None:
    out = tmp_path / "synthetic.duckdb"
    assert (
        synthetic_warehouse.main(
            [
                "--out",
                str(out),
                "--users",
                "300",
                "--tracks",
                "200",
                "--listens",
                "3000",
                "--n-recs",
                "5",
                "--n-similar",
                "3",
            ]
        )
        == 0
    )
    con = duckdb.connect(str(out), read_only=True)
    assert con.execute("SELECT count(*) FROM recs_final").fetchone()[0] == 300 * 5
    assert con.execute("SELECT count(DISTINCT user_id) FROM events").fetchone()[0] <= 300
    con.close()
    capsys.readouterr()
    assert lookups.main(["--warehouse", str(out), "--n", "20"]) == 0
    rows = [
        line for line in capsys.readouterr().out.splitlines() if line.startswith("| ") and "µs" not in line
    ]
    names = " ".join(rows)
    for lookup in (
        "similar_tracks by track",
        "recs_final by user",
        "events (heard) by user",
        "catalog names",
    ):
        assert lookup in names
