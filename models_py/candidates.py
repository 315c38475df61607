"""Candidate generation for the re-ranker: ALS top-N ∪ popular unheard tracks, per user.

One code path for both phases: ``fit`` (ALS trained on events_fit, popularity from
events_fit) and ``serve`` (the published ALS model, popularity from events_train).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from models_py import als
from models_py.columns import Columns as C
from models_py.data import Interactions
from models_py.metrics import PAD
from models_py.popularity import popularity_scores
from models_py.topk import top_k_from_ranking
from music_recs.config import Settings


@dataclass
class PhaseModels:
    """What candidate generation needs in one phase."""

    inter: Interactions
    model: als.AlsModel
    pop_cols: np.ndarray  # columns of inter, most popular first
    pop_rank_of_col: np.ndarray  # 1-based popularity rank of every column (inf if never heard)

    @classmethod
    def build(cls, con: duckdb.DuckDBPyConnection, inter: Interactions, model: als.AlsModel,
              half_life: float) -> "PhaseModels":
        if not np.array_equal(model.track_ids, inter.track_ids) or not np.array_equal(model.user_ids, inter.user_ids):
            raise ValueError(f"ALS model does not match the {inter.phase} interactions")
        track_ids, _ = popularity_scores(con, inter.phase, half_life)
        cols = inter.cols_of(track_ids)
        cols = cols[cols >= 0]
        rank = np.full(inter.n_tracks, np.inf)
        rank[cols] = np.arange(1, len(cols) + 1)
        return cls(inter, model, cols, rank)


def candidates(pm: PhaseModels, rows: np.ndarray, settings: Settings) -> pa.Table:
    """Candidate pairs for user ``rows`` with their generator features.

    Columns: user_id, track_id, als_score (dot product, for every candidate), als_rank
    (1-based in the user's ALS list, n_candidates + 1 when absent), pop_rank (global
    popularity rank of the track in the phase), from_als, from_pop.
    """
    inter, model = pm.inter, pm.model
    rows = np.asarray(rows, dtype=np.int64)
    _, als_tracks, _ = als.recommend(model, inter, settings.n_candidates, settings, rows=rows)
    als_cols = inter.cols_of(als_tracks)
    pop_pos = top_k_from_ranking(pm.pop_cols, inter.matrix, rows, settings.ranker_pop_candidates)
    pop_cols = np.where(pop_pos == PAD, -1, pm.pop_cols[np.maximum(pop_pos, 0)])

    n_tracks = inter.n_tracks
    local = np.arange(len(rows))[:, None]
    als_keys = (local * n_tracks + als_cols)[als_tracks != PAD]
    als_rank = np.broadcast_to(np.arange(1, als_tracks.shape[1] + 1), als_tracks.shape)[als_tracks != PAD]
    pop_keys = (local * n_tracks + pop_cols)[pop_cols >= 0]
    keys = np.union1d(als_keys, pop_keys)
    cand_local, cand_cols = keys // n_tracks, keys % n_tracks
    cand_rows = rows[cand_local]

    order = np.argsort(als_keys)
    pos = np.minimum(np.searchsorted(als_keys[order], keys), max(len(als_keys) - 1, 0))
    in_als = (als_keys[order][pos] == keys) if len(als_keys) else np.zeros(len(keys), bool)
    rank = np.where(in_als, als_rank[order][pos] if len(als_keys) else 0, settings.n_candidates + 1)
    score = np.einsum("ij,ij->i", model.user_factors[cand_rows], model.item_factors[cand_cols])
    return pa.table({
        C.User: pa.array(inter.user_ids[cand_rows], pa.int32()),
        C.Item: pa.array(inter.track_ids[cand_cols], pa.int64()),
        "als_score": pa.array(score.astype(np.float64)),
        "als_rank": pa.array(rank.astype(np.int32)),
        "pop_rank": pa.array(pm.pop_rank_of_col[cand_cols].astype(np.float64)),
        "from_als": pa.array(in_als),
        "from_pop": pa.array(np.isin(keys, pop_keys)),
    })
