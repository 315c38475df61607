"""Candidate generation for the re-ranker, one code path for both phases.

Sources per user: ALS top ``n_candidates``; the most popular unheard tracks
(``ranker_pop_candidates``); and tracks closest to the user's *recent* taste
(``ranker_recent_candidates``): the mean direction of the ALS item vectors of the user's
last ``ranker_recent_tracks`` tracks. Listeners drift, and the recent profile follows the
drift faster than the user's ALS vector, which sums up the whole history. And the best
unheard tracks of the user's taste clusters (``ranker_cluster_candidates``, by the user's
share of the cluster times the track's share of its popularity): ALS's dot product favours
a user's main scene, so a second scene's hits are often missing from its top 100.
Phases: ``fit`` (ALS trained on events_fit, popularity from events_fit) and ``serve`` (the
published ALS model, popularity from events_train).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from models_py import als, ann
from models_py.arrays import member_of, normalized, unique_sorted
from models_py.clusters import artist_clusters, cluster_ranking, cluster_shares, taste_top_k
from models_py.data import Interactions
from models_py.metrics import PAD
from models_py.popularity import popularity_scores
from models_py.topk import top_k_from_ranking
from music_recs.config import AlsSettings, RankerSettings
from music_recs.tables import Columns as C
from music_recs.tables import Tables


def recent_tracks(inter: Interactions, n_recent: int) -> np.ndarray:
    """Columns of each user's ``n_recent`` most recent tracks (newest first, -1 padded)."""
    m = inter.matrix
    row_of = np.repeat(np.arange(inter.n_users), np.diff(m.indptr))
    age = np.asarray(inter.age_days)
    if m.nnz and m.has_sorted_indices and age.min() >= 0 and np.array_equal(age, np.floor(age)):
        # whole days and columns ascending within each row: one stable sort on (user, age)
        # keeps the column order among ties, the same order as the lexsort below at a
        # fraction of its cost (the lexsort's three keys over every listen dominate at full
        # scale)
        span = int(age.max()) + 1
        order = np.argsort(row_of * span + age.astype(np.int64), kind="stable")
    else:
        order = np.lexsort((m.indices, age, row_of))  # by user, newest first, then column
    pos = np.arange(m.nnz) - m.indptr[row_of[order]]
    keep = order[pos < n_recent]
    out = np.full((inter.n_users, n_recent), -1, dtype=np.int64)
    out[row_of[keep], pos[pos < n_recent]] = m.indices[keep]
    return out


def recent_profiles(recent: np.ndarray, item_unit: np.ndarray) -> np.ndarray:
    """Unit mean of the unit item vectors of each user's recent tracks."""
    vecs = np.where((recent >= 0)[:, :, None], item_unit[np.maximum(recent, 0)], 0.0)
    return normalized(vecs.sum(axis=1))


#: Candidate pairs per block of the per-pair vector products below. Why blocks: a serve chunk
#: has millions of pairs; gathering every pair's factor rows at once makes arrays of
#: gigabytes, each freshly page-faulted, which costs more than the products themselves.
PAIR_BLOCK = 8192


def rowwise_dot(
    a: np.ndarray, a_rows: np.ndarray, b: np.ndarray, b_rows: np.ndarray, block: int = PAIR_BLOCK
) -> np.ndarray:
    """``a[a_rows[i]] · b[b_rows[i]]`` for every i (what ``einsum('ij,ij->i', a[a_rows],
    b[b_rows])`` returns), computed a block of pairs at a time."""
    out = np.empty(len(a_rows), dtype=np.result_type(a, b))
    for lo in range(0, len(a_rows), block):
        np.einsum(
            "ij,ij->i", a[a_rows[lo : lo + block]], b[b_rows[lo : lo + block]], out=out[lo : lo + block]
        )
    return out


def max_similarity(
    recent: np.ndarray, item_unit: np.ndarray, rows: np.ndarray, cols: np.ndarray, block: int = PAIR_BLOCK
) -> np.ndarray:
    """Largest cosine between each (user row, track col) pair's track and the user's recent tracks."""
    out = np.empty(len(rows), dtype=np.float32)
    for lo in range(0, len(rows), block):
        r, c = recent[rows[lo : lo + block]], cols[lo : lo + block]
        sims = np.einsum("nf,nkf->nk", item_unit[c], item_unit[np.maximum(r, 0)])
        out[lo : lo + block] = np.where(r >= 0, sims, -1.0).max(axis=1)
    return out


@dataclass
class PhaseModels:
    """What candidate generation needs in one phase."""

    inter: Interactions
    model: als.AlsModel
    pop_cols: np.ndarray  # columns of inter, most popular first
    pop_rank_of_col: np.ndarray  # 1-based popularity rank of every column (inf if never heard)
    item_unit: np.ndarray  # ALS item vectors scaled to unit length
    recent_cols: np.ndarray  # every user's last tracks (columns, -1 padded)
    recent: np.ndarray  # recent-taste profile of every user (unit vectors)
    als_search: tuple[np.ndarray, ann.Searcher]  # columns candidates may come from, and their searcher
    recent_search: ann.Searcher  # top-k by cosine to the recent profile, over the same columns
    cluster_of_col: np.ndarray  # taste cluster of every column (clusters.artist_clusters)
    cluster_track_share: np.ndarray  # the column's share of its cluster's popularity score
    cluster_lists: tuple[
        np.ndarray, np.ndarray
    ]  # scorable columns by cluster, best share first (cluster_ranking)
    #: the ALS top n_candidates of user rows as columns, when already stored (serve: the als
    #: step's recs_als, als.published_lists); None = search them
    als_lists: Callable[[np.ndarray], np.ndarray] | None = None

    @classmethod
    def build(
        cls,
        con: duckdb.DuckDBPyConnection,
        inter: Interactions,
        model: als.AlsModel,
        half_life: float,
        ranker: RankerSettings,
        als_settings: AlsSettings,
        *,
        seed: int,
        threads: int,
    ) -> PhaseModels:
        if not np.array_equal(model.track_ids, inter.track_ids) or not np.array_equal(
            model.user_ids, inter.user_ids
        ):
            raise ValueError(f"ALS model does not match the {inter.phase} interactions")
        track_ids, pop_scores = popularity_scores(con, inter.phase, half_life)
        cols = inter.cols_of(track_ids)
        pop_scores = pop_scores[cols >= 0]
        cols = cols[cols >= 0]
        rank = np.full(inter.n_tracks, np.inf)
        rank[cols] = np.arange(1, len(cols) + 1)
        unit = normalized(model.item_factors)
        last = recent_tracks(inter, ranker.recent_tracks)
        # searchers are built once per phase: every chunk of users reuses their index
        als_search = als.scoring_search(model, inter, als_settings, inter.n_users, seed=seed, threads=threads)
        recent_search = ann.Searcher(
            unit[als_search[0]],
            inter.n_users,
            als_settings,
            seed=seed,
            threads=threads,
            what=f"recent-taste {inter.phase} scoring",
        )
        cluster = artist_clusters(unit, _track_artist(con, inter), ranker.taste_clusters, seed)
        score = np.zeros(inter.n_tracks)
        score[cols] = pop_scores
        mass = np.bincount(cluster, weights=score)[cluster]
        share = np.divide(score, mass, out=np.zeros_like(score), where=mass > 0)
        allowed = np.zeros(inter.n_tracks, dtype=bool)
        allowed[als_search[0]] = True
        return cls(
            inter,
            model,
            cols,
            rank,
            unit,
            last,
            recent_profiles(last, unit),
            als_search,
            recent_search,
            cluster,
            share,
            cluster_ranking(cluster, share, allowed),
        )


def _track_artist(con: duckdb.DuckDBPyConnection, inter: Interactions) -> np.ndarray:
    """One artist per column (the smallest canonical id of a multi-artist track; -1 = none)."""
    got = con.execute(
        f"SELECT {C.Item}, MIN({C.Artist}) AS {C.Artist} FROM {Tables.ItemArtists} GROUP BY {C.Item}"
    ).fetchnumpy()
    cols = inter.cols_of(np.asarray(got[C.Item], dtype=np.int64))
    out = np.full(inter.n_tracks, -1, dtype=np.int64)
    out[cols[cols >= 0]] = np.asarray(got[C.Artist], dtype=np.int64)[cols >= 0]
    return out


def _rank_lookup(
    keys: np.ndarray, source_keys: np.ndarray, source_rank: np.ndarray, missing: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rank of each key in a source list (``missing`` when absent) and whether it is there."""
    if len(source_keys) == 0:
        return np.full(len(keys), missing), np.zeros(len(keys), dtype=bool)
    order = np.argsort(source_keys)
    pos = np.minimum(np.searchsorted(source_keys[order], keys), len(source_keys) - 1)
    found = source_keys[order][pos] == keys
    return np.where(found, source_rank[order][pos], missing), found


def recent_top(pm: PhaseModels, rows: np.ndarray, k: int) -> np.ndarray:
    """Columns of the ``ranker_recent_candidates`` unheard tracks closest to each user row's
    recent-taste profile, best first (-1 padded). The one source ``candidates`` can take
    precomputed: the ranker searches the next chunk's while it scores this one."""
    score_cols, _ = pm.als_search
    if k <= 0:
        return np.zeros((len(rows), 0), dtype=np.int64)
    idx, _ = pm.recent_search.top_k(pm.recent[rows], k, pm.inter.matrix[rows][:, score_cols])
    return np.where(idx == PAD, -1, score_cols[np.maximum(idx, 0)])


def candidates(
    pm: PhaseModels,
    rows: np.ndarray,
    ranker: RankerSettings,
    n_candidates: int,
    recent_cols: np.ndarray | None = None,
) -> pa.Table:
    """Candidate pairs for user ``rows`` with their generator features (``recent_cols``:
    ``recent_top`` of the rows when already computed).

    Columns: user_id, track_id; als_score (dot product, for every candidate), als_rank
    (1-based in the user's ALS list, n_candidates + 1 when absent) and als_score_gap (score
    minus the user's best candidate score, computed here because a SQL window would be a
    large share of the feature query); pop_rank (global
    popularity rank of the track in the phase); recent_sim (cosine of the track to the user's
    recent profile), recent_max_sim (best cosine to one of the user's last tracks) and
    recent_rank (ranker_recent_candidates + 1 when absent); cluster_rank (in the user's taste-cluster
    list, ranker_cluster_candidates + 1 when absent); from_* flags; cluster_user_share /
    cluster_recent_share (the user's share of tracks, all / recent, in the track's taste
    cluster), cluster_track_share (the track's share of its cluster's popularity score) and
    the products cluster_score_all / cluster_score (recent).
    """
    inter, model = pm.inter, pm.model
    rows = np.asarray(rows, dtype=np.int64)
    n_tracks = inter.n_tracks
    local = np.arange(len(rows))[:, None]

    def keyed(cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ok = cols >= 0
        ranks = np.broadcast_to(np.arange(1, cols.shape[1] + 1), cols.shape)
        return (local * n_tracks + cols)[ok], ranks[ok]

    if pm.als_lists is not None:
        als_cols = pm.als_lists(rows)
    else:
        _, als_tracks, _ = als.recommend_with(model, inter, n_candidates, pm.als_search, rows)
        als_cols = np.where(als_tracks == PAD, -1, inter.cols_of(als_tracks))
    als_keys, als_rank = keyed(als_cols)

    pop_pos = top_k_from_ranking(pm.pop_cols, inter.matrix, rows, ranker.pop_candidates)
    pop_keys, _ = keyed(np.where(pop_pos == PAD, -1, pm.pop_cols[np.maximum(pop_pos, 0)]))

    recent_keys, recent_rank = keyed(
        recent_top(pm, rows, ranker.recent_candidates) if recent_cols is None else recent_cols
    )

    taste_cols, _ = taste_top_k(
        *pm.cluster_lists,
        pm.cluster_of_col,
        pm.cluster_track_share,
        inter.matrix,
        rows,
        ranker.cluster_candidates,
    )
    taste_keys, taste_rank = keyed(taste_cols)

    keys = unique_sorted(np.concatenate([als_keys, pop_keys, recent_keys, taste_keys]))
    cand_rows, cand_cols = rows[keys // n_tracks], keys % n_tracks
    a_rank, in_als = _rank_lookup(keys, als_keys, als_rank, n_candidates + 1)
    r_rank, in_recent = _rank_lookup(keys, recent_keys, recent_rank, ranker.recent_candidates + 1)
    c_rank, in_taste = _rank_lookup(keys, taste_keys, taste_rank, ranker.cluster_candidates + 1)
    score = rowwise_dot(model.user_factors, cand_rows, model.item_factors, cand_cols)
    # rows come grouped by user (keys are sorted): each user's best ALS score by reduceat
    starts = (
        np.flatnonzero(np.r_[True, cand_rows[1:] != cand_rows[:-1]]) if len(keys) else np.zeros(0, np.int64)
    )
    gap = (
        score - np.repeat(np.maximum.reduceat(score, starts), np.diff(np.r_[starts, len(keys)]))
        if len(keys)
        else score
    )
    recent_sim = rowwise_dot(pm.recent, cand_rows, pm.item_unit, cand_cols)
    recent_max = max_similarity(pm.recent_cols, pm.item_unit, cand_rows, cand_cols)
    user_share, recent_share = cluster_shares(
        pm.cluster_of_col, inter.matrix, pm.recent_cols, rows, keys // n_tracks, pm.cluster_of_col[cand_cols]
    )
    track_share = pm.cluster_track_share[cand_cols]
    return pa.table(
        {
            C.User: pa.array(inter.user_ids[cand_rows], pa.int32()),
            C.Item: pa.array(inter.track_ids[cand_cols], pa.int64()),
            "als_score": pa.array(score.astype(np.float64)),
            "als_rank": pa.array(a_rank.astype(np.int32)),
            "als_score_gap": pa.array(gap.astype(np.float64)),
            "pop_rank": pa.array(pm.pop_rank_of_col[cand_cols].astype(np.float64)),
            "recent_sim": pa.array(recent_sim.astype(np.float64)),
            "recent_rank": pa.array(r_rank.astype(np.int32)),
            "recent_max_sim": pa.array(recent_max.astype(np.float64)),
            "from_als": pa.array(in_als),
            "from_pop": pa.array(member_of(keys, pop_keys)),
            "from_recent": pa.array(in_recent),
            "cluster_rank": pa.array(c_rank.astype(np.int32)),
            "from_cluster": pa.array(in_taste),
            "cluster_user_share": pa.array(user_share),
            "cluster_recent_share": pa.array(recent_share),
            "cluster_track_share": pa.array(track_share),
            "cluster_score": pa.array(recent_share * track_share),
            "cluster_score_all": pa.array(user_share * track_share),
        }
    )
