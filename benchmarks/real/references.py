"""Reference recommenders, written independently of ``models_py`` (product venv).

Every model works on a binary user x item CSR matrix ``X`` whose columns are the train tracks
in ascending id order, and returns, for the requested user rows, the column positions of its
top ``k`` unheard items (``PAD`` = -1 where it has nothing to offer: the caller fills those
slots from the popularity fallback, as ``models_py.evaluate.with_fallback`` does for ALS).
Ties are broken by column (= track id) order.

- ``EASE``: Steck 2019 closed form, B = I - P diag(1/diag P) with P = (X'X + lambda I)^-1,
  diag(B) = 0; scores X_u B. Only items heard in the phase are modelled, and with more than
  ``max_items`` of them only the most popular ``max_items`` (others are never recommended;
  their listens are ignored).
- ``ItemKNN``: the item-item similarity of ``implicit``'s ``CosineRecommender`` /
  ``BM25Recommender`` (K neighbours per item); scores = user row x similarity, the scoring of
  ``implicit``'s ``NearestNeighboursScorer``. ``implicit.recommend`` itself is not called:
  with ``filter_already_liked_items`` it still returns liked items with score 0 when fewer
  than N items have a positive score (checked on implicit 0.7.3), which the protocol forbids.
  Items scoring <= 0 are not recommended.
- ``RecencyPopularity``: users who first heard the track in the last ``days`` days before the
  phase's last day (all train pairs when ``days`` is None), ties by all-time listeners, then id.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp

PAD = -1
#: Users x items cells scored per block (dense float64 blocks of ~32 MB).
BLOCK_CELLS = 1 << 22


def top_k_positions(
    scores: np.ndarray, heard: sp.csr_matrix, k: int, positive_only: bool = False
) -> np.ndarray:
    """Per row the columns of the ``k`` best scores, heard columns excluded (PAD when fewer
    remain; with ``positive_only`` also scores <= 0), best first, ties by column order.
    ``scores`` is modified in place."""
    n_rows, n_cols = scores.shape
    if heard.shape != scores.shape:
        raise ValueError(f"heard {heard.shape} and scores {scores.shape} differ")
    coo = heard.tocoo()
    scores[coo.row, coo.col] = -np.inf
    if positive_only:
        scores[scores <= 0] = -np.inf
    out = np.full((n_rows, k), PAD, dtype=np.int64)
    kk = min(k, n_cols)
    if kk == 0 or n_rows == 0:
        return out
    part = (
        np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
        if kk < n_cols
        else np.tile(np.arange(n_cols), (n_rows, 1))
    )
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -part_scores), axis=1)
    cols = np.take_along_axis(part, order, axis=1)
    ok = np.isfinite(np.take_along_axis(part_scores, order, axis=1))
    out[:, :kk] = np.where(ok, cols, PAD)
    return out


def _blocks(n_rows: int, n_cols: int):
    step = max(1, BLOCK_CELLS // max(n_cols, 1))
    for lo in range(0, n_rows, step):
        yield lo, min(lo + step, n_rows)


class EASE:
    """Embarrassingly Shallow Autoencoder (closed form, float64)."""

    def __init__(self, regularization: float, max_items: int = 12_000) -> None:
        if regularization <= 0:
            raise ValueError(f"regularization must be > 0, got {regularization}")
        self.regularization = float(regularization)
        self.max_items = int(max_items)
        self.items: np.ndarray | None = None  # modelled columns of X
        self.weights: np.ndarray | None = None

    @staticmethod
    def closed_form(gram: np.ndarray, regularization: float) -> np.ndarray:
        """B of EASE from the item Gram matrix X'X (dense)."""
        g = np.array(gram, dtype=np.float64, copy=True)
        g[np.diag_indices_from(g)] += regularization
        p = np.linalg.inv(g)
        b = p / (-np.diag(p))[None, :]
        b[np.diag_indices_from(b)] = 0.0
        return b

    def fit(self, x: sp.csr_matrix) -> EASE:
        x = sp.csr_matrix(x, dtype=np.float64)
        x.data[:] = 1.0
        self.items = self._modelled(x)
        xs = x[:, self.items]
        self.weights = self.closed_form((xs.T @ xs).toarray(), self.regularization)
        return self

    @classmethod
    def grid(
        cls,
        x: sp.csr_matrix,
        x_rows: sp.csr_matrix,
        regularizations: tuple[float, ...],
        k: int,
        max_items: int = 12_000,
    ) -> dict[float, np.ndarray]:
        """``EASE(lam, max_items).fit(x).recommend(x_rows, k)`` for every ``lam``, from one
        eigendecomposition X'X = V diag(e) V' instead of one inverse per value:
        P = V diag(1 / (e + lam)) V', and for an unheard item the score x_u B = -(x_u P)_j / P_jj
        (B = I - P diag(1 / diag P)). Per value this costs rows x items^2 instead of items^3."""
        model = cls(min(regularizations), max_items)
        x = sp.csr_matrix(x, dtype=np.float64)
        x.data[:] = 1.0
        model.items = model._modelled(x)
        xs = x[:, model.items]
        e, v = np.linalg.eigh((xs.T @ xs).toarray())
        x_rows = sp.csr_matrix(x_rows, dtype=np.float64)
        x_rows.data[:] = 1.0
        v2 = v * v
        inv = {lam: 1.0 / (e + lam) for lam in regularizations}
        diag_p = {lam: v2 @ inv[lam] for lam in regularizations}
        out = {lam: np.full((x_rows.shape[0], k), PAD, dtype=np.int64) for lam in regularizations}
        for lo, hi in _blocks(x_rows.shape[0], x_rows.shape[1]):
            block = x_rows[lo:hi]
            xv = np.asarray(block[:, model.items] @ v)  # rows x items, once for every value
            for lam in regularizations:
                scores = np.full((hi - lo, x_rows.shape[1]), -np.inf)
                scores[:, model.items] = -((xv * inv[lam]) @ v.T) / diag_p[lam][None, :]
                out[lam][lo:hi] = top_k_positions(scores, block, k)
        return out

    def _modelled(self, x: sp.csr_matrix) -> np.ndarray:
        counts = np.asarray((x > 0).sum(axis=0)).ravel()
        heard = np.flatnonzero(counts > 0)  # columns nobody heard in this phase are not modelled
        return np.sort(heard[np.lexsort((heard, -counts[heard]))][: self.max_items])

    def recommend(self, x_rows: sp.csr_matrix, k: int) -> np.ndarray:
        assert self.weights is not None and self.items is not None, "fit first"
        x_rows = sp.csr_matrix(x_rows, dtype=np.float64)
        x_rows.data[:] = 1.0
        n_cols = x_rows.shape[1]
        out = np.full((x_rows.shape[0], k), PAD, dtype=np.int64)
        not_modelled = np.setdiff1d(np.arange(n_cols), self.items)
        for lo, hi in _blocks(x_rows.shape[0], n_cols):
            block = x_rows[lo:hi]
            scores = np.full((hi - lo, n_cols), -np.inf)
            scores[:, self.items] = np.asarray(block[:, self.items] @ self.weights)
            scores[:, not_modelled] = -np.inf
            out[lo:hi] = top_k_positions(scores, block, k)
        return out


class ItemKNN:
    """implicit's item-item similarity (cosine or BM25) with K neighbours per item."""

    def __init__(
        self, kind: str, neighbours: int, num_threads: int = 1, k1: float = 1.2, b: float = 0.75
    ) -> None:
        if kind not in ("cosine", "bm25"):
            raise ValueError(f"kind must be 'cosine' or 'bm25', got {kind!r}")
        self.kind, self.neighbours, self.num_threads, self.k1, self.b = (
            kind,
            int(neighbours),
            num_threads,
            k1,
            b,
        )
        self.similarity: sp.csr_matrix | None = None

    def fit(self, x: sp.csr_matrix) -> ItemKNN:
        from implicit.nearest_neighbours import BM25Recommender, CosineRecommender

        x = sp.csr_matrix(x, dtype=np.float32)
        x.data[:] = 1.0
        model = (
            CosineRecommender(K=self.neighbours, num_threads=self.num_threads)
            if self.kind == "cosine"
            else BM25Recommender(K=self.neighbours, K1=self.k1, B=self.b, num_threads=self.num_threads)
        )
        with warnings.catch_warnings():  # implicit warns that its own normalize() hands itself a COO matrix
            warnings.filterwarnings("ignore", message="Method expects CSR input")
            model.fit(x, show_progress=False)
        self.similarity = sp.csr_matrix(model.similarity, dtype=np.float64)
        return self

    def recommend(self, x_rows: sp.csr_matrix, k: int) -> np.ndarray:
        assert self.similarity is not None, "fit first"
        x_rows = sp.csr_matrix(x_rows, dtype=np.float64)
        x_rows.data[:] = 1.0
        out = np.full((x_rows.shape[0], k), PAD, dtype=np.int64)
        for lo, hi in _blocks(x_rows.shape[0], x_rows.shape[1]):
            block = x_rows[lo:hi]
            scores = np.asarray((block @ self.similarity).toarray())
            out[lo:hi] = top_k_positions(scores, block, k, positive_only=True)
        return out


class RecencyPopularity:
    """Global ranking by listeners whose first listen falls in the last ``days`` days."""

    def __init__(self, days: int | None) -> None:
        self.days = days
        self.scores: np.ndarray | None = None

    def fit(self, cols: np.ndarray, first_day: np.ndarray, n_cols: int, ref_day: int) -> RecencyPopularity:
        """``cols``/``first_day``: one entry per (user, track) pair of the phase; ``ref_day``:
        the phase's last day (days since epoch)."""
        cols = np.asarray(cols, dtype=np.int64)
        total = np.bincount(cols, minlength=n_cols).astype(np.float64)
        if self.days is None:
            window = total
        else:
            window = np.bincount(cols[np.asarray(first_day) > ref_day - self.days], minlength=n_cols).astype(
                np.float64
            )
        self.scores = window + total / (total.max(initial=0) + 1.0)  # ties by all-time listeners (exact)
        return self

    def recommend(self, x_rows: sp.csr_matrix, k: int) -> np.ndarray:
        assert self.scores is not None, "fit first"
        out = np.full((x_rows.shape[0], k), PAD, dtype=np.int64)
        for lo, hi in _blocks(x_rows.shape[0], x_rows.shape[1]):
            scores = np.tile(self.scores, (hi - lo, 1))
            scores[scores <= 0] = -np.inf  # tracks nobody heard in the phase
            out[lo:hi] = top_k_positions(scores, x_rows[lo:hi], k)
        return out
