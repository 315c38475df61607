"""A hand-made warehouse with the contract's serving tables, small enough to reason about.

Why: assertions on exact lists (heard tracks removed, genre-aware popularity, interleaving)
are easy to verify by eye on 30 tracks, independent of the trained models.

Layout: tracks 1..30 in three genres (1: 1-10, 2: 11-20, 3: 21-30); raw ids 101 and 102 are
duplicates of 1 and 2. User 1 heard 1,2,3 and has recs_final [4..8]; user 2 heard 11,12
and has recs_final [13,14,15,3]; user 3 heard 21,22 but has no recs_final row.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

N_TRACKS = 30
GENRE_OF = {t: 1 + (t - 1) // 10 for t in range(1, N_TRACKS + 1)}
DUPLICATES = {101: 1, 102: 2}
HEARD = {1: [1, 2, 3], 2: [11, 12], 3: [21, 22]}
RECS_FINAL = {1: [4, 5, 6, 7, 8], 2: [13, 14, 15, 3]}
# global popularity: round-robin over genres, lower ids first: 1, 11, 21, 2, 12, 22, ...
POPULAR = [g * 10 + i + 1 for i in range(10) for g in range(3)]


def similar_of(track: int) -> list[int]:
    """Three neighbours inside the track's genre block (cyclic)."""
    base = (GENRE_OF[track] - 1) * 10
    return [base + (track - base - 1 + d) % 10 + 1 for d in (1, 2, 3)]


def build_handmade(path: Path, build_id: str) -> Path:
    """Write the warehouse file at ``path`` (must not exist) and return it."""
    con = duckdb.connect(str(path))
    try:
        con.execute("CREATE TABLE build_info (key VARCHAR PRIMARY KEY, value VARCHAR)")
        con.execute("INSERT INTO build_info VALUES ('build_id', ?)", [build_id])
        con.execute(
            "CREATE TABLE catalog (track_id BIGINT, track_name VARCHAR, artist_name VARCHAR, "
            "album_name VARCHAR, genre_name VARCHAR, track_group_id BIGINT)"
        )
        con.executemany(
            "INSERT INTO catalog VALUES (?, ?, ?, ?, ?, ?)",
            [
                (t, f"Track {t}", f"Artist {t % 5}", f"Album {t // 3}", f"genre{GENRE_OF[t]}", t)
                for t in range(1, N_TRACKS + 1)
            ],
        )
        con.execute("CREATE TABLE map_tracks (raw_id BIGINT, canonical_id BIGINT)")
        pairs = [(t, t) for t in range(1, N_TRACKS + 1)] + list(DUPLICATES.items())
        con.executemany("INSERT INTO map_tracks VALUES (?, ?)", pairs)
        con.execute("CREATE TABLE item_genres (track_id BIGINT, genre_id BIGINT)")
        con.executemany("INSERT INTO item_genres VALUES (?, ?)", list(GENRE_OF.items()))
        con.execute(
            "CREATE TABLE events (user_id INTEGER, track_id BIGINT, listen_count INTEGER, "
            "first_listen DATE, last_listen DATE)"
        )
        con.executemany(
            "INSERT INTO events VALUES (?, ?, 1, DATE '2022-12-01', DATE '2022-12-01')",
            [(u, t) for u, ts in HEARD.items() for t in ts],
        )
        con.execute("CREATE TABLE events_train AS SELECT * FROM events")
        con.execute("CREATE TABLE recs_final (user_id INTEGER, track_id BIGINT, score DOUBLE, rank INTEGER)")
        con.executemany(
            "INSERT INTO recs_final VALUES (?, ?, ?, ?)",
            [(u, t, 1.0 - 0.1 * r, r + 1) for u, ts in RECS_FINAL.items() for r, t in enumerate(ts)],
        )
        con.execute("CREATE TABLE recs_popular (rank INTEGER, track_id BIGINT, score DOUBLE)")
        con.executemany(
            "INSERT INTO recs_popular VALUES (?, ?, ?)",
            [(r + 1, t, float(N_TRACKS - r)) for r, t in enumerate(POPULAR)],
        )
        con.execute(
            "CREATE TABLE recs_popular_genre (genre_id BIGINT, rank INTEGER, track_id BIGINT, score DOUBLE)"
        )
        con.executemany(
            "INSERT INTO recs_popular_genre VALUES (?, ?, ?, ?)",
            [
                (GENRE_OF[t], r + 1, t, float(10 - r))
                for g in (1, 2, 3)
                for r, t in enumerate([x for x in POPULAR if GENRE_OF[x] == g])
            ],
        )
        con.execute(
            "CREATE TABLE similar_tracks (track_id BIGINT, similar_track_id BIGINT, score DOUBLE, "
            "rank INTEGER)"
        )
        con.executemany(
            "INSERT INTO similar_tracks VALUES (?, ?, ?, ?)",
            [
                (t, s, 0.9 - 0.1 * r, r + 1)
                for t in range(1, N_TRACKS + 1)
                for r, s in enumerate(similar_of(t))
            ],
        )
    finally:
        con.close()
    return path
