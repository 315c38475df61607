"""Bootstrap confidence intervals of the final list's NDCG@5 against ALS and popularity.

    python -m benchmarks.intervals [--db PATH] [--k 5] [--resamples 1000]

Reads one build (default: the published warehouse), rebuilds each test user's lists exactly
as the ``evaluate`` step does (cold users on the popularity fallback, heard tracks never
recommended) and prints the paired bootstrap 95% interval over test users of
final / ALS and final / popularity, for all and warm users. Run it on the nested build to
compare choices, and once on the real build for a published figure.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from benchmarks.bootstrap import paired_ratio
from models_py import metrics as M
from models_py import popularity
from models_py.db import connect
from models_py.evaluate import load_eval_data, table_lists, with_fallback
from music_recs.config import get_settings
from music_recs.tables import Tables


def build_half_life(build_file: Path) -> float:
    """The popularity half-life a build chose, from its artifacts
    (``<warehouse folder>/artifacts/<build>/popularity.json``, as every build lays them out)."""
    path = build_file.parent.parent / "artifacts" / build_file.stem / popularity.ARTIFACT
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the build's popularity artifact is missing")
    return float(json.loads(path.read_text())["half_life_days"])


def per_user_ndcg(db_path: Path, k: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """NDCG@k per test user of popularity, ALS and the final list; and the warm mask."""
    build_file = db_path.resolve()
    with connect(build_file, read_only=True) as con:
        data = load_eval_data(con)
        pop = popularity.recommend(con, data.train, data.user_ids, build_half_life(build_file), k)
        lists = {
            "popularity": pop,
            "ALS": with_fallback(table_lists(con, Tables.RecsAls, data.user_ids, k), pop),
            "final": with_fallback(table_lists(con, Tables.RecsFinal, data.user_ids, k), pop),
        }
    ndcg = {
        name: M.ndcg_at_k(M.hit_matrix(recs, data.rel_rows, data.rel_items), data.n_relevant, k)
        for name, recs in lists.items()
    }
    return ndcg, data.warm


def intervals(db_path: Path, k: int = 5, n_resamples: int = 1000, seed: int = 42) -> list[dict[str, object]]:
    """One row per (segment, reference): the users, both means and the ratio's interval."""
    ndcg, warm = per_user_ndcg(db_path, k)
    rows = []
    for segment, mask in (("all", np.ones_like(warm)), ("warm", warm)):
        for ref in ("ALS", "popularity"):
            ci = paired_ratio(ndcg["final"][mask], ndcg[ref][mask], n_resamples=n_resamples, seed=seed)
            rows.append(
                {
                    "segment": segment,
                    "reference": ref,
                    "users": int(mask.sum()),
                    f"final NDCG@{k}": float(ndcg["final"][mask].mean()),
                    f"{ref} NDCG@{k}": float(ndcg[ref][mask].mean()),
                    "ratio": ci.ratio,
                    "low": ci.low,
                    "high": ci.high,
                }
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.intervals",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--db", type=Path, default=None, help="build file (default: the published warehouse)")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    db = args.db or get_settings().warehouse_path
    if not db.exists():
        print(f"error: {db}: no build (run `make build` first)", file=sys.stderr)
        return 2
    print(
        f"{db.resolve().name}: paired bootstrap ({args.resamples} resamples, seed {args.seed}) over test users"
    )
    for r in intervals(db, args.k, args.resamples, args.seed):
        ref = r["reference"]
        print(
            f"  {r['segment']:>4} ({r['users']} users): final / {ref:<10} = {r['ratio']:.3f} "
            f"(95% CI {r['low']:.3f}-{r['high']:.3f}); NDCG@{args.k} final {r[f'final NDCG@{args.k}']:.4f}, "
            f"{ref} {r[f'{ref} NDCG@{args.k}']:.4f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
