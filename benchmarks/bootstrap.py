"""Paired bootstrap of the ratio of two per-user metric means.

``paired_ratio(a, b)``: ``a[i]`` and ``b[i]`` are the same user's metric under two models (e.g.
NDCG@5 of ours and of the best other model). The statistic is ``mean(a) / mean(b)``; each
resample draws users with replacement and takes *the same users* for both arrays (paired), so
the interval reflects how much the ratio depends on which users happened to be in the test
set, with the between-model correlation kept. Percentile interval, seeded.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

#: Resamples drawn per vectorised block (block x n_users int64 indices in memory at once).
_BLOCK_CELLS = 1 << 22


@dataclass(frozen=True)
class RatioCI:
    """Point ratio ``mean(a) / mean(b)`` with its percentile bootstrap interval."""

    ratio: float
    low: float
    high: float
    confidence: float
    n_users: int
    n_resamples: int
    seed: int

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return (
            f"{self.ratio:.3f} (95% CI {self.low:.3f}-{self.high:.3f})"
            if self.confidence == 0.95
            else f"{self.ratio:.3f} ({self.confidence:.0%} CI {self.low:.3f}-{self.high:.3f})"
        )


def _ratio(num: float, den: float) -> float:
    if den == 0:
        return float("nan") if num == 0 else float("inf")
    return num / den


def resample_ratios(a: np.ndarray, b: np.ndarray, n_resamples: int = 1000, seed: int = 42) -> np.ndarray:
    """The ratio ``sum(a[idx]) / sum(b[idx])`` of each of ``n_resamples`` paired resamples
    (``idx``: n users drawn with replacement by ``np.random.default_rng(seed)``; a resample
    whose ``b`` sums to 0 gives inf, or nan when ``a`` does too)."""
    a, b = _check(a, b)
    n = len(a)
    rng = np.random.default_rng(seed)
    out = np.empty(n_resamples)
    block = max(1, _BLOCK_CELLS // max(n, 1))
    for lo in range(0, n_resamples, block):
        m = min(block, n_resamples - lo)
        idx = rng.integers(0, n, size=(m, n))
        num, den = a[idx].sum(axis=1), b[idx].sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[lo : lo + m] = num / den
    return out


def paired_ratio(
    a: np.ndarray, b: np.ndarray, n_resamples: int = 1000, seed: int = 42, confidence: float = 0.95
) -> RatioCI:
    """``mean(a) / mean(b)`` and its paired percentile bootstrap interval (users resampled)."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    a, b = _check(a, b)
    ratios = resample_ratios(a, b, n_resamples, seed)
    tail = (1 - confidence) / 2
    finite = ratios[np.isfinite(ratios)]
    if len(finite) < len(ratios):  # a resample with zero denominator: the interval is unbounded
        low, high = (float(np.quantile(finite, tail)) if len(finite) else float("nan")), float("inf")
    else:
        low, high = (float(v) for v in np.quantile(ratios, [tail, 1 - tail]))
    return RatioCI(_ratio(float(a.sum()), float(b.sum())), low, high, confidence, len(a), n_resamples, seed)


def _check(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(
            f"a and b must be 1-D arrays of the same length (one value per user), got {a.shape}, {b.shape}"
        )
    if len(a) == 0:
        raise ValueError("no users to resample")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("per-user metrics must be finite")
    return a, b
