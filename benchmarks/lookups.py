"""Per-request lookup cost: in-memory sorted arrays vs DuckDB point queries, on one warehouse.

Why: the services must answer with an indexed lookup, never a scan; this measures what each
option costs per request (CPU, single thread) and what loading the in-memory form costs, so
the choice in services/lookups.py rests on numbers. Usage::

    python -m benchmarks.lookups --warehouse warehouse/music_recs.duckdb --n 500
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np

from services.lookups import CatalogIndex, KeyedLists, load_heard, load_recs_final, load_similar


def _time(fn: Callable[[int], object], keys: list[int]) -> tuple[float, float, float]:
    """p50 and p99 wall time (µs) and mean CPU time (µs) of ``fn`` over ``keys``."""
    walls = []
    cpu0 = time.process_time()
    for key in keys:
        t0 = time.perf_counter()
        fn(key)
        walls.append((time.perf_counter() - t0) * 1e6)
    cpu = (time.process_time() - cpu0) / len(keys) * 1e6
    return float(np.percentile(walls, 50)), float(np.percentile(walls, 99)), cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.lookups",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--n", type=int, default=500, help="lookups per case")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    con = duckdb.connect(str(args.warehouse.resolve()), read_only=True, config={"threads": 1})
    cur = con.cursor()
    rng = random.Random(args.seed)
    users = [r[0] for r in con.execute("SELECT DISTINCT user_id FROM recs_final").fetchall()]
    tracks = [r[0] for r in con.execute("SELECT DISTINCT track_id FROM similar_tracks").fetchall()]
    user_keys = [rng.choice(users) for _ in range(args.n)]
    track_keys = [rng.choice(tracks) for _ in range(args.n)]
    batches = [[rng.choice(tracks) for _ in range(20)] for _ in range(args.n)]

    loaded: dict[str, KeyedLists | CatalogIndex] = {}
    print("| lookup | rows | load s | memory MB | in-memory p50 / p99 / CPU µs | DuckDB p50 / p99 / CPU µs |")
    print("|---|---|---|---|---|---|")
    cases = [
        (
            "similar_tracks by track",
            "similar_tracks",
            load_similar,
            track_keys,
            lambda kl, k: kl.get(k, limit=20),
            lambda k: sorted(
                cur.execute(
                    "SELECT similar_track_id, score, rank FROM similar_tracks WHERE track_id = ?", [k]
                ).fetchall(),
                key=lambda r: r[2],
            ),
        ),
        (
            "recs_final by user",
            "recs_final",
            load_recs_final(10**12),
            user_keys,
            lambda kl, k: kl.get(k, limit=40),
            lambda k: sorted(
                cur.execute("SELECT track_id, score, rank FROM recs_final WHERE user_id = ?", [k]).fetchall(),
                key=lambda r: r[2],
            ),
        ),
        (
            "events (heard) by user",
            "events",
            load_heard(10**12),
            user_keys,
            lambda kl, k: set(kl.values_of(k)),
            lambda k: cur.execute("SELECT track_id FROM events WHERE user_id = ?", [k]).fetchall(),
        ),
        (
            "catalog names, 20 ids",
            "catalog",
            CatalogIndex.load,
            batches,
            lambda ci, k: ci.lookup(k),
            lambda k: cur.execute(
                "SELECT track_id, track_name, artist_name, album_name, genre_name "
                "FROM catalog WHERE track_id IN (SELECT unnest(?::BIGINT[]))",
                [k],
            ).fetchall(),
        ),
    ]
    for label, table, loader, keys, mem_fn, sql_fn in cases:
        rows = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
        t0 = time.perf_counter()
        obj = loader(con)
        load_s = time.perf_counter() - t0
        loaded[table] = obj
        if isinstance(obj, KeyedLists):
            nbytes = (
                obj.keys.nbytes
                + obj.offsets.nbytes
                + obj.values.nbytes
                + (obj.scores.nbytes if obj.scores is not None else 0)
            )
        else:
            nbytes = obj.track_ids.nbytes + obj.rows.nbytes
        m50, m99, mcpu = _time(lambda k, o=obj, f=mem_fn: f(o, k), keys)
        s50, s99, scpu = _time(sql_fn, keys)
        print(
            f"| {label} | {rows:,} | {load_s:.2f} | {nbytes / 2**20:.0f} | "
            f"{m50:.0f} / {m99:.0f} / {mcpu:.0f} | {s50:.0f} / {s99:.0f} / {scpu:.0f} |"
        )
    con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
