"""Taste clusters: k-means finds planted scenes and is seeded; artists keep their tracks
together; cluster shares and the taste top-k are what they say (against plain loops)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from models_py.arrays import normalized
from models_py.clusters import artist_clusters, cluster_ranking, cluster_shares, spherical_kmeans, taste_top_k


def _planted(rng: np.random.Generator, n: int, k: int = 5, noise: float = 0.05):
    centers = normalized(rng.normal(size=(k, 16)))
    truth = rng.integers(0, k, n)
    return normalized(centers[truth] + noise * rng.normal(size=(n, 16))), truth


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def test_spherical_kmeans_recovers_planted_clusters_and_is_seeded():
    x, truth = _planted(np.random.default_rng(0), 2000)
    labels, centroids = spherical_kmeans(x, 5, seed=1, sample=500)
    assert _same_partition(truth, labels) and len(set(labels.tolist())) == 5
    assert np.allclose(np.linalg.norm(centroids, axis=1), 1.0, atol=1e-5)
    again, _ = spherical_kmeans(x, 5, seed=1, sample=500)
    assert np.array_equal(labels, again)
    assert spherical_kmeans(x[:3], 10, seed=1)[0].max() < 3  # k is capped by the rows
    assert len(spherical_kmeans(x[:0], 4, seed=1)[0]) == 0


def test_artist_clusters_keep_an_artists_tracks_together():
    rng = np.random.default_rng(4)
    artist_scene = rng.integers(0, 4, 60)
    centers = normalized(rng.normal(size=(4, 16)))
    track_artist = rng.integers(0, 60, 900)
    # tracks scatter widely around their artist's scene; some have no artist
    unit = normalized(centers[artist_scene[track_artist]] + 0.6 * rng.normal(size=(900, 16)))
    track_artist[:30] = -1
    got = artist_clusters(unit, track_artist, 4, seed=3)
    has = track_artist >= 0
    for a in np.unique(track_artist[has]):
        assert len(set(got[track_artist == a].tolist())) == 1  # one cluster per artist
    # the artists' clusters are their scenes
    artists = np.unique(track_artist[has])
    per_artist = np.array([got[track_artist == a][0] for a in artists])
    assert _same_partition(artist_scene[artists], per_artist)
    assert got.min() >= 0 and got.max() < 4
    assert np.array_equal(
        artist_clusters(unit, np.full(900, -1), 4, seed=3), spherical_kmeans(unit, 4, seed=3)[0]
    )


def test_cluster_shares_count_the_users_tracks_in_the_pairs_cluster():
    rng = np.random.default_rng(2)
    n_users, n_tracks, k = 30, 40, 4
    cluster_of_col = rng.integers(0, k, n_tracks)
    heard = [np.sort(rng.choice(n_tracks, size=rng.integers(1, 15), replace=False)) for _ in range(n_users)]
    matrix = sp.csr_matrix(
        (
            np.ones(sum(map(len, heard)), np.float32),
            (np.repeat(np.arange(n_users), [len(h) for h in heard]), np.concatenate(heard)),
        ),
        shape=(n_users, n_tracks),
    )
    recent = np.full((n_users, 5), -1)
    for u, h in enumerate(heard):
        last = rng.permutation(h)[:5]
        recent[u, : len(last)] = last
    rows = np.array([3, 7, 8, 20])
    local = np.repeat(np.arange(len(rows)), 10)
    cols = rng.integers(0, n_tracks, len(local))
    user_share, recent_share = cluster_shares(
        cluster_of_col, matrix, recent, rows, local, cluster_of_col[cols]
    )
    for i, (j, c) in enumerate(zip(local, cols)):
        u, want = rows[j], cluster_of_col[c]
        assert user_share[i] == np.mean(cluster_of_col[heard[u]] == want)
        assert recent_share[i] == np.mean(cluster_of_col[recent[u][recent[u] >= 0]] == want)
    assert (user_share > 0).any() and (user_share < 1).any()


@pytest.mark.parametrize("seed,n", [(5, 7), (6, 1), (7, 30), (8, 3), (9, 12)])
def test_taste_top_k_equals_scoring_every_track(seed, n):
    rng = np.random.default_rng(seed)
    n_users, n_tracks, k = 40, 120, 5
    cluster_of_col = rng.integers(0, k - 1, n_tracks)
    cluster_of_col[:3] = k - 1  # a small cluster of three tracks: some users exhaust it
    track_share = rng.random(n_tracks)
    track_share[rng.random(n_tracks) < 0.1] = 0.0  # never heard in the phase
    track_share[10:14] = track_share[20]  # ties, broken by column
    track_share[rng.random(n_tracks) < 0.2] = 0.25  # more ties, also at the floor
    allowed = rng.random(n_tracks) < 0.9
    heard = [np.sort(rng.choice(n_tracks, size=rng.integers(0, 60), replace=False)) for _ in range(n_users)]
    heard[0] = np.union1d(np.flatnonzero(cluster_of_col == k - 1), [50, 51])  # all of the small cluster
    matrix = sp.csr_matrix(
        (
            np.ones(sum(map(len, heard)), np.float32),
            (np.repeat(np.arange(n_users), [len(h) for h in heard]), np.concatenate(heard)),
        ),
        shape=(n_users, n_tracks),
    )
    rows = np.array([0, 5, 6, 17, 33, 39])
    got, got_score = taste_top_k(
        *cluster_ranking(cluster_of_col, track_share, allowed), cluster_of_col, track_share, matrix, rows, n
    )
    assert got.shape == got_score.shape == (len(rows), n)
    for i, u in enumerate(rows):
        share = np.bincount(cluster_of_col[heard[u]], minlength=k) / max(len(heard[u]), 1)
        scored = [
            (-share[cluster_of_col[t]] * track_share[t], t)
            for t in range(n_tracks)
            if allowed[t] and track_share[t] > 0 and share[cluster_of_col[t]] > 0 and t not in heard[u]
        ]
        want = [t for _, t in sorted(scored)[:n]]
        assert got[i, : len(want)].tolist() == want and (got[i, len(want) :] == -1).all()
        assert np.allclose(got_score[i, : len(want)], [-s for s, _ in sorted(scored)[:n]])
    filled = got[0][got[0] >= 0]  # heard all of the small scene: the others fill the list
    assert len(filled) and set(cluster_of_col[filled].tolist()) <= {cluster_of_col[50], cluster_of_col[51]}
    empty = sp.csr_matrix((n_users, n_tracks), dtype=np.float32)
    assert (
        taste_top_k(
            *cluster_ranking(cluster_of_col, track_share, allowed),
            cluster_of_col,
            track_share,
            empty,
            rows,
            n,
        )[0]
        == -1
    ).all()  # no history, no taste
