"""The query floor of a dbt build: each model's compiled SQL run alone in DuckDB.

Why: the warehouse issue measures the whole ``dbt build`` against the cost of its single
heaviest query run alone, with nothing else competing (the floor). This replays the
compiled SELECT of the slowest models of a finished build, one at a time, each in a fresh
process on the built file with the build's DuckDB settings, as
``CREATE TEMP TABLE _floor AS <compiled sql>``, and reports wall time and peak RSS.

With ``--persist`` the result is written into the build file itself, as the build writes it
(``CREATE TABLE`` + commit: compression and the write to disk included), then dropped
untimed. That is the like-for-like cost of a model; the temp-table figure is the cost of the
query alone. ``--persist`` modifies the file (use a copy you can spare).

    python -m benchmarks.dbt_floor --run-dir target/dbt-runs/<build id> --db <build file> --top 6
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from music_recs.config import get_settings


def slowest_models(run_dir: Path, top: int) -> list[tuple[str, float, Path]]:
    """(model name, build seconds, compiled SQL file) of the ``top`` slowest models of a run."""
    target = run_dir / "target"
    results = json.loads((target / "run_results.json").read_text())["results"]
    manifest = json.loads((target / "manifest.json").read_text())["nodes"]
    models = []
    for r in results:
        node = manifest.get(r["unique_id"], {})
        if node.get("resource_type") != "model" or r.get("status") != "success":
            continue
        compiled = target / "compiled" / node["package_name"] / node["original_file_path"]
        models.append((node["name"], float(r["execution_time"]), compiled))
    models.sort(key=lambda m: -m[1])
    return models[:top]


def run_one(
    db: Path, catalog: str, sql_file: Path, memory_limit: str, threads: int, persist: bool = False
) -> dict[str, float]:
    """Run one compiled SELECT into a temp table (or, ``persist``, a table of the file);
    wall seconds and this process's peak RSS.

    Older builds' compiled SQL names tables as ``"<catalog>"."main"."<model>"`` (the build
    file's name), so the file, which may be a renamed copy, is attached under that name.
    """
    con = duckdb.connect()
    con.execute(f"ATTACH '{db}' AS \"{catalog}\"")
    con.execute(f'USE "{catalog}"')
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET threads = {threads}")
    con.execute("SET preserve_insertion_order = false")
    sql = sql_file.read_text()
    target = "main._dbt_floor" if persist else "_floor"
    started = time.perf_counter()
    con.execute(f"CREATE {'' if persist else 'TEMP '}TABLE {target} AS {sql}")  # autocommit
    seconds = time.perf_counter() - started
    rows = con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]
    if persist:
        con.execute(f"DROP TABLE {target}")
        con.execute("CHECKPOINT")
    con.close()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(peak_mb), "rows": rows}


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", type=Path, required=True, help="target/dbt-runs/<build id>")
    parser.add_argument("--db", type=Path, required=True, help="the build's DuckDB file")
    parser.add_argument("--top", type=int, default=5, help="how many of the slowest models")
    parser.add_argument("--memory-limit", default=settings.dbt.memory_limit)
    parser.add_argument("--threads", type=int, default=settings.dbt.threads)
    parser.add_argument(
        "--persist",
        action="store_true",
        help="write each result into the file as the build does (modifies it)",
    )
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)  # child: one SQL file
    args = parser.parse_args(argv)
    if args.one:
        print(
            json.dumps(
                run_one(args.db, args.run_dir.name, args.one, args.memory_limit, args.threads, args.persist)
            )
        )
        return 0
    for name, build_s, sql_file in slowest_models(args.run_dir, args.top):
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.dbt_floor",
                "--run-dir",
                str(args.run_dir),
                "--db",
                str(args.db),
                "--memory-limit",
                args.memory_limit,
                "--threads",
                str(args.threads),
                "--one",
                str(sql_file),
                *(["--persist"] if args.persist else []),
            ],
            capture_output=True,
            text=True,
        )
        if out.returncode != 0:
            print(f"{name}: failed\n{out.stderr[-2000:]}", file=sys.stderr)
            return 1
        alone = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            json.dumps({"model": name, "in_build_s": round(build_s, 2), "persist": args.persist, **alone}),
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
