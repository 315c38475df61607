"""Top-k selection shared by every recommender: heard tracks excluded, ``PAD`` fills short lists."""

from __future__ import annotations

import logging
import time

import numpy as np
import scipy.sparse as sp

from models_py.metrics import PAD

log = logging.getLogger("models_py.topk")


def empty_top_k(
    user_vecs: np.ndarray, item_vecs: np.ndarray, k: int, exclude: sp.csr_matrix | None
) -> tuple[np.ndarray, np.ndarray]:
    """Check a top-k problem's shapes; its output arrays, all ``PAD`` / NaN (every search fills these)."""
    n_users, n_items = user_vecs.shape[0], item_vecs.shape[0]
    if user_vecs.shape[1] != item_vecs.shape[1]:
        raise ValueError("user and item vectors must have the same number of factors")
    if exclude is not None and exclude.shape != (n_users, n_items):
        raise ValueError(f"exclude must be {(n_users, n_items)}, got {exclude.shape}")
    if k < 1:
        raise ValueError("k must be >= 1")
    return (np.full((n_users, k), PAD, dtype=np.int64), np.full((n_users, k), np.nan, dtype=np.float32))


def top_k_from_scores(
    user_vecs: np.ndarray,
    item_vecs: np.ndarray,
    k: int,
    exclude: sp.csr_matrix | None = None,
    batch_size: int = 2048,
    what: str = "scoring",
) -> tuple[np.ndarray, np.ndarray]:
    """Best ``k`` items per user by dot product, in user batches (matmul + argpartition).

    ``exclude`` (users × items, any nonzero = excluded) removes e.g. already heard tracks.
    Returns item positions (``PAD`` where fewer than k items remain) and their scores (NaN there).
    """
    n_users, n_items = user_vecs.shape[0], item_vecs.shape[0]
    out_idx, out_score = empty_top_k(user_vecs, item_vecs, k, exclude)
    kk = min(k, n_items)
    if n_items == 0 or n_users == 0:
        return out_idx, out_score
    items_t = np.ascontiguousarray(item_vecs.T, dtype=np.float32)
    started, next_log = time.perf_counter(), time.perf_counter() + 30
    for lo in range(0, n_users, batch_size):
        hi = min(lo + batch_size, n_users)
        scores = np.asarray(user_vecs[lo:hi], dtype=np.float32) @ items_t
        if exclude is not None:
            block = exclude[lo:hi].tocoo()
            scores[block.row, block.col] = -np.inf
        part = (
            np.argpartition(-scores, kk - 1, axis=1)[:, :kk]
            if kk < n_items
            else np.tile(np.arange(n_items), (hi - lo, 1))
        )
        part_scores = np.take_along_axis(scores, part, axis=1)
        order = np.lexsort((part, -part_scores), axis=1)  # score desc, then item position asc
        idx = np.take_along_axis(part, order, axis=1)
        sc = np.take_along_axis(part_scores, order, axis=1)
        bad = ~np.isfinite(sc)
        out_idx[lo:hi, :kk] = np.where(bad, PAD, idx)
        out_score[lo:hi, :kk] = np.where(bad, np.nan, sc)
        if time.perf_counter() > next_log:
            next_log += 30
            log.info("%s: %d/%d users (%.0fs)", what, hi, n_users, time.perf_counter() - started)
    return out_idx, out_score


def top_k_from_ranking(
    ranked_items: np.ndarray,
    heard: sp.csr_matrix | None,
    rows: np.ndarray,
    k: int,
    batch_size: int = 65536,
) -> np.ndarray:
    """The first ``k`` items of one global ranking per user, skipping what the user heard.

    ``ranked_items`` are column positions in ``heard`` (best first, each column at most once,
    -1 = a column the matrix does not have, never heard); ``rows`` are user rows of ``heard``
    (-1 = no history). Returns positions into ``ranked_items`` (``PAD`` when the ranking runs out).

    How: with the user's heard positions in the ranking sorted, s_0 < s_1 < ..., a_i = s_i − i
    unheard positions precede s_i, so the j-th unheard position is j + #{i : a_i <= j}: one
    sort and one binary search per user and j, O(heard pairs), instead of a users × (k + most
    heard) mask, whose size grows with the heaviest listener and dominates at full scale.
    """
    ranked_items = np.asarray(ranked_items, dtype=np.int64)
    rows = np.asarray(rows, dtype=np.int64)
    m = len(ranked_items)
    out = np.full((len(rows), k), PAD, dtype=np.int64)
    if m == 0 or len(rows) == 0:
        return out
    j = np.arange(k, dtype=np.int64)
    if heard is None:
        out[:, : min(k, m)] = j[: min(k, m)]
        return out
    pos_of_col = np.full(heard.shape[1], -1, dtype=np.int64)
    known = ranked_items >= 0
    pos_of_col[ranked_items[known]] = np.flatnonzero(known)
    indptr = np.asarray(heard.indptr, dtype=np.int64)
    span = m + 1  # a_i and j stay below m + 1: (user, value) keys never collide
    for lo in range(0, len(rows), batch_size):
        r = rows[lo : lo + batch_size]
        n = len(r)
        starts = np.where(r >= 0, indptr[np.maximum(r, 0)], 0)
        lens = np.where(r >= 0, indptr[np.maximum(r, 0) + 1] - starts, 0)
        owner = np.repeat(np.arange(n, dtype=np.int64), lens)
        flat = (
            np.arange(len(owner), dtype=np.int64)
            - np.repeat(np.cumsum(lens) - lens, lens)
            + np.repeat(starts, lens)
        )
        pos = pos_of_col[heard.indices[flat]]
        # a user with h heard items finds k unheard ones within the first k + h positions:
        # heard positions beyond never count (and are the last of the user's sorted ones)
        keep = (pos >= 0) & (pos < k + np.repeat(lens, lens)) & (heard.data[flat] != 0)
        key = np.sort(owner[keep] * span + pos[keep])  # by user, then heard position
        owner = key // span
        first = np.searchsorted(owner, np.arange(n), side="left")
        adjusted = key - (np.arange(len(key)) - first[owner])  # user * span + a_i, sorted
        count = np.searchsorted(adjusted, (np.arange(n)[:, None] * span + j).ravel(), side="right").reshape(
            n, k
        )
        p = j + count - first[:, None]
        out[lo : lo + n] = np.where(p < m, p, PAD)
    return out


#: Largest-norm items the norm-bounded search scores in its first round (4x per later round).
NORM_FIRST_ITEMS = 16384
#: A round that settles fewer than this share of its users ends the pruning: the norms do not
#: bound the scores well enough (e.g. unit vectors), and the rest go straight to the full scan.
NORM_MIN_SETTLED = 0.25
#: Relative margin on the bound, for float32 rounding in the scores.
NORM_MARGIN = 1e-4
#: A round is tried only when the largest norm it leaves out is below this share of the
#: largest norm: with flatter norms (unit vectors: all equal) the bound cannot settle anyone.
NORM_MAX_RATIO = 0.5


def _row_norms(x: np.ndarray) -> np.ndarray:
    return np.sqrt(np.einsum("ij,ij->i", x, x, dtype=np.float64))


def _settle(
    users: np.ndarray,
    user_norms: np.ndarray,
    items: np.ndarray,
    norms: np.ndarray,
    by_norm: np.ndarray,
    size: int,
    k: int,
    exclude: sp.csr_matrix | None,
    batch_size: int,
    what: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One round: each user's top k among the ``size`` largest-norm items (positions into all
    items), and which users it settles (k-th score above |u| x the largest norm left out)."""
    cols = np.sort(by_norm[:size])  # ascending positions: ties keep the full scan's order
    idx, sc = top_k_from_scores(
        users,
        items[cols],
        k,
        exclude[:, cols] if exclude is not None else None,
        batch_size=batch_size,
        what=what,
    )
    bound = user_norms * norms[by_norm[size]] * (1.0 + NORM_MARGIN)
    settled = sc[:, k - 1].astype(np.float64) > bound  # NaN (fewer than k unheard) never settles
    return np.where(idx == PAD, PAD, cols[np.maximum(idx, 0)]), sc, settled


def top_k_norm_bounded(
    user_vecs: np.ndarray,
    item_vecs: np.ndarray,
    k: int,
    exclude: sp.csr_matrix | None = None,
    batch_size: int = 2048,
    what: str = "scoring",
    block_bytes: int = 256 * 2**20,
    first_items: int = NORM_FIRST_ITEMS,
    block_users: int = 65536,
) -> tuple[np.ndarray, np.ndarray]:
    """``top_k_from_scores``' answer, most users scored against the largest-norm items only.

    Why: u·i <= |u|·|i|. With items sorted by norm, when a user's k-th best unheard score among
    the T largest-norm items beats |u| times the largest norm left out, no other item can
    enter the top k: the answer is exact. ALS item norms grow with popularity (at full scale
    they span four orders of magnitude), so the first round's largest-norm items settle
    nearly every user (BENCHMARKS.md, "The full build"). Unsettled users retry with 4·T
    items, then all of them. Score blocks are kept within ``block_bytes``.
    """
    n_users, n_items = user_vecs.shape[0], item_vecs.shape[0]
    out_idx, out_score = empty_top_k(user_vecs, item_vecs, k, exclude)
    if n_items == 0 or n_users == 0:
        return out_idx, out_score
    users = np.asarray(user_vecs, dtype=np.float32)
    items = np.asarray(item_vecs, dtype=np.float32)
    norms, user_norms = _row_norms(items), _row_norms(users)
    by_norm = np.argsort(-norms, kind="stable")
    sizes = []
    t = max(first_items, 4 * k)
    while t < n_items:
        if norms[by_norm[t]] < NORM_MAX_RATIO * norms[by_norm[0]]:
            sizes.append(t)
        t *= 4

    def batch(n_cols: int) -> int:
        return max(1, min(batch_size, block_bytes // (4 * n_cols)))

    settled_by_round = np.zeros(len(sizes) + 1, dtype=np.int64)
    started, next_log = time.perf_counter(), time.perf_counter() + 30
    for lo in range(0, n_users, block_users):
        rows = np.arange(lo, min(lo + block_users, n_users))
        ex = exclude[rows] if exclude is not None else None
        todo = np.arange(len(rows))
        for r, size in enumerate(sizes):
            idx, sc, ok = _settle(
                users[rows[todo]],
                user_norms[rows[todo]],
                items,
                norms,
                by_norm,
                size,
                k,
                ex[todo] if ex is not None else None,
                batch(size),
                what,
            )
            out_idx[rows[todo[ok]]], out_score[rows[todo[ok]]] = idx[ok], sc[ok]
            settled_by_round[r] += int(ok.sum())
            share = ok.mean()
            todo = todo[~ok]
            if share < NORM_MIN_SETTLED:
                sizes = sizes[:r]  # pruning does not pay here: full scans from now on
                break
            if len(todo) == 0:
                break
        if len(todo):
            done = rows[todo]
            out_idx[done], out_score[done] = top_k_from_scores(
                users[done],
                items,
                k,
                ex[todo] if ex is not None else None,
                batch_size=batch(n_items),
                what=what,
            )
            settled_by_round[-1] += len(done)
        if time.perf_counter() > next_log:
            next_log += 30
            log.info("%s: %d/%d users (%.0fs)", what, rows[-1] + 1, n_users, time.perf_counter() - started)
    log.debug("%s: users settled per round %s (last = full scan)", what, settled_by_round.tolist())
    return out_idx, out_score


def norm_bound_share(
    user_vecs: np.ndarray,
    item_vecs: np.ndarray,
    k: int,
    exclude: sp.csr_matrix | None,
    first_items: int = NORM_FIRST_ITEMS,
) -> float:
    """Share of these users whose top k the first round of ``top_k_norm_bounded`` settles."""
    size = max(first_items, 4 * k)
    if item_vecs.shape[0] <= size or user_vecs.shape[0] == 0:
        return 1.0  # a single full scan: nothing to prune
    users = np.asarray(user_vecs, dtype=np.float32)
    items = np.asarray(item_vecs, dtype=np.float32)
    norms = _row_norms(items)
    _, _, settled = _settle(
        users,
        _row_norms(users),
        items,
        norms,
        np.argsort(-norms, kind="stable"),
        size,
        k,
        exclude,
        2048,
        "norm bound probe",
    )
    return float(settled.mean())
