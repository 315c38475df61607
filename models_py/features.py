"""Ranker features for candidate pairs, from the warehouse's per-phase feature tables.

The same SQL runs for ``fit`` and ``serve``. Counts whose size depends on how long a phase
is (n_users, pop_recency, user n_tracks) are turned into shares of the phase's total or
percentile ranks within the phase, so a model learned on fit features reads serve features
on the same scale.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from models_py.columns import Columns as C
from models_py.columns import Tables
from models_py.data import phase_events

#: Model inputs, in the order the CatBoost model sees them.
FEATURES: tuple[str, ...] = (
    "als_score", "als_rank", "als_score_gap", "pop_rank", "recent_sim", "recent_max_sim", "recent_rank",
    "from_als", "from_pop", "from_recent",
    "track_user_share", "track_pop_pct", "track_recency_share", "track_last7_share",
    "track_prev7_share", "track_trend", "track_age_days", "track_group_size", "track_is_original",
    "genre_user_share", "genre_best_rank", "artist_user_share", "artist_best_rank",
    "track_artist_share", "track_genre_share", "fav_score", "taste_score",
    "user_tracks_pct", "user_days_pct", "user_days_since_last", "user_tracks_per_day",
    "user_mean_pop_pct", "user_top_artist_share", "pop_pct_vs_user",
    "user_genre_share_sum", "user_genre_share_max", "user_artist_share_sum", "user_artist_share_max",
)

REQUIRED_TABLES = (
    Tables.TrackFeatures, Tables.GenreFeatures, Tables.ArtistFeatures, Tables.UserFeatures,
    Tables.UserGenreAffinity, Tables.UserArtistAffinity, Tables.ItemGenres, Tables.ItemArtists,
    Tables.Items,
)


def prepare_phase(con: duckdb.DuckDBPyConnection, phase: str) -> None:
    """Per-track and per-user features of a phase into temp tables (once per phase)."""
    phase_events(phase)  # validates the phase name used in the temp table names
    con.execute(f"""
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
        WHERE t.phase = $phase""", {"phase": phase})
    con.execute(f"""
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
        WHERE u.phase = $phase""", {"phase": phase})


def candidate_features(con: duckdb.DuckDBPyConnection, phase: str, cand: pa.Table) -> pd.DataFrame:
    """user_id, track_id and ``FEATURES`` for every candidate pair (sorted by user, track).

    Call ``prepare_phase`` first. Missing affinities are 0; other missing values stay NaN.

    The affinity views are read for the candidates' user id range only: the range reaches the
    scan of the user-ordered pairs under the views, so each chunk of users computes its own
    users' affinities (a serve chunk is a contiguous range of users).
    """
    phase_events(phase)  # validates the phase: it names the affinity columns below
    share, n_tracks = f"share_{phase}", f"n_tracks_{phase}"
    users = cand[C.User]
    lo, hi = (int(pc.min(users).as_py()), int(pc.max(users).as_py())) if len(cand) else (0, -1)
    con.register("_cand", cand)
    try:
        tab = con.execute(f"""
            WITH aff_genre AS MATERIALIZED (
                SELECT {C.User}, {C.Genre}, {share} AS share FROM {Tables.UserGenreAffinity}
                WHERE {C.User} BETWEEN $lo AND $hi AND {n_tracks} > 0),
            aff_artist AS MATERIALIZED (
                SELECT {C.User}, {C.Artist}, {share} AS share FROM {Tables.UserArtistAffinity}
                WHERE {C.User} BETWEEN $lo AND $hi AND {n_tracks} > 0),
            ug AS (
                SELECT c.{C.User}, c.{C.Item}, SUM(a.share) AS s, MAX(a.share) AS m
                FROM _cand c JOIN {Tables.ItemGenres} g ON g.{C.Item} = c.{C.Item}
                JOIN aff_genre a ON a.{C.User} = c.{C.User} AND a.{C.Genre} = g.{C.Genre}
                GROUP BY ALL),
            ua AS (
                SELECT c.{C.User}, c.{C.Item}, SUM(a.share) AS s, MAX(a.share) AS m
                FROM _cand c JOIN {Tables.ItemArtists} r ON r.{C.Item} = c.{C.Item}
                JOIN aff_artist a ON a.{C.User} = c.{C.User} AND a.{C.Artist} = r.{C.Artist}
                GROUP BY ALL),
            fav AS (
                SELECT {C.User}, MAX(share) AS user_top_artist_share FROM aff_artist GROUP BY {C.User})
            SELECT c.{C.User}, c.{C.Item},
                   c.als_score, c.als_rank::DOUBLE AS als_rank,
                   c.als_score_gap,
                   CASE WHEN isinf(c.pop_rank) THEN NULL ELSE c.pop_rank END AS pop_rank,
                   c.recent_sim, c.recent_max_sim, c.recent_rank::DOUBLE AS recent_rank,
                   c.from_als::DOUBLE AS from_als, c.from_pop::DOUBLE AS from_pop,
                   c.from_recent::DOUBLE AS from_recent,
                   t.* EXCLUDE ({C.Item}), u.* EXCLUDE ({C.User}), fav.user_top_artist_share,
                   COALESCE(ug.s, 0) AS user_genre_share_sum, COALESCE(ug.m, 0) AS user_genre_share_max,
                   COALESCE(ua.s, 0) AS user_artist_share_sum, COALESCE(ua.m, 0) AS user_artist_share_max,
                   t.track_pop_pct - u.user_mean_pop_pct AS pop_pct_vs_user,
                   COALESCE(ua.m, 0) * t.track_artist_share AS fav_score,
                   COALESCE(ug.m, 0) * t.track_genre_share AS taste_score
            FROM _cand c
            LEFT JOIN _track_feats_{phase} t ON t.{C.Item} = c.{C.Item}
            LEFT JOIN _user_feats_{phase} u ON u.{C.User} = c.{C.User}
            LEFT JOIN ug ON ug.{C.User} = c.{C.User} AND ug.{C.Item} = c.{C.Item}
            LEFT JOIN ua ON ua.{C.User} = c.{C.User} AND ua.{C.Item} = c.{C.Item}
            LEFT JOIN fav ON fav.{C.User} = c.{C.User}""", {"lo": lo, "hi": hi}).to_arrow_table()
    finally:
        con.unregister("_cand")
    missing = [f for f in FEATURES if f not in tab.column_names]
    if missing:
        raise RuntimeError(f"feature query lacks columns: {missing}")
    # sorted here (one lexsort) rather than by an ORDER BY over every feature column, and
    # cast to float32 from the arrow columns without a float64 pandas frame in between
    order = np.lexsort((tab[C.Item].to_numpy(), tab[C.User].to_numpy()))
    cols = {C.User: tab[C.User].to_numpy()[order], C.Item: tab[C.Item].to_numpy()[order]}
    for f in FEATURES:
        cols[f] = tab[f].to_numpy(zero_copy_only=False).astype(np.float32)[order]
    return pd.DataFrame(cols)
