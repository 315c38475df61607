"""Step ``similar``: top ``n_similar`` tracks per track by cosine of the ALS item factors.

Every track with train data gets a list; the similar tracks are drawn from the tracks ALS
may recommend (heard in the last ``als_score_days`` of train), so the online service never
suggests a track that left circulation long ago.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from models_py import ann
from models_py.als import AlsModel
from models_py.arrays import normalized
from models_py.artifacts import factors_path
from models_py.data import positions_of, recent_track_ids, serve_track_ids
from models_py.db import connect, require_tables, timed, write_table
from models_py.metrics import PAD
from music_recs.config import AlsSettings, Settings
from music_recs.logs import setup_logging
from music_recs.tables import Columns as C
from music_recs.tables import Phases, Tables

log = logging.getLogger("models_py.similar")


def similar_tracks(
    model: AlsModel, candidate_cols: np.ndarray, k: int, als: AlsSettings, *, seed: int, threads: int
) -> tuple[np.ndarray, np.ndarray]:
    """For every track of the model: ``k`` most cosine-similar candidates, itself excluded."""
    unit = normalized(model.item_factors)
    n = len(model.track_ids)
    cand = np.asarray(candidate_cols, dtype=np.int64)
    self_pos = np.full(n, -1, dtype=np.int64)
    self_pos[cand] = np.arange(len(cand))
    rows = np.flatnonzero(self_pos >= 0)
    exclude = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, self_pos[rows])), shape=(n, len(cand))
    )
    idx, scores = ann.top_k(
        unit, unit[cand], k, exclude, als, seed=seed, threads=threads, what="similar tracks"
    )
    return np.where(idx == PAD, PAD, model.track_ids[cand][np.maximum(idx, 0)]), scores


def run(db_path: Path, settings: Settings) -> None:
    setup_logging("models_py.similar", logs_dir=settings.logs_dir)
    with timed(log, "similar"), connect(db_path, memory_limit=settings.models.memory_limit) as con:
        require_tables(con, Tables.EventsTrain, Tables.UserIndex, Tables.TrackIndex, step="similar")
        model = AlsModel.load(factors_path(db_path, settings, Phases.Serve))
        if not np.array_equal(serve_track_ids(con), model.track_ids):
            raise RuntimeError("ALS factors do not match this warehouse's track_index; rerun als")
        # the tracks ALS may recommend, from SQL: the train matrix itself is not needed here
        cols = positions_of(model.track_ids, recent_track_ids(con, Phases.Serve, settings.als.score_days))
        tracks, scores = similar_tracks(
            model,
            cols,
            settings.models.n_similar,
            settings.als,
            seed=settings.seed,
            threads=settings.models.train_threads,
        )
        n, k = tracks.shape
        keep = tracks != PAD
        table = pa.table(
            {
                C.Item: pa.array(np.broadcast_to(model.track_ids[:, None], (n, k))[keep], pa.int64()),
                C.SimilarItem: pa.array(tracks[keep], pa.int64()),
                C.Score: pa.array(scores[keep].astype(np.float64), pa.float64()),
                C.Rank: pa.array(np.broadcast_to(np.arange(1, k + 1), (n, k))[keep], pa.int32()),
            }
        )
        rows = write_table(con, Tables.SimilarTracks, table, order_by=f"{C.Item}, {C.Rank}")
        log.info(
            "wrote %s: %d rows for %d tracks (%d candidate tracks)", Tables.SimilarTracks, rows, n, len(cols)
        )
