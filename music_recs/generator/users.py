"""Users: when they are active, how much they listen, and their hidden taste.

Taste is a sparse mixture over the catalog's taste clusters (``theta0`` at the start of the
year drifting to ``theta1`` by its end), a few favourite true artists, and a share of
chart-following listens. Activity reproduces the real log's growth: users join through the
year (monthly active users grow ~9x), listen at a steady personal rate while active, so
listens per user are heavy-tailed (lognormal rate x active window, capped).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from music_recs.generator.catalog import Catalog
from music_recs.generator.presets import Preset

N_DAYS = 365  # 2022
JOIN_GROWTH = 1.0  # join density ~ exp(JOIN_GROWTH * day / 365)
EARLY_SHARE = 0.06  # users already active on 2022-01-01
CHURN_SHARE = 0.05  # users who stop before the end of the year
LISTENS_PER_DAY = (np.log(5.0), 0.7)  # lognormal listens per active day
SLOTS = 6  # max clusters in a user's taste
FAV_SLOTS = 8  # max favourite artists
DRIFT_SHARE = 0.35  # share of taste slots replaced by another cluster over the year
P_POP = (2.0, 14.0)  # beta: share of chart listens (mean 0.125)
P_FAV = (2.0, 6.0)  # beta: share of favourite-artist listens (mean 0.25)
EXPLORE = (0.02, 3000.0, 0.6)  # explore share = clip(target / 3000, 0.02, 0.6)
FAV_DEPTH = 2.0  # favourite draws are capped at ~2x the favourites' track count


@dataclass
class Users:
    """Per-user arrays, in user_id order."""

    user_id: np.ndarray  # int32 [N], sorted
    n_target: np.ndarray  # int32 [N] listens wanted
    start: np.ndarray  # int32 [N] first active day
    window: np.ndarray  # int32 [N] active days span (start + window <= 365)
    n_days: np.ndarray  # int32 [N] distinct active days
    phase: np.ndarray  # float64 [N] offset of the active-day pattern
    theta0_c: np.ndarray  # int16 [N, SLOTS] clusters (-1 = unused slot)
    theta0_w: np.ndarray  # float32 [N, SLOTS] weights (rows sum to 1)
    theta1_c: np.ndarray
    theta1_w: np.ndarray
    p_pop: np.ndarray  # float32 [N]
    p_fav: np.ndarray  # float32 [N]
    fav: np.ndarray  # int32 [N, FAV_SLOTS] true artist index (-1 = unused)
    n_fav: np.ndarray  # int8 [N]
    explore: np.ndarray  # float32 [N] share of draws from the flattened (long-tail) weights

    @property
    def n_users(self) -> int:
        return len(self.user_id)


def _top_k_clusters(rng: np.random.Generator, log_w: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Per row, ``k[row]`` distinct clusters drawn without replacement by weight (Gumbel top-k)."""
    n, C = len(k), len(log_w)
    out = np.full((n, SLOTS), -1, dtype=np.int16)
    for lo in range(0, n, 100_000):
        hi = min(n, lo + 100_000)
        keys = log_w[None, :] + rng.gumbel(size=(hi - lo, C))
        top = np.argsort(-keys, axis=1)[:, : min(SLOTS, C)]
        take = np.arange(min(SLOTS, C))[None, :] < k[lo:hi, None]
        out[lo:hi, : top.shape[1]] = np.where(take, top, -1)
    return out


def _weights(rng: np.random.Generator, clusters: np.ndarray) -> np.ndarray:
    w = rng.gamma(0.8, size=clusters.shape) * (clusters >= 0)
    w = np.maximum(w, 1e-6 * (clusters >= 0))
    return (w / w.sum(axis=1, keepdims=True)).astype(np.float32)


def build_users(p: Preset, cat: Catalog, seed: int) -> Users:
    """Draw every user of preset ``p`` (vectorized: no Python loop per user)."""
    rng = np.random.default_rng([seed, 2])
    N = p.n_users
    user_id = np.sort(rng.choice(np.arange(2 * N, dtype=np.int64), size=N, replace=False)).astype(np.int32)

    # activity
    x = np.log1p(rng.random(N) * np.expm1(JOIN_GROWTH)) / JOIN_GROWTH
    start = np.where(rng.random(N) < EARLY_SHARE, 0, np.floor(N_DAYS * x)).astype(np.int32)
    end = np.where(rng.random(N) < CHURN_SHARE, start + np.ceil(rng.random(N) * (N_DAYS - start)), N_DAYS)
    window = np.maximum(end - start, 1).astype(np.int32)
    full_year = rng.lognormal(np.log(p.listens_median), p.listens_sigma, N)
    n_target = np.clip(np.round(full_year * window / N_DAYS), 1, p.listens_max).astype(np.int32)
    per_day = rng.lognormal(*LISTENS_PER_DAY, size=N)
    n_days = np.clip(np.round(n_target / per_day), 1, window).astype(np.int32)
    phase = rng.random(N)

    # taste
    C = cat.n_clusters
    cluster_mass = np.add.reduceat(cat.track_pop, cat.cluster_start[:-1]) * (np.diff(cat.cluster_start) > 0)
    log_w = np.log(np.maximum(cluster_mass, 1e-12) / cluster_mass.sum())
    # heavy listeners have broader taste: one more cluster per doubling of volume above 400
    breadth = np.floor(np.log2(np.maximum(n_target / 400.0, 1.0))).astype(np.int64)
    k = 1 + np.minimum(rng.poisson(1.2, N) + breadth, SLOTS - 1)
    theta0_c = _top_k_clusters(rng, 0.5 * log_w, k)
    theta0_w = _weights(rng, theta0_c)
    drift = (rng.random(theta0_c.shape) < DRIFT_SHARE) & (theta0_c >= 0)
    replacement = rng.choice(C, size=theta0_c.shape, p=np.exp(log_w)).astype(np.int16)
    theta1_c = np.where(drift, replacement, theta0_c)
    w1 = theta0_w * rng.lognormal(0.0, 0.5, theta0_w.shape).astype(np.float32)
    theta1_w = (w1 / w1.sum(axis=1, keepdims=True)).astype(np.float32)

    # favourite artists: cluster from theta0, artist within it by popularity
    A = len(cat.artist_cluster)
    artist_mass = np.add.reduceat(cat.track_pop, cat.artist_start[:-1]) * (np.diff(cat.artist_start) > 0)
    art_cum = np.concatenate([[0.0], np.cumsum(artist_mass)])
    art_lo = np.searchsorted(cat.artist_cluster, np.arange(C), side="left")
    art_hi = np.searchsorted(cat.artist_cluster, np.arange(C), side="right")
    n_fav = (1 + np.minimum(rng.poisson(2.5, N), FAV_SLOTS - 1)).astype(np.int8)
    slot = (rng.random((N, FAV_SLOTS, 1)) > np.cumsum(theta0_w, axis=1)[:, None, :]).sum(axis=2)
    slot = np.minimum(slot, SLOTS - 1)
    fav_cluster = np.take_along_axis(theta0_c, slot, axis=1).astype(np.int64)
    fav_cluster = np.where(fav_cluster < 0, theta0_c[:, :1], fav_cluster)
    lo_m, hi_m = art_cum[art_lo[fav_cluster]], art_cum[art_hi[fav_cluster]]
    pick = np.searchsorted(art_cum, lo_m + rng.random(fav_cluster.shape) * (hi_m - lo_m), side="right") - 1
    pick = np.clip(pick, art_lo[fav_cluster], np.maximum(art_hi[fav_cluster] - 1, art_lo[fav_cluster]))
    valid = (np.arange(FAV_SLOTS)[None, :] < n_fav[:, None]) & (hi_m > lo_m)
    fav = np.where(valid, np.minimum(pick, A - 1), -1).astype(np.int32)
    n_fav = valid.sum(axis=1).astype(np.int8)
    fav = -np.sort(-fav, axis=1)  # valid entries first

    # heavy listeners dig deeper: more long-tail draws, and favourites cannot fill their year
    explore = np.clip(n_target / EXPLORE[1], EXPLORE[0], EXPLORE[2]).astype(np.float32)
    artist_tracks = np.diff(cat.artist_start)
    fav_tracks = np.where(fav >= 0, artist_tracks[np.maximum(fav, 0)], 0).sum(axis=1)
    p_fav = rng.beta(*P_FAV, N) * np.minimum(1.0, FAV_DEPTH * fav_tracks / n_target)
    return Users(
        user_id=user_id,
        n_target=n_target,
        start=start,
        window=window,
        n_days=n_days,
        phase=phase,
        theta0_c=theta0_c,
        theta0_w=theta0_w,
        theta1_c=theta1_c.astype(np.int16),
        theta1_w=theta1_w,
        p_pop=rng.beta(*P_POP, N).astype(np.float32),
        p_fav=p_fav.astype(np.float32),
        fav=fav,
        n_fav=n_fav,
        explore=explore,
    )
