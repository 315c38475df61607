"""benchmarks.real.references against direct numpy computations."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from benchmarks.real.references import EASE, PAD, ItemKNN, RecencyPopularity, top_k_positions


def random_binary(seed: int, n_users: int = 40, n_items: int = 15, density: float = 0.3) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = (rng.random((n_users, n_items)) < density).astype(np.float64)
    dense[:, -1] = 0.0  # an item nobody heard
    return sp.csr_matrix(dense)


def ease_by_columns(x: np.ndarray, lam: float) -> np.ndarray:
    """EASE's definition column by column: b_j minimises ||x_j - X_{-j} b||^2 + lam ||b||^2
    (the diagonal constraint = item j is not used to predict itself)."""
    n = x.shape[1]
    b = np.zeros((n, n))
    for j in range(n):
        others = [i for i in range(n) if i != j]
        xo = x[:, others]
        b[others, j] = np.linalg.solve(xo.T @ xo + lam * np.eye(n - 1), xo.T @ x[:, j])
    return b


@pytest.mark.parametrize("lam", [0.5, 10.0, 250.0])
def test_ease_closed_form_equals_the_per_column_ridge_regressions(lam):
    x = random_binary(1).toarray()
    np.testing.assert_allclose(EASE.closed_form(x.T @ x, lam), ease_by_columns(x, lam), atol=1e-10)


def test_ease_recommends_the_best_unheard_scores_of_x_b():
    x = random_binary(2)
    model = EASE(5.0).fit(x)
    heard_cols = np.flatnonzero(np.asarray(x.sum(axis=0)).ravel() > 0)
    b = np.zeros((x.shape[1], x.shape[1]))
    xd = x.toarray()
    b[np.ix_(heard_cols, heard_cols)] = ease_by_columns(xd[:, heard_cols], 5.0)
    got = model.recommend(x, 4)
    for u in range(x.shape[0]):
        scores = xd[u] @ b
        allowed = [j for j in heard_cols if xd[u, j] == 0]  # unheard, and modelled (heard by someone)
        want = sorted(allowed, key=lambda j: (-scores[j], j))[:4]
        assert list(got[u][got[u] != PAD]) == want
        assert x.shape[1] - 1 not in got[u]  # nobody heard it: never recommended


def test_ease_max_items_keeps_the_most_popular():
    x = random_binary(3, n_items=12, density=0.4)
    model = EASE(1.0, max_items=5).fit(x)
    counts = np.asarray(x.sum(axis=0)).ravel()
    assert set(model.items) == set(np.lexsort((np.arange(12), -counts))[:5])
    assert set(model.recommend(x, 10).ravel()) <= set(model.items) | {PAD}


def test_top_k_positions_excludes_heard_pads_and_breaks_ties_by_column():
    scores = np.array([[1.0, 3.0, 3.0, 0.5, -1.0], [0.0, 0.0, 0.0, 0.0, 0.0]])
    heard = sp.csr_matrix(np.array([[0, 1, 0, 0, 0], [1, 1, 1, 1, 0]]))
    got = top_k_positions(scores.copy(), heard, 4)
    np.testing.assert_array_equal(got, [[2, 0, 3, 4], [4, PAD, PAD, PAD]])
    got = top_k_positions(scores.copy(), heard, 4, positive_only=True)
    np.testing.assert_array_equal(got, [[2, 0, 3, PAD], [PAD] * 4])


@pytest.mark.filterwarnings("ignore:Method expects CSR input")
@pytest.mark.parametrize("kind", ["cosine", "bm25"])
def test_item_knn_scores_are_implicits_for_unheard_items(kind):
    from implicit.nearest_neighbours import BM25Recommender, CosineRecommender

    x = random_binary(4, n_users=60, n_items=25).astype(np.float32)
    ours = ItemKNN(kind, 5).fit(x)
    ref = CosineRecommender(K=5, num_threads=1) if kind == "cosine" else BM25Recommender(K=5, num_threads=1)
    ref.fit(x, show_progress=False)
    ids, scores = ref.recommend(np.arange(60), x, N=25, filter_already_liked_items=True)
    got = ours.recommend(x, 25)
    xd = x.toarray()
    for u in range(60):
        keep = (ids[u] >= 0) & (scores[u] > 0) & (xd[u, np.maximum(ids[u], 0)] == 0)
        want = {int(i): float(s) for i, s in zip(ids[u][keep], scores[u][keep])}
        mine = [int(i) for i in got[u] if i != PAD]
        assert set(mine) == set(want)  # the same positive-score unheard items...
        s = [want[i] for i in mine]
        assert all(s[i] >= s[i + 1] - 1e-6 for i in range(len(s) - 1))  # ...best first
        assert not xd[u, mine].any()


def test_recency_popularity_counts_first_listens_in_the_window():
    cols = np.array([0, 0, 1, 1, 1, 2, 3])
    first_day = np.array([10, 1, 9, 2, 3, 10, 10])
    x = sp.csr_matrix((np.ones(2), ([0, 1], [3, 0])), shape=(2, 5))
    model = RecencyPopularity(days=2).fit(cols, first_day, n_cols=5, ref_day=10)
    # window (8, 10]: col 0 -> 1, col 1 -> 1, col 2 -> 1, col 3 -> 1; ties by all-time count (1: 3, 0: 2)
    np.testing.assert_array_equal(model.recommend(x, 5), [[1, 0, 2, PAD, PAD], [1, 2, 3, PAD, PAD]])
    model = RecencyPopularity(days=None).fit(cols, first_day, n_cols=5, ref_day=10)
    np.testing.assert_array_equal(model.recommend(x, 3), [[1, 0, 2], [1, 2, 3]])


def test_ease_grid_from_one_eigendecomposition_equals_one_fit_per_value():
    x = random_binary(6, n_users=80, n_items=30, density=0.25)
    rows = x[::3]
    lams = (0.5, 3.0, 20.0, 400.0)
    got = EASE.grid(x, rows, lams, 6, max_items=25)
    for lam in lams:
        np.testing.assert_array_equal(got[lam], EASE(lam, max_items=25).fit(x).recommend(rows, 6))
