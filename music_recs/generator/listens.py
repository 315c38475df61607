"""The listening log, drawn one batch of users at a time (bounded memory at any scale).

Each user gets ~1.3x their target in candidate draws on their active days. A draw is a chart
listen (whole catalog), a favourite-artist listen, or a taste listen (a cluster from the
user's drifting mixture); the track inside that slice is drawn by the week's popularity
weights, or (with the user's explore share) by flattened ones (one binary search in a
cumulative table). Repeated (user, track) draws collapse to
the earliest (the log holds first listens), then a random subset of the target size is kept
and numbered by date into track_seq. Every track also gets ``min_track_listens`` forced
listens from users of its cluster, because the real log only keeps tracks with >= 5 listens.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from music_recs.generator.catalog import Catalog
from music_recs.generator.dynamics import N_DAYS, TEST_START_DAY
from music_recs.generator.presets import Preset
from music_recs.generator.users import Users

OVERSAMPLE = 1.3
GOLDEN = 0.6180339887498949


@dataclass
class Batch:
    """One batch of final listens, sorted by (user, track_seq)."""

    user: np.ndarray  # int64 internal user index
    track: np.ndarray  # int64 internal track index
    day: np.ndarray  # int64 day of 2022 (0-based)
    seq: np.ndarray  # int64 1-based track_seq
    test_draws: np.ndarray  # float64 per user of the batch: expected draws in the test window


@dataclass
class Forced:
    """Forced listens, sorted by user (sliced per batch)."""

    user: np.ndarray
    track: np.ndarray
    day: np.ndarray


def _n_draws(target: np.ndarray, explore: np.ndarray) -> np.ndarray:
    """Candidate draws per user: heavy (exploring) users lose more draws to repeats."""
    return np.ceil(target * (OVERSAMPLE + 0.5 * explore)).astype(np.int64) + 2


def user_batches(p: Preset, users: Users) -> list[tuple[int, int]]:
    """Contiguous user ranges of about ``p.batch_listens`` candidate draws each."""
    draws = np.cumsum(_n_draws(users.n_target, users.explore))
    cuts = np.searchsorted(draws, np.arange(p.batch_listens, draws[-1], p.batch_listens), side="right")
    bounds = np.unique(np.concatenate([[0], cuts, [users.n_users]]))
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def forced_listens(p: Preset, cat: Catalog, users: Users, seed: int) -> Forced:
    """``min_track_listens`` distinct users per track, taken from users whose main cluster is the track's."""
    rng = np.random.default_rng([seed, 3])
    m = p.min_track_listens
    T, N = cat.n_tracks, users.n_users
    main = users.theta0_c[np.arange(N), np.argmax(users.theta0_w, axis=1)].astype(np.int64)
    by_cluster = np.argsort(main, kind="stable")
    lo = np.searchsorted(main[by_cluster], np.arange(cat.n_clusters), side="left")
    size = np.searchsorted(main[by_cluster], np.arange(cat.n_clusters), side="right") - lo
    c = cat.track_cluster.astype(np.int64)
    seg_lo, seg_n = lo[c], size[c]
    small = seg_n < m  # clusters with too few fans borrow from everybody
    seg_lo = np.where(small, 0, seg_lo)
    seg_n = np.where(small, N, seg_n)
    step = 1 + np.floor(rng.random(T) * np.maximum(seg_n // m - 1, 0)).astype(np.int64)
    first = rng.integers(0, np.iinfo(np.int64).max, T) % seg_n
    j = np.arange(m)[None, :]
    pos = (first[:, None] + j * step[:, None]) % seg_n[:, None]  # distinct while m*step <= seg_n
    pool = np.where(small[:, None], pos, by_cluster[np.minimum(seg_lo[:, None] + pos, N - 1)])
    user = pool.ravel()
    track = np.repeat(np.arange(T), m)
    rel = np.maximum(cat.track_release[track], 0)
    s = users.start[user]
    e = s + users.window[user]
    a = np.maximum(rel, s)
    day = np.where(a < e, a + np.floor(rng.random(len(a)) * (e - a)), rel)
    day = np.minimum(day, N_DAYS - 1).astype(np.int64)
    order = np.argsort(user, kind="stable")
    return Forced(user=user[order], track=track[order], day=day[order])


def sample_batch(
    cat: Catalog, users: Users, cum: np.ndarray, forced: Forced, u0: int, u1: int, rng: np.random.Generator
) -> Batch:
    """All listens of users [u0, u1)."""
    T = cat.n_tracks
    n_users = u1 - u0
    target = users.n_target[u0:u1].astype(np.int64)
    n_draw = _n_draws(target, users.explore[u0:u1])
    du = np.repeat(np.arange(u0, u1), n_draw)  # global user index of each draw
    n = len(du)

    # day: the k-th of the user's active days, spread over the window by a golden-ratio walk
    k = np.floor(rng.random(n) * users.n_days[du]).astype(np.int64)
    pos = (users.phase[du] + k * GOLDEN) % 1.0
    day = users.start[du] + np.floor(pos * users.window[du]).astype(np.int64)

    # component and slice of the catalog
    r = rng.random(n)
    p_pop = users.p_pop[du]
    has_fav = users.n_fav[du] > 0
    is_pop = r < p_pop
    is_fav = ~is_pop & has_fav & (r < p_pop + users.p_fav[du])
    late = rng.random(n) < day / (N_DAYS - 1)  # taste drifts from theta0 to theta1
    cw = np.where(late[:, None], users.theta1_w[du], users.theta0_w[du])
    cc = np.where(late[:, None], users.theta1_c[du], users.theta0_c[du])
    slot = np.minimum((rng.random(n)[:, None] > np.cumsum(cw, axis=1)).sum(axis=1), cw.shape[1] - 1)
    cluster = cc[np.arange(n), slot].astype(np.int64)
    cluster = np.where(cluster < 0, cc[:, 0], cluster)
    del cw, cc
    fav_slot = np.floor(rng.random(n) * np.maximum(users.n_fav[du], 1)).astype(np.int64)
    artist = users.fav[du, fav_slot].astype(np.int64)
    seg_lo = np.where(
        is_pop, 0, np.where(is_fav, cat.artist_start[np.maximum(artist, 0)], cat.cluster_start[cluster])
    )
    seg_hi = np.where(
        is_pop,
        T,
        np.where(is_fav, cat.artist_start[np.maximum(artist, 0) + 1], cat.cluster_start[cluster + 1]),
    )
    del artist, cluster, slot, late, r

    # the track: binary search in the week's cumulative weights (normal or flattened table)
    table = (rng.random(n) < users.explore[du]).astype(np.int64)
    group = table * cum.shape[1] + day // 7
    track = np.full(n, -1, dtype=np.int64)
    u = rng.random(n)
    order = np.argsort(group, kind="stable")
    n_groups = cum.shape[0] * cum.shape[1]
    bounds = np.searchsorted(group[order], np.arange(n_groups + 1))
    for gw in range(n_groups):
        idx = order[bounds[gw] : bounds[gw + 1]]
        if not len(idx):
            continue
        row = cum[gw // cum.shape[1], gw % cum.shape[1]]
        lo_m, hi_m = row[seg_lo[idx]], row[seg_hi[idx]]
        t = np.searchsorted(row, lo_m + u[idx] * (hi_m - lo_m), side="right") - 1
        t = np.clip(t, seg_lo[idx], seg_hi[idx] - 1)
        track[idx] = np.where(hi_m > lo_m, t, -1)
    ok = track >= 0
    test_draws = np.bincount(du - u0, weights=(day >= TEST_START_DAY).astype(np.float64), minlength=n_users)

    # forced listens of these users
    f0, f1 = np.searchsorted(forced.user, [u0, u1])
    du = np.concatenate([du[ok], forced.user[f0:f1]])
    track = np.concatenate([track[ok], forced.track[f0:f1]])
    day = np.concatenate([day[ok], forced.day[f0:f1]])
    is_forced = np.concatenate([np.zeros(int(ok.sum()), bool), np.ones(f1 - f0, bool)])
    day = np.maximum(day, cat.track_release[track])  # nobody hears a track before its release

    # first listen of each (user, track); forced pairs always survive
    local = du - u0
    key = (local * T + track) * 1024 + day * 2 + (~is_forced)
    key.sort()
    pair = key // 1024
    first = np.ones(len(pair), dtype=bool)
    first[1:] = pair[1:] != pair[:-1]
    pair, day = pair[first], (key[first] % 1024) // 2
    keep_forced = (key[first] % 2) == 0
    local, track = pair // T, pair % T
    # a forced duplicate with a later day loses the forced bit above; recover it by membership
    fkey = (forced.user[f0:f1] - u0) * T + forced.track[f0:f1]
    keep_forced |= np.isin(pair, fkey, assume_unique=False)

    # random subset of the target size per user (one int64 sort key: user, then random priority;
    # forced pairs get priority 0 so they always come first)
    prio = np.where(keep_forced, 0, rng.integers(1, 1 << 31, len(pair)))
    o = np.argsort((local << 32) | prio)
    local, track, day, keep_forced = local[o], track[o], day[o], keep_forced[o]
    starts = np.searchsorted(local, np.arange(n_users))
    rank = np.arange(len(local)) - starts[local]
    keep = keep_forced | (rank < target[local])
    local, track, day = local[keep], track[keep], day[keep]

    # number by date (ties on the same day in random order): key = user | day | random
    o = np.argsort((local << 40) | (day << 31) | rng.integers(0, 1 << 31, len(local)))
    local, track, day = local[o], track[o], day[o]
    starts = np.searchsorted(local, np.arange(n_users))
    seq = np.arange(len(local)) - starts[local] + 1
    kept = np.bincount(local, minlength=n_users)
    drawn = np.maximum(n_draw, 1)
    return Batch(user=local + u0, track=track, day=day, seq=seq, test_draws=test_draws * kept / drawn)
