"""Ranker features for candidate pairs, from the warehouse's per-phase feature tables.

The same SQL runs for ``fit`` and ``serve``. Counts whose size depends on how long a phase
is (n_users, pop_recency, user n_tracks) are turned into shares of the phase's total or
percentile ranks within the phase, so a model learned on fit features reads serve features
on the same scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from models_py.affinity import EntityAffinity
from models_py.data import Interactions, phase_events, positions_of
from music_recs.tables import Columns as C
from music_recs.tables import Tables

#: Columns of the per-track temp table, in its SELECT order (``prepare_phase``).
TRACK_FEATURES: tuple[str, ...] = (
    "track_user_share",
    "track_pop_pct",
    "track_recency_share",
    "track_last7_share",
    "track_prev7_share",
    "track_trend",
    "track_age_days",
    "track_group_size",
    "track_is_original",
    "genre_user_share",
    "genre_best_rank",
    "artist_user_share",
    "artist_best_rank",
    "track_artist_share",
    "track_genre_share",
)

#: Model inputs, in the order the CatBoost model sees them.
FEATURES: tuple[str, ...] = (
    "als_score",
    "als_rank",
    "als_score_gap",
    "pop_rank",
    "recent_sim",
    "recent_max_sim",
    "recent_rank",
    "from_als",
    "from_pop",
    "from_recent",
    "cluster_rank",
    "from_cluster",
    *TRACK_FEATURES,
    "fav_score",
    "taste_score",
    "user_tracks_pct",
    "user_days_pct",
    "user_days_since_last",
    "user_tracks_per_day",
    "user_mean_pop_pct",
    "user_top_artist_share",
    "pop_pct_vs_user",
    "user_genre_share_sum",
    "user_genre_share_max",
    "user_artist_share_sum",
    "user_artist_share_max",
    "cluster_user_share",
    "cluster_recent_share",
    "cluster_track_share",
    "cluster_score",
    "cluster_score_all",
)

REQUIRED_TABLES = (
    Tables.TrackFeatures,
    Tables.GenreFeatures,
    Tables.ArtistFeatures,
    Tables.UserFeatures,
    Tables.ItemGenres,
    Tables.ItemArtists,
    Tables.Items,
)


def _create_phase_tables(con: duckdb.DuckDBPyConnection, phase: str) -> None:
    """Per-track and per-user features of a phase into temp tables."""
    phase_events(phase)  # validates the phase name used in the temp table names
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _track_feats_{phase} AS
        WITH pu AS (SELECT COUNT(*)::DOUBLE AS n FROM {Tables.UserFeatures} WHERE phase = $phase),
        tg AS (SELECT g.{C.Item}, MAX(gf.n_users / pu.n) AS genre_user_share,
                      MIN(gf.pop_rank)::DOUBLE AS genre_best_rank
               FROM {Tables.ItemGenres} g
               JOIN {Tables.GenreFeatures} gf ON gf.{C.Genre} = g.{C.Genre} AND gf.phase = $phase, pu
               GROUP BY g.{C.Item}),
        ta AS (SELECT a.{C.Item}, MAX(af.n_users / pu.n) AS artist_user_share,
                      MIN(af.pop_rank)::DOUBLE AS artist_best_rank
               FROM {Tables.ItemArtists} a
               JOIN {Tables.ArtistFeatures} af ON af.{C.Artist} = a.{C.Artist} AND af.phase = $phase, pu
               GROUP BY a.{C.Item}),
        tf AS (SELECT {C.Item}, pop_recency FROM {Tables.TrackFeatures} WHERE phase = $phase),
        -- the track's share of its artist's / genre's recency-weighted listeners: how a fan
        -- of the artist (or the genre) splits their listens among its tracks
        art AS (SELECT a.{C.Artist}, SUM(tf.pop_recency) AS total
                FROM {Tables.ItemArtists} a JOIN tf ON tf.{C.Item} = a.{C.Item} GROUP BY a.{C.Artist}),
        gen AS (SELECT g.{C.Genre}, SUM(tf.pop_recency) AS total
                FROM {Tables.ItemGenres} g JOIN tf ON tf.{C.Item} = g.{C.Item} GROUP BY g.{C.Genre}),
        tas AS (SELECT a.{C.Item}, MAX(tf.pop_recency / NULLIF(art.total, 0)) AS track_artist_share
                FROM {Tables.ItemArtists} a JOIN tf ON tf.{C.Item} = a.{C.Item}
                JOIN art ON art.{C.Artist} = a.{C.Artist} GROUP BY a.{C.Item}),
        tgs AS (SELECT g.{C.Item}, MAX(tf.pop_recency / NULLIF(gen.total, 0)) AS track_genre_share
                FROM {Tables.ItemGenres} g JOIN tf ON tf.{C.Item} = g.{C.Item}
                JOIN gen ON gen.{C.Genre} = g.{C.Genre} GROUP BY g.{C.Item})
        SELECT t.{C.Item},
               t.n_users / pu.n AS track_user_share,
               percent_rank() OVER (ORDER BY t.n_users) AS track_pop_pct,
               t.pop_recency / NULLIF(SUM(t.pop_recency) OVER (), 0) AS track_recency_share,
               t.n_users_last_7d / NULLIF(SUM(t.n_users_last_7d) OVER (), 0) AS track_last7_share,
               t.n_users_prev_7d / NULLIF(SUM(t.n_users_prev_7d) OVER (), 0) AS track_prev7_share,
               t.trend::DOUBLE AS track_trend,
               t.days_since_first::DOUBLE AS track_age_days,
               t.group_size::DOUBLE AS track_group_size,
               (i.version_type = 'original')::DOUBLE AS track_is_original,
               tg.genre_user_share, tg.genre_best_rank, ta.artist_user_share, ta.artist_best_rank,
               tas.track_artist_share, tgs.track_genre_share
        FROM {Tables.TrackFeatures} t CROSS JOIN pu
        LEFT JOIN {Tables.Items} i ON i.{C.Item} = t.{C.Item}
        LEFT JOIN tg ON tg.{C.Item} = t.{C.Item}
        LEFT JOIN ta ON ta.{C.Item} = t.{C.Item}
        LEFT JOIN tas ON tas.{C.Item} = t.{C.Item}
        LEFT JOIN tgs ON tgs.{C.Item} = t.{C.Item}
        WHERE t.phase = $phase""",
        {"phase": phase},
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _user_feats_{phase} AS
        WITH taste AS (
            SELECT e.{C.User}, AVG(t.track_pop_pct) AS user_mean_pop_pct
            FROM {phase_events(phase)} e JOIN _track_feats_{phase} t ON t.{C.Item} = e.{C.Item}
            GROUP BY e.{C.User})
        SELECT u.{C.User},
               percent_rank() OVER (ORDER BY u.n_tracks) AS user_tracks_pct,
               percent_rank() OVER (ORDER BY u.n_active_days) AS user_days_pct,
               u.days_since_last::DOUBLE AS user_days_since_last,
               u.n_tracks / GREATEST(u.n_active_days, 1)::DOUBLE AS user_tracks_per_day,
               taste.user_mean_pop_pct
        FROM {Tables.UserFeatures} u
        LEFT JOIN taste ON taste.{C.User} = u.{C.User}
        WHERE u.phase = $phase""",
        {"phase": phase},
    )


#: Columns of the per-user temp table, in its SELECT order.
USER_FEATURES: tuple[str, ...] = (
    "user_tracks_pct",
    "user_days_pct",
    "user_days_since_last",
    "user_tracks_per_day",
    "user_mean_pop_pct",
)


@dataclass(frozen=True)
class PhaseFeatures:
    """A phase's per-track and per-user features as arrays, read once per phase.

    Why arrays: a serve chunk has millions of candidate rows; looking their track and user
    features up by position is a gather, while joining them in DuckDB and carrying ~40 double
    columns back through arrow costs a join and a copy per chunk. Each
    matrix ends with one all-NaN row, which ids without features (position -1) pick.
    """

    phase: str
    track_ids: np.ndarray
    tracks: np.ndarray  # (n_tracks + 1, len(TRACK_FEATURES)) float64, column-major
    user_ids: np.ndarray
    users: np.ndarray  # (n_users + 1, len(USER_FEATURES)) float64, column-major
    genres: EntityAffinity  # user-genre affinities, from the phase's interactions
    artists: EntityAffinity

    @staticmethod
    def _read(
        con: duckdb.DuckDBPyConnection, table: str, key: str, names: tuple[str, ...]
    ) -> tuple[np.ndarray, np.ndarray]:
        tab = con.execute(f"SELECT {key}, {', '.join(names)} FROM {table}").to_arrow_table()
        got = tab.column_names[1:]
        if tuple(got) != names:
            raise RuntimeError(f"{table} holds {got}, expected {list(names)}")
        ids = tab[key].to_numpy().astype(np.int64)
        values = np.full((len(ids) + 1, len(names)), np.nan, order="F")
        for j, name in enumerate(names):
            values[:-1, j] = tab[name].to_numpy(zero_copy_only=False)
        return ids, values

    @classmethod
    def read(cls, con: duckdb.DuckDBPyConnection, inter: Interactions) -> PhaseFeatures:
        phase = inter.phase
        track_ids, tracks = cls._read(con, f"_track_feats_{phase}", C.Item, TRACK_FEATURES)
        user_ids, users = cls._read(con, f"_user_feats_{phase}", C.User, USER_FEATURES)
        return cls(
            phase,
            track_ids,
            tracks,
            user_ids,
            users,
            EntityAffinity.read(con, inter, Tables.ItemGenres, C.Genre),
            EntityAffinity.read(con, inter, Tables.ItemArtists, C.Artist),
        )


def prepare_phase(con: duckdb.DuckDBPyConnection, inter: Interactions) -> PhaseFeatures:
    """Per-track and per-user features of ``inter``'s phase (once per phase; see ``PhaseFeatures``)."""
    _create_phase_tables(con, inter.phase)
    return PhaseFeatures.read(con, inter)


def candidate_features(feats: PhaseFeatures, cand: pa.Table) -> pd.DataFrame:
    """user_id, track_id and ``FEATURES`` (float32) for every candidate pair, sorted by user, track.

    ``feats`` from ``prepare_phase``. Missing affinities are 0 (the user's top artist share
    stays NaN for a user without artists); other missing values stay NaN.
    Values are computed in float64 and cast once, as the all-SQL version did (a test checks
    the two give the same frame).
    """
    users = cand[C.User].to_numpy().astype(np.int64)
    tracks = cand[C.Item].to_numpy().astype(np.int64)
    # -1 (no features) picks the NaN row; one column at a time (contiguous gathers)
    t_pos, u_pos = positions_of(feats.track_ids, tracks), positions_of(feats.user_ids, users)
    t = {f: feats.tracks[:, j][t_pos] for j, f in enumerate(TRACK_FEATURES)}
    u = {f: feats.users[:, j][u_pos] for j, f in enumerate(USER_FEATURES)}
    inter = feats.genres.inter
    rows, cols = inter.rows_of(users), inter.cols_of(tracks)
    if len(rows) and (rows.min() < 0 or cols.min() < 0):
        raise ValueError(f"candidates name users or tracks outside the {feats.phase} interactions")
    ug_s, ug_m, _ = feats.genres.pair_shares(rows, cols)
    ua_s, ua_m, top_artist = feats.artists.pair_shares(rows, cols)
    pop_rank = cand["pop_rank"].to_numpy().astype(np.float64)
    values: dict[str, np.ndarray] = {
        **{
            f: cand[f].to_numpy(zero_copy_only=False)
            for f in (
                "als_score",
                "als_rank",
                "als_score_gap",
                "recent_sim",
                "recent_max_sim",
                "recent_rank",
                "from_als",
                "from_pop",
                "from_recent",
                "cluster_rank",
                "from_cluster",
                "cluster_user_share",
                "cluster_recent_share",
                "cluster_track_share",
                "cluster_score",
                "cluster_score_all",
            )
        },
        "pop_rank": np.where(np.isinf(pop_rank), np.nan, pop_rank),
        **t,
        **u,
        "user_top_artist_share": top_artist,
        "user_genre_share_sum": ug_s,
        "user_genre_share_max": ug_m,
        "user_artist_share_sum": ua_s,
        "user_artist_share_max": ua_m,
        "pop_pct_vs_user": t["track_pop_pct"] - u["user_mean_pop_pct"],
        "fav_score": ua_m * t["track_artist_share"],
        "taste_score": ug_m * t["track_genre_share"],
    }
    missing = [f for f in FEATURES if f not in values]
    if missing:
        raise RuntimeError(f"no values for features {missing}")
    # candidates() yields pairs sorted by user row and track column, i.e. by user and track id
    # when the indices follow the ids; sort only when they do not
    key_sorted = len(users) < 2 or bool(
        np.all((np.diff(users) > 0) | ((np.diff(users) == 0) & (np.diff(tracks) > 0)))
    )
    order = slice(None) if key_sorted else np.lexsort((tracks, users))
    matrix = np.empty((len(users), len(FEATURES)), dtype=np.float32, order="F")  # pandas' layout
    for j, f in enumerate(FEATURES):
        matrix[:, j] = np.asarray(values[f], dtype=np.float64)[order]
    frame = pd.DataFrame(matrix, columns=list(FEATURES), copy=False)
    frame.insert(0, C.Item, tracks[order])
    frame.insert(0, C.User, cand[C.User].to_numpy()[order])
    return frame
