"""Array helpers the steps share: set operations on large int64 key arrays (by sorting), and
rows scaled to unit length.

Why not ``np.unique`` / ``np.union1d`` / ``np.isin``: numpy 2.3 answers ``np.unique`` without
``return_*`` from a hash table, which is fast for few distinct values and slow for millions
of them (the distinct candidate keys of a full-scale serve chunk), where a sort is far
cheaper.
"""

from __future__ import annotations

import numpy as np


def unique_sorted(values: np.ndarray) -> np.ndarray:
    """The distinct values, ascending (what ``np.unique(values)`` returns)."""
    v = np.sort(np.asarray(values), kind="stable")
    if len(v) == 0:
        return v
    return v[np.r_[True, v[1:] != v[:-1]]]


def member_of(values: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """Whether each value is in ``pool`` (what ``np.isin(values, pool)`` returns)."""
    values = np.asarray(values)
    if len(pool) == 0:
        return np.zeros(values.shape, dtype=bool)
    pool = np.sort(np.asarray(pool))
    pos = np.minimum(np.searchsorted(pool, values), len(pool) - 1)
    return pool[pos] == values


def normalized(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.where(norms > 0, vectors / np.maximum(norms, 1e-12), 0.0).astype(np.float32)
