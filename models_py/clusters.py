"""Taste clusters of tracks: seeded spherical k-means of the artists' ALS directions.

Why: a listener picks a scene, then a track in it by its current popularity. A user's share
of tracks in a candidate's cluster, times the candidate's share of its cluster's
recency-weighted popularity, states that directly; genres only approximate scenes (one genre
is the main genre of several). Artists, not tracks, are clustered: an artist's mean direction
is steadier than a rarely heard track's vector, and an artist belongs to one scene; on the
nested build the re-ranker scored better with artist clusters than with track clusters or
none (docs/models.md, "Taste clusters").
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from models_py.arrays import member_of, normalized


def nearest(unit: np.ndarray, centroids: np.ndarray, batch: int = 65_536) -> np.ndarray:
    """Index of the most similar centroid (cosine) for every row of ``unit``."""
    out = np.empty(len(unit), dtype=np.int64)
    for lo in range(0, len(unit), batch):
        out[lo : lo + batch] = np.argmax(unit[lo : lo + batch].astype(np.float32) @ centroids.T, axis=1)
    return out


def _sums(labels: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """Sum of the rows of each label (k x dims)."""
    onehot = sp.csr_matrix(
        (np.ones(len(rows), np.float32), (labels, np.arange(len(rows)))), shape=(k, len(rows))
    )
    return np.asarray(onehot @ rows)


def _plus_plus(fit: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeds: each next seed drawn with probability ~ squared distance (2 - 2 cos)
    to the nearest seed so far, so that seeds spread over the clusters."""
    seeds = [int(rng.integers(len(fit)))]
    dist = np.maximum(2.0 - 2.0 * (fit @ fit[seeds[0]]), 0.0).astype(np.float64)
    for _ in range(1, k):
        total = dist.sum()
        nxt = int(rng.choice(len(fit), p=dist / total)) if total > 0 else int(rng.integers(len(fit)))
        seeds.append(nxt)
        dist = np.minimum(dist, np.maximum(2.0 - 2.0 * (fit @ fit[nxt]), 0.0))
    return fit[seeds].copy()


def spherical_kmeans(
    unit: np.ndarray, k: int, seed: int, iterations: int = 15, sample: int = 200_000
) -> tuple[np.ndarray, np.ndarray]:
    """(label of every row, unit centroids) of ``unit`` (unit vectors) in at most k clusters.

    Fitted on a seeded sample of at most ``sample`` rows from k-means++ seeds; then every row
    goes to its nearest centroid. An empty cluster keeps its centroid.
    """
    n = len(unit)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros((0, unit.shape[1]), dtype=np.float32)
    k = max(1, min(k, n))
    rng = np.random.default_rng(seed)
    fit = unit[np.sort(rng.choice(n, size=min(sample, n), replace=False))].astype(np.float32)
    centroids = _plus_plus(fit, k, rng)
    for _ in range(iterations):
        labels = np.argmax(fit @ centroids.T, axis=1)
        sums = _sums(labels, fit, k)
        empty = np.bincount(labels, minlength=k) == 0
        sums[empty] = centroids[empty]
        centroids = normalized(sums)
    return nearest(unit, centroids), centroids


def artist_clusters(unit: np.ndarray, track_artist: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Cluster of every track (row of ``unit``): its artist's (``track_artist``, -1 = none).

    Artists are clustered by the mean direction of their tracks; a track without an artist
    goes to the nearest artist-cluster centroid.
    """
    has = track_artist >= 0
    if not has.any():
        return spherical_kmeans(unit, k, seed)[0]
    _, artist_of = np.unique(track_artist[has], return_inverse=True)
    artist_vecs = normalized(_sums(artist_of, unit[has].astype(np.float32), int(artist_of.max()) + 1))
    labels, centroids = spherical_kmeans(artist_vecs, k, seed)
    out = nearest(unit, centroids)
    out[has] = labels[artist_of]
    return out


def _user_cluster_counts(
    cluster_of_col: np.ndarray, m: sp.csr_matrix, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """(row of every stored entry of ``m``, tracks per row and cluster [rows, k])."""
    own = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    return own, np.bincount(own * k + cluster_of_col[m.indices], minlength=m.shape[0] * k).reshape(
        m.shape[0], k
    )


def cluster_shares(
    cluster_of_col: np.ndarray,
    matrix: sp.csr_matrix,
    recent_cols: np.ndarray,
    rows: np.ndarray,
    local: np.ndarray,
    cluster: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """For pairs (user ``rows[local]``, a track of ``cluster``): the share of the user's tracks
    in that cluster, over all of them (rows of ``matrix``) and over the recent ones
    (``recent_cols``, -1 padded)."""
    k = int(cluster_of_col.max()) + 1 if len(cluster_of_col) else 1
    _, counts = _user_cluster_counts(cluster_of_col, matrix[rows], k)
    recent = recent_cols[rows]
    ok = recent >= 0
    r_own = np.broadcast_to(np.arange(len(rows))[:, None], recent.shape)[ok]
    r_counts = np.bincount(r_own * k + cluster_of_col[recent[ok]], minlength=len(rows) * k).reshape(
        len(rows), k
    )
    n, r_n = np.maximum(counts.sum(axis=1), 1), np.maximum(ok.sum(axis=1), 1)
    return counts[local, cluster] / n[local], r_counts[local, cluster] / r_n[local]


def cluster_ranking(
    cluster_of_col: np.ndarray, track_share: np.ndarray, allowed: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(columns grouped by cluster, each cluster's best ``track_share`` first (ties by column),
    slice bounds of every cluster): the lists ``taste_top_k`` draws from. Only ``allowed``
    columns with a share above 0 are listed."""
    k = int(cluster_of_col.max()) + 1 if len(cluster_of_col) else 1
    cols = np.flatnonzero(np.asarray(allowed, dtype=bool) & (track_share > 0))
    order = cols[np.lexsort((cols, -track_share[cols], cluster_of_col[cols]))]
    return order, np.searchsorted(cluster_of_col[order], np.arange(k + 1))


def taste_top_k(
    order: np.ndarray,
    bounds: np.ndarray,
    cluster_of_col: np.ndarray,
    track_share: np.ndarray,
    matrix: sp.csr_matrix,
    rows: np.ndarray,
    n: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Each user's (``rows`` of ``matrix``) ``n`` unheard columns of ``order`` with the highest
    taste score: the user's share of tracks in the column's cluster times the column's
    ``track_share`` (``cluster_ranking``). Returns (columns, scores), [len(rows), n], -1 / 0
    padded; ties by column.

    The score is what a listener who picks a scene by their share of it, then a track in it
    by popularity, would do. Exact without scoring every track: within a cluster the order is
    the same for every user, so a user's best unheard tracks of a cluster are a prefix of its
    list, at most n + (tracks the user heard in it) long; and the user's favourite cluster
    alone holds n unheard tracks scoring at least share x the track_share at that length, so
    no track scoring below that floor can make the list: each other cluster's prefix ends
    where its scores fall below it (most of them before their first entry, so a chunk scores a
    few entries per cluster the user knows instead of every cluster's list).
    """
    k = len(bounds) - 1
    n_rows, n_cols = len(rows), matrix.shape[1]
    out = np.full((n_rows, n), -1, dtype=np.int64)
    out_score = np.zeros((n_rows, n))
    if n_rows == 0 or n == 0:
        return out, out_score
    m = matrix[rows]
    own, counts = _user_cluster_counts(cluster_of_col, m, k)
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = np.diff(bounds)

    # the floor: n unheard tracks of the favourite cluster lie within its first n + heard entries
    fav = np.argmax(share, axis=1)
    last = n + counts[np.arange(n_rows), fav] - 1
    full = last < size[fav]
    floor = np.zeros(n_rows)
    floor[full] = share[full, fav[full]] * track_share[order[bounds[fav[full]] + last[full]]]

    # per (user, cluster the user knows): the prefix that can score at least the floor
    u, c = np.nonzero(counts)
    need = floor[u] / share[u, c] * (1.0 - 1e-9)  # a hair low: rounding never drops a track
    desc = -track_share[order]  # ascending within each cluster's slice
    reach = np.zeros(len(u), dtype=np.int64)
    by_cluster = np.argsort(c, kind="stable")
    cuts = np.searchsorted(c[by_cluster], np.arange(k + 1))
    for cl in np.flatnonzero(np.diff(cuts)):
        sel = by_cluster[cuts[cl] : cuts[cl + 1]]
        reach[sel] = np.searchsorted(desc[bounds[cl] : bounds[cl + 1]], -need[sel], side="right")
    length = np.minimum(n + counts[u, c], reach)

    pair = np.repeat(np.arange(len(u)), length)
    run_start = np.repeat(np.cumsum(length) - length, length)  # each entry's first entry of its run
    col = order[bounds[c][pair] + np.arange(len(pair)) - run_start]
    user = u[pair]
    unheard = ~member_of(user * n_cols + col, own * n_cols + m.indices)
    # only a run's first n unheard entries can make the list
    seen = np.cumsum(unheard)  # unheard entries so far, this one included
    keep = unheard & (seen - (seen[run_start] - unheard[run_start]) <= n)
    user, col = user[keep], col[keep]
    score = share[user, cluster_of_col[col]] * track_share[col]
    o = np.lexsort((col, -score, user))
    user, col, score = user[o], col[o], score[o]
    starts = np.searchsorted(user, np.arange(n_rows))
    pos = np.arange(len(user)) - starts[user]
    top = pos < n
    out[user[top], pos[top]] = col[top]
    out_score[user[top], pos[top]] = score[top]
    return out, out_score
