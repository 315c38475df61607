"""NDCG@5 of the final list and of popularity when the test window is cut after N days.

    python -m benchmarks.horizons --db warehouse/real/ml-1m/music_recs.duckdb [--days 7 25 60 180]

Why: on a log whose test window spans years (MovieLens-1M: 26 months), a list can win on a
short horizon and lose on the whole window; this shows where. Warm test users only (cold
users get the same popularity list in both), relevant = their test tracks first heard within
N days of the split; a plain-Python reference computation, independent of models_py.metrics.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import duckdb


def ndcg(lists: dict[int, list[int]], truth: dict[int, set[int]], k: int = 5) -> float:
    total = 0.0
    for user, rel in truth.items():
        dcg = sum(1 / math.log2(i + 2) for i, t in enumerate(lists.get(user, [])[:k]) if t in rel)
        total += dcg / sum(1 / math.log2(i + 2) for i in range(min(len(rel), k)))
    return total / len(truth) if truth else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.horizons",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--days", type=int, nargs="+", default=[7, 25, 60, 180, 100000])
    args = parser.parse_args(argv)
    con = duckdb.connect(str(args.db), read_only=True)
    heard: dict[int, set[int]] = {}
    for u, t in con.execute("SELECT user_id, track_id FROM events_train").fetchall():
        heard.setdefault(u, set()).add(t)
    popular = [t for (t,) in con.execute("SELECT track_id FROM recs_popular ORDER BY rank").fetchall()]
    final: dict[int, list[int]] = {}
    for u, t in con.execute("SELECT user_id, track_id FROM recs_final ORDER BY user_id, rank").fetchall():
        final.setdefault(u, []).append(t)
    for days in args.days:
        truth: dict[int, set[int]] = {}
        for u, t in con.execute(
            "SELECT e.user_id, e.track_id FROM events_test e, split_info s "
            "WHERE e.first_listen <= s.split_date + ?",
            [days],
        ).fetchall():
            if u in heard:
                truth.setdefault(u, set()).add(t)
        pop = {u: [t for t in popular if t not in heard[u]][:5] for u in truth}
        print(
            f"first {days:>6} days: {len(truth):>6} warm users  NDCG@5 popularity {ndcg(pop, truth):.4f}  "
            f"final {ndcg(final, truth):.4f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
