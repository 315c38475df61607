"""Fixtures of the model-step tests.

``handmade_db`` is a small warehouse built by hand with the contract's tables and columns
(docs/ARCHITECTURE.md) from a synthetic log with real structure (users prefer genres and
artists, tracks have popularity and release days), used until/besides the real dbt build.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from music_recs.config import Settings

START = date(2022, 11, 1)
N_DAYS = 61
TEST_DAYS = 14
LABEL_DAYS = 14


def synthetic_log(
    seed: int, n_users: int = 300, n_tracks: int = 400, n_genres: int = 8, n_artists: int = 60
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(tracks, listens): listens are first listens (one row per user and track)."""
    rng = np.random.default_rng(seed)
    track_ids = np.arange(1, n_tracks + 1) * 10
    main_genre = rng.integers(0, n_genres, n_tracks)
    second = np.where(rng.random(n_tracks) < 0.5, rng.integers(0, n_genres, n_tracks), -1)
    artist = rng.integers(0, n_artists, n_tracks)
    base_pop = rng.pareto(1.2, n_tracks) + 0.1
    release = np.where(rng.random(n_tracks) < 0.8, 0, rng.integers(0, N_DAYS, n_tracks))
    tracks = pd.DataFrame(
        {
            "track_id": track_ids,
            "genre_ids": [
                [int(g) + 100] + ([int(s) + 100] if s >= 0 and s != g else [])
                for g, s in zip(main_genre, second)
            ],
            "artist_ids": [[int(a) + 1000] for a in artist],
            "release": release,
        }
    )
    rows = []
    for u in range(n_users):
        liked_genres = rng.choice(n_genres, size=2, replace=False)
        liked_artists = rng.choice(n_artists, size=4, replace=False)
        affinity = (
            base_pop * (1 + 6 * np.isin(main_genre, liked_genres)) * (1 + 4 * np.isin(artist, liked_artists))
        )
        n_listens = int(rng.integers(5, 60))
        start = int(rng.integers(0, N_DAYS - 5))
        heard: set[int] = set()
        for _ in range(n_listens):
            day = int(rng.integers(start, N_DAYS))
            avail = release <= day
            # tracks get hotter right after release
            boost = np.where(avail, 1 + 3 * np.exp(-(day - release) / 7), 0)
            p = affinity * boost
            p[list(heard)] = 0
            if p.sum() == 0:
                break
            t = int(rng.choice(n_tracks, p=p / p.sum()))
            heard.add(t)
            rows.append((u + 1, int(track_ids[t]), START + timedelta(days=day)))
    listens = pd.DataFrame(rows, columns=["user_id", "track_id", "day"])
    return tracks, listens


def feature_sql(phase: str, events: str, ref: str) -> list[str]:
    """INSERTs of one phase's feature rows (simplified versions of the dbt marts)."""
    return [
        f"""INSERT INTO track_features SELECT '{phase}', e.track_id, SUM(listen_count), COUNT(*),
               SUM(exp(-date_diff('day', last_listen, DATE '{ref}') / 14.0)),
               COUNT(*) FILTER (WHERE last_listen > DATE '{ref}' - 7),
               COUNT(*) FILTER (WHERE last_listen <= DATE '{ref}' - 7 AND last_listen > DATE '{ref}' - 14),
               (COUNT(*) FILTER (WHERE last_listen > DATE '{ref}' - 7) + 1.0)
                 / (COUNT(*) FILTER (WHERE last_listen <= DATE '{ref}' - 7 AND last_listen > DATE '{ref}' - 14) + 1.0),
               date_diff('day', MIN(first_listen), DATE '{ref}'), 1
           FROM {events} e GROUP BY e.track_id""",
        f"""INSERT INTO genre_features SELECT '{phase}', genre_id, COUNT(DISTINCT user_id), SUM(listen_count),
               row_number() OVER (ORDER BY COUNT(DISTINCT user_id) DESC, genre_id)
           FROM {events} JOIN item_genres USING (track_id) GROUP BY genre_id""",
        f"""INSERT INTO artist_features SELECT '{phase}', artist_id, COUNT(DISTINCT user_id), SUM(listen_count),
               row_number() OVER (ORDER BY COUNT(DISTINCT user_id) DESC, artist_id)
           FROM {events} JOIN item_artists USING (track_id) GROUP BY artist_id""",
        f"""INSERT INTO user_features SELECT '{phase}', user_id, COUNT(*), COUNT(DISTINCT first_listen),
               MIN(first_listen), MAX(last_listen), date_diff('day', MAX(last_listen), DATE '{ref}')
           FROM {events} GROUP BY user_id""",
    ]


def affinity_sql(entity: str) -> str:
    """user_<entity>_affinity as the warehouse lays it out: one row per serve pair, both phases
    as columns (share_fit NULL where the user has no fit track of the entity)."""
    per_phase = """SELECT user_id, {e}_id, COUNT(*) AS n, COUNT(*) / SUM(COUNT(*)) OVER (PARTITION BY user_id) AS s
                   FROM {events} JOIN item_{e}s USING (track_id) GROUP BY user_id, {e}_id"""
    return f"""CREATE TABLE user_{entity}_affinity AS
        WITH f AS ({per_phase.format(e=entity, events="events_fit")}),
             v AS ({per_phase.format(e=entity, events="events_train")})
        SELECT v.user_id, v.{entity}_id, COALESCE(f.n, 0)::INTEGER AS n_tracks_fit, f.s AS share_fit,
               v.n::INTEGER AS n_tracks_serve, v.s AS share_serve
        FROM v LEFT JOIN f USING (user_id, {entity}_id)"""


def build_handmade_warehouse(path: Path, seed: int = 7, **sizes: int) -> Path:
    tracks, listens = synthetic_log(seed, **sizes)
    max_date = listens["day"].max()
    split = max_date - timedelta(days=TEST_DAYS)
    label_start = split - timedelta(days=LABEL_DAYS)
    con = duckdb.connect(str(path))
    con.register("tracks_df", tracks)
    con.register("listens_df", listens)
    statements = [
        """CREATE TABLE items AS SELECT track_id::BIGINT track_id, 'track ' || track_id AS track_name,
               list_transform(artist_ids, x -> x::BIGINT) AS artist_ids, 'artist' AS artist_names,
               track_id::BIGINT AS album_id, 'album' AS album_name,
               list_transform(genre_ids, x -> x::BIGINT) AS genre_ids, 'genre' AS genre_names,
               track_id::BIGINT AS track_group_id, 'original' AS version_type FROM tracks_df""",
        "CREATE TABLE map_tracks AS SELECT track_id AS raw_id, track_id AS canonical_id FROM items",
        "CREATE TABLE item_genres AS SELECT track_id, unnest(genre_ids) AS genre_id FROM items",
        "CREATE TABLE item_artists AS SELECT track_id, unnest(artist_ids) AS artist_id FROM items",
        """CREATE TABLE events AS SELECT user_id::INTEGER user_id, track_id::BIGINT track_id,
               COUNT(*)::BIGINT listen_count, MIN(day)::DATE first_listen, MAX(day)::DATE last_listen
           FROM listens_df GROUP BY 1, 2""",
        f"""CREATE TABLE split_info AS SELECT DATE '{split}' split_date, DATE '{label_start}' label_start,
               (SELECT MIN(first_listen) FROM events) min_date, (SELECT MAX(last_listen) FROM events) max_date,
               1000 AS track_seq_threshold""",
        f"CREATE TABLE events_train AS SELECT * FROM events WHERE first_listen <= DATE '{split}'",
        f"CREATE TABLE events_test AS SELECT * FROM events WHERE first_listen > DATE '{split}'",
        f"CREATE TABLE events_fit AS SELECT * FROM events_train WHERE first_listen <= DATE '{label_start}'",
        f"CREATE TABLE events_labels AS SELECT * FROM events_train WHERE first_listen > DATE '{label_start}'",
        """CREATE TABLE user_index AS SELECT user_id, (row_number() OVER (ORDER BY user_id) - 1)::INTEGER user_idx
           FROM (SELECT DISTINCT user_id FROM events_train)""",
        """CREATE TABLE track_index AS SELECT track_id, (row_number() OVER (ORDER BY track_id DESC) - 1)::INTEGER track_idx
           FROM (SELECT DISTINCT track_id FROM events_train)""",
        """CREATE TABLE track_features (phase VARCHAR, track_id BIGINT, n_listens BIGINT, n_users BIGINT,
               pop_recency DOUBLE, n_users_last_7d BIGINT, n_users_prev_7d BIGINT, trend DOUBLE,
               days_since_first INTEGER, group_size INTEGER)""",
        "CREATE TABLE genre_features (phase VARCHAR, genre_id BIGINT, n_users BIGINT, n_listens BIGINT, pop_rank BIGINT)",
        "CREATE TABLE artist_features (phase VARCHAR, artist_id BIGINT, n_users BIGINT, n_listens BIGINT, pop_rank BIGINT)",
        """CREATE TABLE user_features (phase VARCHAR, user_id INTEGER, n_tracks BIGINT, n_active_days BIGINT,
               first_listen DATE, last_listen DATE, days_since_last INTEGER)""",
        *feature_sql("fit", "events_fit", str(label_start)),
        *feature_sql("serve", "events_train", str(split)),
        affinity_sql("genre"),
        affinity_sql("artist"),
        "CREATE TABLE catalog AS SELECT track_id, track_name, artist_names AS artist_name, album_name, genre_names AS genre_name, track_group_id FROM items",
    ]
    for sql in statements:
        con.execute(sql)
    con.close()
    return path


def model_settings(root: Path, **overrides: object) -> Settings:
    values: dict[str, object] = dict(
        artifacts_dir=root / "artifacts",
        reports_dir=root / "reports",
        logs_dir=root / "logs",
        export_uri=str(root / "export"),
        raw_uri=str(root / "raw"),
        seed=42,
        als_factors=16,
        als_iterations=8,
        n_candidates=30,
        n_recs=20,
        n_popular=30,
        n_similar=10,
        ranker_iterations=60,
        train_threads=1,
    )
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture(scope="session")
def handmade_db_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hand-made warehouse, built once; tests copy it before writing to it."""
    return build_handmade_warehouse(tmp_path_factory.mktemp("handmade") / "handmade.duckdb")


@pytest.fixture()
def handmade_db(handmade_db_template: Path, tmp_path: Path) -> Path:
    target = tmp_path / "build.duckdb"
    shutil.copy(handmade_db_template, target)
    return target


@pytest.fixture()
def settings_for():
    """``settings_for(root, **overrides)``: small, fast model settings writing under ``root``."""
    return model_settings
