"""RecTools models on the benchmark's train (run in the peer venv, not the product one).

``python -m benchmarks.real.peers --io DIR`` reads ``DIR``'s inputs (``peers_io``) and writes
one top-k parquet per model, ``timings.json`` and ``choices.json``. Imports only numpy,
pandas, rectools, implicit and catboost (the peer venv has none of the product packages).

Models (RecTools 0.19.0, ``filter_viewed=True``, fixed seeds):
- ``PopularModel()`` (distinct users);
- ``ImplicitALSWrapperModel(AlternatingLeastSquares(...))``: factors x regularization x alpha
  chosen on the nested split (fit = train up to the cut, validation = the last
  ``valid_days`` days of train; NDCG@5 of the validation users with fit history);
- ``EASEModel(regularization=...)`` and ``ImplicitItemKNNWrapperModel`` (cosine, BM25) with the
  lambda / K the main process chose on the same nested split;
- ``CandidateRankingModel``: candidates from Popular (30), the chosen ALS (50), EASE (50) and
  BM25 item-kNN (50) with their scores and ranks, plus user activity and item popularity of
  the history window; ``TimeRangeSplitter(<valid_days>D)`` (the reranker learns the last
  ``valid_days`` of train from candidates of the earlier part); ``PerUserNegativeSampler(3)``;
  ``CatBoostReranker(CatBoostRanker(YetiRank))``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
import typing as tp
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from benchmarks.real import peers_io as io  # noqa: E402

VALID_K = 5


def log(msg: str) -> None:
    print(f"[peers] {msg}", file=sys.stderr, flush=True)


def ndcg(recs: pd.DataFrame, truth: pd.DataFrame, users: np.ndarray, k: int = VALID_K) -> float:
    """Mean binary NDCG@k over ``users`` (ideal DCG over min(|T|, k), as models_py.metrics)."""
    if len(users) == 0:
        return float("nan")
    lists = io.frame_to_lists(recs, users, k)
    t = truth[truth[io.USER].isin(users)]
    rows = np.searchsorted(users, t[io.USER].to_numpy(dtype=np.int64))
    n_rel = np.bincount(rows, minlength=len(users))
    rel = set(zip(rows.tolist(), t[io.ITEM].to_numpy(dtype=np.int64).tolist()))
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    hits = np.array([[(r, it) in rel for it in lists[r]] for r in range(len(users))], dtype=float).reshape(
        len(users), k
    )
    dcg = (hits * disc).sum(axis=1)
    ideal = np.cumsum(disc)[np.minimum(n_rel, k) - 1]
    return float(np.mean(dcg / ideal))


class HistoryFeatures:
    """Feature collector: the user's number of history items and the item's number of history
    users (computed from the dataset the candidates came from, so no target leaks)."""

    def __new__(cls):  # the base class lives in rectools: build the subclass lazily
        from rectools import Columns
        from rectools.models.ranking import CandidateFeatureCollector

        class _Collector(CandidateFeatureCollector):
            def _get_user_features(self, users, dataset, fold_info):
                df = dataset.get_raw_interactions()
                f = df.groupby(Columns.User)[Columns.Item].count().rename("user_n_items").reset_index()
                return f[f[Columns.User].isin(users)]

            def _get_item_features(self, items, dataset, fold_info):
                df = dataset.get_raw_interactions()
                f = df.groupby(Columns.Item)[Columns.User].count().rename("item_n_users").reset_index()
                return f[f[Columns.Item].isin(items)]

        return _Collector()


def make_models(cfg: dict, als_params: dict) -> dict[str, tp.Callable[[], tp.Any]]:
    from catboost import CatBoostRanker
    from implicit.als import AlternatingLeastSquares
    from implicit.nearest_neighbours import BM25Recommender, CosineRecommender
    from rectools.model_selection import TimeRangeSplitter
    from rectools.models import EASEModel, ImplicitALSWrapperModel, ImplicitItemKNNWrapperModel, PopularModel
    from rectools.models.ranking import (
        CandidateGenerator,
        CandidateRankingModel,
        CatBoostReranker,
        PerUserNegativeSampler,
    )

    seed, threads = int(cfg["seed"]), int(cfg["threads"])

    def als():
        return ImplicitALSWrapperModel(
            AlternatingLeastSquares(
                factors=int(als_params["factors"]),
                regularization=float(als_params["regularization"]),
                alpha=float(als_params["alpha"]),
                iterations=int(cfg["als_iterations"]),
                random_state=seed,
                num_threads=threads,
            )
        )

    def ease():
        return EASEModel(regularization=float(cfg["ease_regularization"]), recommend_n_threads=threads)

    def knn(kind: str):
        k = int(cfg[f"knn_{kind}_neighbours"])
        inner = (
            CosineRecommender(K=k, num_threads=threads)
            if kind == "cosine"
            else BM25Recommender(K=k, num_threads=threads)
        )
        return ImplicitItemKNNWrapperModel(inner)

    def two_stage():
        gens = [
            CandidateGenerator(PopularModel(), num_candidates=30, keep_ranks=True, keep_scores=True),
            CandidateGenerator(als(), num_candidates=50, keep_ranks=True, keep_scores=True),
            CandidateGenerator(ease(), num_candidates=50, keep_ranks=True, keep_scores=True),
            CandidateGenerator(knn("bm25"), num_candidates=50, keep_ranks=True, keep_scores=True),
        ]
        splitter = TimeRangeSplitter(
            test_size=f"{int(cfg['valid_days'])}D",
            n_splits=1,
            filter_already_seen=True,
            filter_cold_items=True,
            filter_cold_users=True,
        )
        reranker = CatBoostReranker(
            CatBoostRanker(
                loss_function="YetiRank",
                iterations=int(cfg["catboost_iterations"]),
                random_seed=seed,
                thread_count=threads,
                verbose=False,
                allow_writing_files=False,
            )
        )
        return CandidateRankingModel(
            gens,
            splitter,
            reranker,
            sampler=PerUserNegativeSampler(n_negatives=3, random_state=seed),
            feature_collector=HistoryFeatures(),
        )

    return {
        "RecTools: Popular": PopularModel,
        "RecTools: ALS": als,
        "RecTools: EASE": ease,
        "RecTools: item-kNN cosine": lambda: knn("cosine"),
        "RecTools: item-kNN BM25": lambda: knn("bm25"),
        "RecTools: two-stage CatBoost": two_stage,
    }


def nested(
    train: pd.DataFrame, valid_days: int, max_users: int, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """(fit pairs, validation pairs, validation users with fit history): the main process's cut."""
    last = train[io.DATETIME].max()
    cut = last - pd.Timedelta(days=valid_days)
    fit = train[train[io.DATETIME] <= cut]
    valid = train[(train[io.DATETIME] > cut) & train[io.USER].isin(fit[io.USER].unique())]
    users = np.unique(valid[io.USER].to_numpy(dtype=np.int64))
    if 0 < max_users < len(users):
        users = np.sort(np.random.default_rng(seed).choice(users, size=max_users, replace=False))
    return fit, valid, users


def choose_als(train: pd.DataFrame, cfg: dict) -> tuple[dict, dict]:
    from rectools.dataset import Dataset

    fit, valid, users = nested(train, int(cfg["valid_days"]), int(cfg["valid_max_users"]), int(cfg["seed"]))
    ds = Dataset.construct(fit)
    grid = cfg["als_grid"]
    scores = {}
    for factors, reg, alpha in itertools.product(grid["factors"], grid["regularization"], grid["alpha"]):
        params = {"factors": factors, "regularization": reg, "alpha": alpha}
        model = make_models(cfg, params)["RecTools: ALS"]()
        model.fit(ds)
        recs = model.recommend(users, ds, k=VALID_K, filter_viewed=True, on_unsupported_targets="ignore")
        scores[f"factors={factors} regularization={reg} alpha={alpha}"] = (ndcg(recs, valid, users), params)
        log(f"ALS {params}: validation NDCG@{VALID_K} {scores[list(scores)[-1]][0]:.4f}")
    best = max(scores.values(), key=lambda v: v[0])[1]  # first of equals: grid order
    return best, {name: v[0] for name, v in scores.items()}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--io", type=Path, required=True, help="folder written by the benchmark (peers_io)")
    ap.add_argument("--only", nargs="*", help="model names to run (default: all)")
    args = ap.parse_args(argv)

    import rectools
    from rectools.dataset import Dataset

    train, users, cfg = io.read_inputs(args.io)
    log(
        f"rectools {rectools.__version__}: {len(train)} train pairs, {len(users)} users to recommend, k={cfg['k']}"
    )
    timings: dict[str, float] = {}
    choices: dict[str, tp.Any] = {"rectools": rectools.__version__}

    started = time.perf_counter()
    als_params, als_scores = choose_als(train, cfg)
    timings["RecTools: ALS (grid on nested split)"] = time.perf_counter() - started
    choices["als"] = {"chosen": als_params, "validation_ndcg@5": als_scores}
    log(f"ALS chosen: {als_params}")

    dataset = Dataset.construct(train)
    for name, factory in make_models(cfg, als_params).items():
        if args.only and name not in args.only:
            continue
        started = time.perf_counter()
        model = factory()
        model.fit(dataset)
        recs = model.recommend(
            users, dataset, k=int(cfg["k"]), filter_viewed=True, on_unsupported_targets="warn"
        )
        io.write_lists(
            args.io, name, recs.rename(columns={"user_id": io.USER, "item_id": io.ITEM, "rank": io.RANK})
        )
        timings[name] = time.perf_counter() - started
        log(f"{name}: {len(recs)} rows in {timings[name]:.1f}s")
        io.write_json(args.io, "timings.json", timings)
    io.write_json(args.io, "choices.json", choices)


if __name__ == "__main__":
    main()
