"""Time dynamics of track popularity: releases appear on their day, then rise and fade.

weight(track, day) = pop * f(day), f = 0 before release; for a 2022 release
f = 1 + hype * x * exp(1 - x) with x = (day - release) / tau (a launch peak of height
1 + hype after tau days, fading back to the track's base level); older tracks f = 1.
Sampling uses one cumulative weight table per week (mean of f over the week's days), and a
second, flattened one (pop ** EXPLORE_GAMMA * f) for "exploring" draws that dig into the long
tail (heavy listeners explore more; see users.py).
"""

from __future__ import annotations

import numpy as np

from music_recs.generator.catalog import Catalog

N_DAYS = 365
N_WEEKS = (N_DAYS + 6) // 7
EXPLORE_GAMMA = 0.7
TEST_START_DAY = 351  # 2022-12-18: the default split (max date - 14 days) puts the test window here


def day_factor(cat: Catalog, day: int, idx: np.ndarray | None = None) -> np.ndarray:
    """f(day) for the tracks ``idx`` (all tracks when None)."""
    rel = cat.track_release if idx is None else cat.track_release[idx]
    hype = cat.track_hype if idx is None else cat.track_hype[idx]
    tau = cat.track_tau if idx is None else cat.track_tau[idx]
    x = np.maximum(day - rel, 0).astype(np.float64) / tau
    f = 1.0 + hype * x * np.exp(1.0 - x)
    return np.where(day >= rel, f, 0.0)


def mean_weight(cat: Catalog, days: range, gamma: float = 1.0) -> np.ndarray:
    """pop ** gamma * mean of f over ``days`` for every track (only 2022 releases vary in time)."""
    new = np.flatnonzero(cat.track_release >= 0)
    f = np.ones(cat.n_tracks)
    if len(new):
        f[new] = sum(day_factor(cat, d, new) for d in days) / len(days)
    return (cat.track_pop if gamma == 1.0 else cat.track_pop**gamma) * f


def weekly_cumsum(cat: Catalog) -> np.ndarray:
    """[2, N_WEEKS, T+1] float64: [g, w] is the running sum of week-w weights (g=1: flattened)."""
    out = np.zeros((2, N_WEEKS, cat.n_tracks + 1), dtype=np.float64)
    for g, gamma in enumerate((1.0, EXPLORE_GAMMA)):
        for w in range(N_WEEKS):
            days = range(7 * w, min(7 * w + 7, N_DAYS))
            np.cumsum(mean_weight(cat, days, gamma), out=out[g, w, 1:])
    return out
