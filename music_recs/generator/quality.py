"""Is the generated log learnable? Popularity vs ALS vs the truth oracle, NDCG@5 on the test window.

Why here and not in models_py: it is the generator's own acceptance check (ALS must clearly
beat popularity, and the oracle must beat both), run on raw ids with no warehouse, so the
generator can be tuned without the rest of the pipeline. Usage:
``python -m music_recs.generator.quality DIR [--users 3000]``.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import duckdb
import numpy as np
import scipy.sparse as sp

from music_recs.config import get_settings
from music_recs.generator.dynamics import TEST_START_DAY
from music_recs.generator.truth import load_truth

K = 5


def ndcg_at_k(recs: np.ndarray, relevant: list[set[int]], k: int = K) -> float:
    """Mean binary NDCG@k of rows of ``recs`` (item indices) against ``relevant`` sets."""
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    out = []
    for row, rel in zip(recs, relevant):
        dcg = sum(disc[i] for i, t in enumerate(row[:k]) if t in rel)
        out.append(dcg / disc[: min(len(rel), k)].sum())
    return float(np.mean(out))


def evaluate(raw_dir: Path, n_users: int = 3000, seed: int = 0) -> dict:
    """NDCG@5 of popularity, ALS and the oracle for up to ``n_users`` warm test users."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from implicit.als import AlternatingLeastSquares

    s = get_settings()
    con = duckdb.connect()
    df = con.execute(f"""
        SELECT user_id, track_id, datediff('day', DATE '2022-01-01', started_at::DATE) AS day
        FROM read_parquet('{raw_dir / "interactions.parquet"}')""").fetchnumpy()
    users, u_idx = np.unique(df["user_id"], return_inverse=True)
    tracks, t_idx = np.unique(df["track_id"], return_inverse=True)
    train = df["day"] < TEST_START_DAY
    X = sp.csr_matrix(
        (np.ones(train.sum(), np.float32), (u_idx[train], t_idx[train])), shape=(len(users), len(tracks))
    )
    heard = np.diff(X.indptr) > 0
    test_u, test_t = u_idx[~train], t_idx[~train]
    warm = np.unique(test_u[heard[test_u]])
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(warm, size=min(n_users, len(warm)), replace=False))
    rel: dict[int, set[int]] = {}
    for u, t in zip(test_u, test_t):
        rel.setdefault(int(u), set()).add(int(t))
    relevant = [rel[int(u)] for u in sample]

    pop_order = np.argsort(-np.asarray(X.sum(axis=0)).ravel(), kind="stable")
    pop = []
    for u in sample:
        seen = set(X.indices[X.indptr[u] : X.indptr[u + 1]].tolist())
        pop.append([t for t in pop_order[: K + len(seen)] if t not in seen][:K])
    pop = np.array(pop)

    model = AlternatingLeastSquares(
        factors=s.als.factors,
        iterations=s.als.iterations,
        regularization=s.als.regularization,
        random_state=s.seed,
    )
    model.fit((X * s.als.alpha).tocsr(), show_progress=False)
    als, _ = model.recommend(sample, X[sample], N=K, filter_already_liked_items=True)

    truth = load_truth(raw_dir)
    oracle = []
    for u in sample:
        sc = truth.score(np.full(len(tracks), users[u]), tracks)
        sc[X[u].indices] = -1.0
        oracle.append(np.argsort(-sc, kind="stable")[:K])
    result = {
        "users": int(len(sample)),
        "warm_test_users": int(len(warm)),
        "ndcg5_popularity": ndcg_at_k(pop, relevant),
        "ndcg5_als": ndcg_at_k(als, relevant),
        "ndcg5_oracle": ndcg_at_k(np.array(oracle), relevant),
    }
    result["als_over_popularity"] = result["ndcg5_als"] / max(result["ndcg5_popularity"], 1e-12)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("raw_dir", type=Path)
    parser.add_argument("--users", type=int, default=3000)
    args = parser.parse_args()
    print(json.dumps(evaluate(args.raw_dir, args.users), indent=2))


if __name__ == "__main__":
    main()
