"""Ranking and beyond-accuracy metrics of ``docs/evaluation.md``, as pure functions.

Recommendation lists are a 2-D int array ``recs`` (one row per user, best first, padded with
``PAD`` = -1 when a list is shorter). Accuracy metrics take the boolean ``hits`` matrix of the
same shape (``hit_matrix``) and the number of relevant items per user; they return one value
per user so that segments (warm / cold) are plain masks. Averages are over users.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from models_py.arrays import unique_sorted

PAD = -1


def _check_k(recs: np.ndarray, k: int) -> None:
    if recs.ndim != 2:
        raise ValueError(f"recommendation lists must be a 2-D array, got shape {recs.shape}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")


def _check_relevant(n_relevant: np.ndarray, n_users: int) -> np.ndarray:
    n_relevant = np.asarray(n_relevant)
    if n_relevant.shape != (n_users,):
        raise ValueError(f"n_relevant must have one value per user ({n_users}), got {n_relevant.shape}")
    if (n_relevant < 1).any():
        raise ValueError("every evaluated user needs at least one relevant item")
    return n_relevant


def _lookup(item_ids: np.ndarray, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row of each ``query`` id in ``item_ids`` and whether it was found (ids need not be sorted)."""
    item_ids = np.asarray(item_ids)
    query = np.asarray(query)
    if len(item_ids) == 0:
        return np.zeros(query.shape, dtype=np.int64), np.zeros(query.shape, dtype=bool)
    order = np.argsort(item_ids, kind="stable")
    pos = np.minimum(np.searchsorted(item_ids[order], query), len(item_ids) - 1)
    return order[pos], item_ids[order][pos] == query


def hit_matrix(recs: np.ndarray, rel_rows: np.ndarray, rel_items: np.ndarray) -> np.ndarray:
    """``hits[u, i]`` = recs[u, i] is relevant to user row u (pairs given as rows + items)."""
    if recs.ndim != 2:
        raise ValueError(f"recommendation lists must be a 2-D array, got shape {recs.shape}")
    rel_rows = np.asarray(rel_rows, dtype=np.int64)
    rel_items = np.asarray(rel_items, dtype=np.int64)
    if rel_rows.shape != rel_items.shape:
        raise ValueError("rel_rows and rel_items must have the same length")
    if len(rel_rows) and (rel_rows.min() < 0 or rel_rows.max() >= recs.shape[0]):
        raise ValueError("rel_rows must index rows of recs")
    if (rel_items < 0).any() or (recs < PAD).any():
        raise ValueError("item ids must be non-negative (PAD = -1 marks empty slots)")
    span = int(max(recs.max(initial=0), rel_items.max(initial=0))) + 2
    rows = np.arange(recs.shape[0], dtype=np.int64)[:, None]
    rec_keys = rows * span + (recs.astype(np.int64) + 1)
    rel_keys = rel_rows * span + (rel_items + 1)
    hits = np.isin(rec_keys, rel_keys)
    return hits & (recs != PAD)


def precision_at_k(hits: np.ndarray, k: int) -> np.ndarray:
    """|L ∩ T| / k per user (a short list still divides by k)."""
    _check_k(hits, k)
    return hits[:, :k].sum(axis=1) / k


def recall_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """|L ∩ T| / |T| per user."""
    _check_k(hits, k)
    n_relevant = _check_relevant(n_relevant, hits.shape[0])
    return hits[:, :k].sum(axis=1) / n_relevant


def capped_recall_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """|L ∩ T| / min(|T|, k): reaches 1 when the list is as good as it can be."""
    _check_k(hits, k)
    n_relevant = _check_relevant(n_relevant, hits.shape[0])
    return hits[:, :k].sum(axis=1) / np.minimum(n_relevant, k)


def _discounts(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2))


def ndcg_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """Binary-gain NDCG; the ideal DCG fills min(|T|, k) positions."""
    _check_k(hits, k)
    n_relevant = _check_relevant(n_relevant, hits.shape[0])
    top = hits[:, :k]
    disc = _discounts(k)[: top.shape[1]]
    dcg = (top * disc).sum(axis=1)
    ideal = np.cumsum(_discounts(k))[np.minimum(n_relevant, k) - 1]
    return dcg / ideal


def average_precision_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    """(Σ_{i<k} P@(i+1)·rel_i) / min(|T|, k) per user; MAP@k is its mean."""
    _check_k(hits, k)
    n_relevant = _check_relevant(n_relevant, hits.shape[0])
    top = hits[:, :k].astype(np.float64)
    prec = np.cumsum(top, axis=1) / np.arange(1, top.shape[1] + 1)
    return (prec * top).sum(axis=1) / np.minimum(n_relevant, k)


def hit_rate_at_k(hits: np.ndarray, k: int) -> np.ndarray:
    """1.0 for users with at least one hit in the top k."""
    _check_k(hits, k)
    return hits[:, :k].any(axis=1).astype(np.float64)


def novelty_at_k(
    recs: np.ndarray, k: int, item_ids: np.ndarray, item_n_users: np.ndarray, n_train_users: int
) -> np.ndarray:
    """Mean self-information −log2(n_users(i) / n_train_users) of each user's list.

    ``item_ids``/``item_n_users`` give train-window user counts; an item absent from them (never
    seen in train) counts as seen by one user (Zhou et al. 2010). Empty lists give NaN.
    """
    _check_k(recs, k)
    if n_train_users < 1:
        raise ValueError("n_train_users must be >= 1")
    top = recs[:, :k]
    valid = top != PAD
    rows, found = _lookup(item_ids, top)
    known_counts = np.asarray(item_n_users, dtype=np.float64)
    if known_counts.shape != np.shape(item_ids):
        raise ValueError("item_n_users must have one count per item id")
    counts = np.ones(top.shape)
    if len(known_counts):
        counts = np.where(found & valid, np.maximum(known_counts[rows], 1.0), 1.0)
    info = -np.log2(counts / n_train_users)
    n_valid = valid.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_valid > 0, (info * valid).sum(axis=1) / n_valid, np.nan)


def item_feature_matrix(
    item_ids: np.ndarray, pair_items: np.ndarray, pair_features: np.ndarray
) -> sp.csr_matrix:
    """Binary item × feature matrix (rows in ``item_ids`` order) from (item, feature) pairs."""
    rows, keep = _lookup(item_ids, np.asarray(pair_items))
    rows = rows[keep]
    _, cols = np.unique(np.asarray(pair_features)[keep], return_inverse=True)
    n_cols = int(cols.max()) + 1 if len(cols) else 0
    mat = sp.csr_matrix((np.ones(len(rows), dtype=np.float64), (rows, cols)), shape=(len(item_ids), n_cols))
    mat.sum_duplicates()
    mat.data[:] = 1.0  # duplicated pairs count once
    return mat


def intra_list_diversity_at_k(
    recs: np.ndarray, k: int, item_ids: np.ndarray, features: sp.csr_matrix
) -> np.ndarray:
    """Mean over the list's pairs of 1 − Jaccard(feature sets) (e.g. genres or artists).

    ``features`` is a binary item × feature matrix whose rows follow ``item_ids``. Two items
    with no features at all count as identical (Jaccard 1, like scipy's ``jaccard``); an item
    unknown to ``item_ids`` has no features. Users with fewer than two items give NaN.
    """
    return intra_list_diversity(recs, (k,), item_ids, features)[k]


def intra_list_diversity(
    recs: np.ndarray, ks: tuple[int, ...], item_ids: np.ndarray, features: sp.csr_matrix
) -> dict[int, np.ndarray]:
    """``intra_list_diversity_at_k`` for several k at once: each slot pair's Jaccard is
    computed once and counted for every k that holds both slots (at k = 5, 10, 20 that is 190
    pairs instead of 245, the bulk of evaluate's metric time at full scale)."""
    for k in ks:
        _check_k(recs, k)
    item_ids = np.asarray(item_ids)
    if features.shape[0] != len(item_ids):
        raise ValueError("features must have one row per item id")
    width = min(max(ks), recs.shape[1])
    top = recs[:, :width]
    rows, known = _lookup(item_ids, top)
    known &= top != PAD
    # row of each slot in an extended matrix whose last row is the empty feature set
    ext = sp.vstack([features, sp.csr_matrix((1, features.shape[1]))]).tocsr()
    rows = np.where(known, rows, len(item_ids))
    sizes = np.asarray(ext.sum(axis=1)).ravel()
    valid = top != PAD
    total = {k: np.zeros(top.shape[0]) for k in ks}
    n_pairs = {k: np.zeros(top.shape[0]) for k in ks}
    slots = [ext[rows[:, a]] for a in range(width)]
    for a in range(width):
        for b in range(a + 1, width):
            inter = np.asarray(slots[a].multiply(slots[b]).sum(axis=1)).ravel()
            union = sizes[rows[:, a]] + sizes[rows[:, b]] - inter
            with np.errstate(invalid="ignore", divide="ignore"):
                jac = np.where(union > 0, inter / union, 1.0)
            pair_ok = valid[:, a] & valid[:, b]
            diverse = np.where(pair_ok, 1.0 - jac, 0.0)
            for k in ks:
                if b < k:
                    total[k] += diverse
                    n_pairs[k] += pair_ok
    out = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        for k in ks:
            out[k] = np.where(n_pairs[k] > 0, total[k] / n_pairs[k], np.nan)
    return out


def coverage_at_k(recs: np.ndarray, k: int, n_catalog: int) -> float:
    """Distinct recommended items (over all users' top k) / items in the catalogue."""
    _check_k(recs, k)
    if n_catalog < 1:
        raise ValueError("n_catalog must be >= 1")
    top = recs[:, :k]
    return float(len(unique_sorted(top[top != PAD])) / n_catalog)  # np.unique hashes: slow at full scale


#: Accuracy metrics computed from the hit matrix: name -> function(hits, n_relevant, k).
ACCURACY_METRICS = {
    "precision": lambda hits, n_rel, k: precision_at_k(hits, k),
    "recall": recall_at_k,
    "recall_capped": capped_recall_at_k,
    "ndcg": ndcg_at_k,
    "map": average_precision_at_k,
    "hit_rate": lambda hits, n_rel, k: hit_rate_at_k(hits, k),
}
