"""Are two builds' served results identical? Compares tables row for row (order-independent).

Why: a restructuring must not change what is served or measured; this is the check behind
"same ``recs_final`` and ``eval_metrics`` before and after". Usage::

    python -m benchmarks.same_build OLD.duckdb NEW.duckdb [--tables recs_final eval_metrics]

Exit status 0 when every table has the same columns and the same multiset of rows.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb

DEFAULT_TABLES = ("recs_final", "eval_metrics")


def compare(old: Path, new: Path, tables: list[str]) -> list[tuple[str, int, int, int, int]]:
    """Per table: (name, rows old, rows new, rows only in old, rows only in new)."""
    con = duckdb.connect()
    con.execute(f"ATTACH '{old}' AS a (READ_ONLY)")
    con.execute(f"ATTACH '{new}' AS b (READ_ONLY)")
    out = []
    for t in tables:
        cols_a = con.execute(f"SELECT * FROM a.{t} LIMIT 0").description
        cols_b = con.execute(f"SELECT * FROM b.{t} LIMIT 0").description
        if [c[0] for c in cols_a] != [c[0] for c in cols_b]:
            raise SystemExit(f"{t}: columns differ: {[c[0] for c in cols_a]} vs {[c[0] for c in cols_b]}")
        n_a = con.execute(f"SELECT count(*) FROM a.{t}").fetchone()[0]
        n_b = con.execute(f"SELECT count(*) FROM b.{t}").fetchone()[0]
        only_a = con.execute(
            f"SELECT count(*) FROM (SELECT * FROM a.{t} EXCEPT ALL SELECT * FROM b.{t})"
        ).fetchone()[0]
        only_b = con.execute(
            f"SELECT count(*) FROM (SELECT * FROM b.{t} EXCEPT ALL SELECT * FROM a.{t})"
        ).fetchone()[0]
        out.append((t, n_a, n_b, only_a, only_b))
    con.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.same_build",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--tables", nargs="+", default=list(DEFAULT_TABLES))
    args = parser.parse_args(argv)
    same = True
    for t, n_a, n_b, only_a, only_b in compare(args.old.resolve(), args.new.resolve(), args.tables):
        verdict = "identical" if n_a == n_b and only_a == only_b == 0 else "DIFFERENT"
        same &= verdict == "identical"
        print(f"{t}: {n_a} vs {n_b} rows, {only_a} only in old, {only_b} only in new: {verdict}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
