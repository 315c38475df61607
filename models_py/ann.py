"""Top-k search for ALS candidates and similar tracks: exact, or approximate (faiss IVF).

Why: a full scan costs users × tracks × factors, beyond a build's time budget at full scale
(1.3M users × 0.9M scorable tracks). The exact search is norm-bounded
(``topk.top_k_norm_bounded``): ALS item norms span four orders of magnitude, so a few
thousand largest-norm tracks settle almost every user's top k with a proof, at ANN speed.
Cosine searches (unit vectors: similar tracks, recent taste) cannot be bounded that way;
for them the IVF index: tracks get one extra coordinate that turns the largest inner product
into the nearest L2 neighbour (``augment``), k-means clusters them into ``nlist`` lists and
each query scans the ``nprobe`` nearest.
Heard tracks are filtered after the search, so a user who heard ``h`` tracks asks for
``k + h`` results (h capped at ``als_ann_max_extra``); a user whose list still comes out
short falls back to the exact path. ``Searcher`` picks the search (``als_search``).
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np
import scipy.sparse as sp

from models_py.metrics import PAD
from models_py.topk import empty_top_k, norm_bound_share, top_k_from_scores, top_k_norm_bounded
from music_recs.config import AlsSettings

log = logging.getLogger("models_py.ann")

#: Bytes one exact-path score block may take (users × items × 4); bounds peak memory
#: (argpartition adds ~3× the block) whatever ``als_batch_size`` says.
EXACT_BLOCK_BYTES = 256 * 2**20
#: ``auto`` keeps the exact (norm-bounded) search for a large problem when its first round
#: settles at least this share of a probe of users; below it, the IVF index.
AUTO_MIN_SETTLED = 0.9
#: Users of the first call that the ``auto`` probe tries.
AUTO_PROBE_USERS = 1000
#: Smallest number of training points per IVF list faiss accepts without a warning.
MIN_POINTS_PER_LIST = 39
#: k-means of the IVF lists: iterations and training points per list (the rest is only
#: assigned). faiss' defaults (25 iterations on every track) make the index build a large
#: share of the step at full scale; a sample per list and fewer iterations place the
#: centroids well enough (the searches' recall: BENCHMARKS.md, "The full build").
KMEANS_ITERATIONS = 10
KMEANS_POINTS_PER_LIST = 64


def use_ann(n_users: int, n_items: int, als: AlsSettings) -> bool:
    """``als_search``: exact, ann, or auto = ANN from ``als_ann_min_pairs`` users × items up."""
    if als.search == "auto":
        return n_users * n_items >= als.ann_min_pairs
    return als.search == "ann"


def exact_batch_size(n_items: int, batch_size: int) -> int:
    """Users per exact batch so one score block stays within ``EXACT_BLOCK_BYTES``."""
    return max(1, min(batch_size, EXACT_BLOCK_BYTES // (4 * max(n_items, 1))))


def default_nlist(n_items: int) -> int:
    """4·√n lists (faiss' usual range), at most one per 39 items, at least one."""
    return max(1, min(int(4 * math.sqrt(n_items)), n_items // MIN_POINTS_PER_LIST))


def augment(item_vecs: np.ndarray) -> np.ndarray:
    """Items with one more coordinate sqrt(M² − |x|²), M = largest norm: the L2-nearest
    augmented item to a query (extra coordinate 0) is then its largest inner product (MIPS→L2)."""
    x = np.asarray(item_vecs, dtype=np.float32)
    sq = np.einsum("ij,ij->i", x, x, dtype=np.float64)
    extra = np.sqrt(np.maximum(sq.max(initial=0.0) - sq, 0.0)).astype(np.float32)
    return np.ascontiguousarray(np.hstack([x, extra[:, None]]))


def build_index(item_vecs: np.ndarray, nlist: int, seed: int, threads: int, what: str):
    """IVF-Flat L2 index over the augmented items (k-means seeded: same input → same index).

    ``nlist`` 0 = ``default_nlist``; the build time is logged under ``what``.
    """
    import faiss

    started = time.perf_counter()
    nlist = nlist or default_nlist(len(item_vecs))
    faiss.omp_set_num_threads(max(1, threads))
    x = augment(item_vecs)
    nlist = max(1, min(nlist, len(x)))
    index = faiss.IndexIVFFlat(faiss.IndexFlatL2(x.shape[1]), x.shape[1], nlist, faiss.METRIC_L2)
    index.cp.seed = seed
    index.cp.niter = KMEANS_ITERATIONS
    index.cp.max_points_per_centroid = KMEANS_POINTS_PER_LIST  # seeded subsample of the items
    index.train(x)
    index.add(x)
    log.info(
        "%s: IVF index of %d items, nlist %d (%.1fs)",
        what,
        len(x),
        index.nlist,
        time.perf_counter() - started,
    )
    return index


def _heard_mask(labels: np.ndarray, exclude: sp.csr_matrix | None, rows: np.ndarray) -> np.ndarray:
    """True where ``labels[i, j]`` is an item that ``exclude`` marks for user ``rows[i]``."""
    if exclude is None:
        return np.zeros(labels.shape, dtype=bool)
    block = exclude[rows].tocoo()
    n_items = exclude.shape[1]
    heard_keys = np.sort(block.row.astype(np.int64) * n_items + block.col)
    if len(heard_keys) == 0:
        return np.zeros(labels.shape, dtype=bool)
    keys = np.arange(len(rows), dtype=np.int64)[:, None] * n_items + labels
    pos = np.minimum(np.searchsorted(heard_keys, keys), len(heard_keys) - 1)
    return (heard_keys[pos] == keys) & (labels >= 0)


def top_k_ann(
    user_vecs: np.ndarray,
    item_vecs: np.ndarray,
    k: int,
    exclude: sp.csr_matrix | None = None,
    *,
    nlist: int = 0,
    nprobe: int = 128,
    max_extra: int = 2000,
    seed: int = 42,
    threads: int = 1,
    batch_size: int = 4096,
    what: str = "ANN scoring",
    index=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Same contract as ``top_k_from_scores`` (positions with ``PAD``, scores with NaN), approximate.

    ``nlist`` 0 = ``default_nlist``. Users are searched in batches of similar heard counts so
    each batch asks faiss for k + (its largest heard count) results only.
    """
    n_users, n_items = user_vecs.shape[0], item_vecs.shape[0]
    if nprobe < 1 or max_extra < 0:
        raise ValueError("nprobe must be >= 1, max_extra >= 0")
    out_idx, out_score = empty_top_k(user_vecs, item_vecs, k, exclude)
    kk = min(k, n_items)
    if n_items == 0 or n_users == 0:
        return out_idx, out_score
    started = time.perf_counter()
    if index is None:
        index = build_index(item_vecs, nlist, seed, threads, what)
    elif index.ntotal != n_items:
        raise ValueError(f"index holds {index.ntotal} items, item_vecs {n_items}")
    index.nprobe = min(nprobe, index.nlist)
    heard = np.diff(exclude.indptr) if exclude is not None else np.zeros(n_users, dtype=np.int64)
    want = np.minimum(kk, n_items - heard)  # unheard items a complete list holds
    depth = np.minimum(n_items, kk + np.minimum(heard, max_extra))
    order = np.argsort(depth, kind="stable")
    users = np.ascontiguousarray(user_vecs, dtype=np.float32)
    items = np.asarray(item_vecs, dtype=np.float32)
    short: list[np.ndarray] = []
    next_log = time.perf_counter() + 30
    for lo in range(0, n_users, batch_size):
        rows = order[lo : lo + batch_size]
        q = np.hstack([users[rows], np.zeros((len(rows), 1), dtype=np.float32)])
        _, labels = index.search(q, int(depth[rows].max()))  # nearest first
        bad = (labels < 0) | _heard_mask(labels, exclude, rows)
        first = np.argsort(bad, axis=1, kind="stable")[:, :kk]  # first kk usable, in search order
        ok = ~np.take_along_axis(bad, first, axis=1)
        idx = np.where(ok, np.take_along_axis(labels, first, axis=1), 0)
        # exact scores of the picks; re-sorted (score desc, then position asc) like the exact path
        sc = np.where(ok, np.einsum("uf,ukf->uk", users[rows], items[idx]), -np.inf).astype(np.float32)
        pick = np.lexsort((np.where(ok, idx, n_items), -sc), axis=1)
        idx, sc = np.take_along_axis(idx, pick, axis=1), np.take_along_axis(sc, pick, axis=1)
        ok = np.isfinite(sc)
        out_idx[rows, :kk] = np.where(ok, idx, PAD)
        out_score[rows, :kk] = np.where(ok, sc, np.nan)
        short.append(rows[ok.sum(axis=1) < want[rows]])
        if time.perf_counter() > next_log:
            next_log += 30
            log.info(
                "%s: %d/%d queries (%.0fs)",
                what,
                min(lo + batch_size, n_users),
                n_users,
                time.perf_counter() - started,
            )
    redo = np.sort(np.concatenate(short))
    if len(redo):
        sub = exclude[redo] if exclude is not None else None
        out_idx[redo], out_score[redo] = top_k_from_scores(
            user_vecs[redo],
            item_vecs,
            k,
            exclude=sub,
            batch_size=exact_batch_size(n_items, batch_size),
            what=f"{what} (exact fallback)",
        )
    log.info(
        "%s: %d queries in %.1fs, %d fell back to exact",
        what,
        n_users,
        time.perf_counter() - started,
        len(redo),
    )
    return out_idx, out_score


class Searcher:
    """Top-k over one fixed item set for any number of user chunks.

    Why: the ranker scores a phase's users in chunks. The search is decided once, at the
    first call, from the phase's total users (a chunk alone would fall under
    ``als_ann_min_pairs``): ``exact`` (norm-bounded), ``ann``, or ``auto`` = exact for small
    problems and for large ones whose norms settle most of a probe of users, else ANN. The IVF
    index is built once and reused by every chunk.
    """

    def __init__(
        self, item_vecs: np.ndarray, n_users: int, als: AlsSettings, *, seed: int, threads: int, what: str
    ) -> None:
        self.item_vecs = np.asarray(item_vecs, dtype=np.float32)
        self.als = als
        self.seed = seed
        self.threads = threads
        self.what = what
        self.n_users = n_users
        self.ann: bool | None = None if als.search == "auto" else als.search == "ann"
        self._index = None

    def _decide(self, user_vecs: np.ndarray, k: int, exclude: sp.csr_matrix | None) -> bool:
        if not use_ann(self.n_users, len(self.item_vecs), self.als):
            return False
        probe = np.arange(min(AUTO_PROBE_USERS, user_vecs.shape[0]))
        share = norm_bound_share(
            user_vecs[probe], self.item_vecs, k, exclude[probe] if exclude is not None else None
        )
        log.info(
            "%s: the norm bound settles %.1f%% of %d probe users: %s search",
            self.what,
            100 * share,
            len(probe),
            "exact" if share >= AUTO_MIN_SETTLED else "ANN",
        )
        return share < AUTO_MIN_SETTLED

    def top_k(
        self, user_vecs: np.ndarray, k: int, exclude: sp.csr_matrix | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Best ``k`` items per user (positions with ``PAD``, scores with NaN), heard excluded."""
        s, n_items = self.als, len(self.item_vecs)
        if self.ann is None:
            self.ann = self._decide(user_vecs, k, exclude)
        if not self.ann:
            return top_k_norm_bounded(
                user_vecs,
                self.item_vecs,
                k,
                exclude=exclude,
                batch_size=s.batch_size,
                what=self.what,
                block_bytes=EXACT_BLOCK_BYTES,
            )
        if self._index is None and n_items > 0:
            self._index = build_index(self.item_vecs, s.ann_nlist, self.seed, self.threads, self.what)
        return top_k_ann(
            user_vecs,
            self.item_vecs,
            k,
            exclude,
            nprobe=s.ann_nprobe,
            max_extra=s.ann_max_extra,
            seed=self.seed,
            threads=self.threads,
            what=self.what,
            index=self._index,
        )


def top_k(
    user_vecs: np.ndarray,
    item_vecs: np.ndarray,
    k: int,
    exclude: sp.csr_matrix | None,
    als: AlsSettings,
    *,
    seed: int,
    threads: int,
    what: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact or ANN top-k as ``als.search`` decides (see ``Searcher``)."""
    return Searcher(item_vecs, user_vecs.shape[0], als, seed=seed, threads=threads, what=what).top_k(
        user_vecs, k, exclude
    )
