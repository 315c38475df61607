"""User–genre and user–artist affinity of candidate pairs, from the phase's interactions matrix.

The warehouse holds the same numbers as views (``user_genre_affinity``,
``user_artist_affinity``: a user's tracks carrying the entity and their share of the user's
tracks in the phase). Why not read them: a serve chunk would ask DuckDB for millions of
pairs' affinities through the views, a join per chunk, while the counts are one sparse
product of the chunk's rows of the matrix the ranker already holds with a track → entity
matrix. A test checks the values against the views.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import scipy.sparse as sp

from models_py.arrays import unique_sorted
from models_py.data import Interactions

#: Largest user x entity count table held dense (float32 cells): genre counts of a 40k-user
#: chunk (~7M cells) are looked up directly; artist counts (~140k artists) by binary search.
DENSE_MAX = 1 << 25


@dataclass(frozen=True)
class EntityAffinity:
    """Which entities (genres or artists) each column of a phase's matrix carries."""

    inter: Interactions
    track_entities: sp.csr_matrix  # n_tracks x n_entities, 1 where the track carries the entity

    @classmethod
    def read(
        cls, con: duckdb.DuckDBPyConnection, inter: Interactions, table: str, entity_col: str
    ) -> EntityAffinity:
        """Track → entity pairs of ``table`` (item_genres / item_artists) in column space."""
        pairs = con.execute(f"SELECT track_id, {entity_col} FROM {table}").fetchnumpy()
        cols = inter.cols_of(np.asarray(pairs["track_id"], dtype=np.int64))
        ent = np.asarray(pairs[entity_col], dtype=np.int64)
        keep = cols >= 0  # tracks outside the phase never reach a candidate or a count
        cols, ent = cols[keep], ent[keep]
        ent_ids = unique_sorted(ent)
        codes = np.searchsorted(ent_ids, ent)
        matrix = sp.csr_matrix(
            (np.ones(len(cols), dtype=np.float32), (cols, codes)),
            shape=(inter.n_tracks, max(len(ent_ids), 1)),
        )
        matrix.data[:] = 1.0  # a duplicated (track, entity) pair counts once, as in SQL's key
        matrix.sort_indices()
        return cls(inter, matrix)

    def pair_shares(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For pairs (user row, track column): sum and max over the track's entities of the
        user's share of tracks carrying the entity (0 when none), and each pair's user's
        largest entity share (NaN for a user with no track carrying any entity).

        Shares are n_tracks(user, entity) / n_tracks(user) in float64, as the views compute them.
        """
        rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
        te = self.track_entities
        n_ent = te.shape[1]
        users = unique_sorted(rows)
        local = np.searchsorted(users, rows)
        heard = self.inter.matrix[users]
        counts = (heard @ te).tocsr()  # user x entity: how many of the user's tracks carry it
        counts.sort_indices()
        n_heard = np.maximum(np.diff(heard.indptr), 1).astype(np.float64)  # rows are never empty
        if len(users) * n_ent <= DENSE_MAX:  # few entities (genres): a dense user x entity table
            dense = counts.toarray()

            def lookup(user: np.ndarray, ent: np.ndarray) -> np.ndarray:
                return dense[user, ent]
        else:  # many (artists): (user, entity) keys among the stored ones, which are sorted
            user_keys = (
                np.repeat(np.arange(len(users), dtype=np.int64), np.diff(counts.indptr)) * n_ent
                + counts.indices
            )

            def lookup(user: np.ndarray, ent: np.ndarray) -> np.ndarray:
                out = np.zeros(len(user), dtype=np.float32)
                if len(user_keys):
                    keys = user * n_ent + ent
                    pos = np.minimum(np.searchsorted(user_keys, keys), len(user_keys) - 1)
                    found = user_keys[pos] == keys
                    out[found] = counts.data[pos[found]]
                return out

        # the j-th entity of every pair's track, j = 0, 1, ...: most tracks have one or two,
        # so the pairs left shrink fast (no per-entity expansion of all pairs)
        share_sum, share_max = np.zeros(len(rows)), np.zeros(len(rows))
        starts, lengths = te.indptr[cols], np.diff(te.indptr)[cols]
        at = np.flatnonzero(lengths > 0)
        j = 0
        while len(at):
            user = local[at]
            share = lookup(user, te.indices[starts[at] + j]) / n_heard[user]  # small integers: exact
            share_sum[at] += share
            share_max[at] = np.maximum(share_max[at], share)
            j += 1
            at = at[lengths[at] > j]
        top = np.full(len(users), np.nan)
        nonempty = np.diff(counts.indptr) > 0
        if nonempty.any():
            top[nonempty] = np.maximum.reduceat(counts.data, counts.indptr[:-1][nonempty]) / n_heard[nonempty]
        return share_sum, share_max, top[local]
