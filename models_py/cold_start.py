"""Recommendations for users without history: popularity, per genre when a taste is known.

Services reuse ``recommend_cold`` with their own (read-only) DuckDB cursor; the evaluation
uses ``blend`` with in-memory lists. A user with preferred genres gets their per-genre top
lists interleaved (round robin in preference order), topped up from the global list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import duckdb

from models_py.columns import Columns as C
from models_py.columns import Tables


def blend(global_tracks: Sequence[int], genre_tracks: Mapping[int, Sequence[int]],
          genre_ids: Sequence[int], k: int, exclude: Iterable[int] = ()) -> list[int]:
    """Up to ``k`` unique tracks: genre lists interleaved, then the global list; ``exclude`` skipped."""
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    seen = set(exclude)
    out: list[int] = []

    def take(track: int) -> None:
        if track not in seen and len(out) < k:
            seen.add(track)
            out.append(track)

    lists = [list(genre_tracks.get(g, ())) for g in dict.fromkeys(genre_ids)]
    for pos in range(max((len(x) for x in lists), default=0)):
        for lst in lists:
            if pos < len(lst):
                take(lst[pos])
        if len(out) >= k:
            return out
    for track in global_tracks:
        take(track)
        if len(out) >= k:
            break
    return out


def recommend_cold(con: duckdb.DuckDBPyConnection, genre_ids: Sequence[int], k: int,
                   exclude: Iterable[int] = ()) -> list[int]:
    """Cold-start list from the warehouse's ``recs_popular`` / ``recs_popular_genre`` tables."""
    global_tracks = [r[0] for r in con.execute(
        f"SELECT {C.Item} FROM {Tables.RecsPopular} ORDER BY {C.Rank}").fetchall()]
    genre_tracks: dict[int, list[int]] = {}
    wanted = [int(g) for g in dict.fromkeys(genre_ids)]
    if wanted:
        rows = con.execute(
            f"SELECT {C.Genre}, {C.Item} FROM {Tables.RecsPopularGenre} "
            f"WHERE {C.Genre} IN (SELECT UNNEST(?::BIGINT[])) ORDER BY {C.Genre}, {C.Rank}",
            [wanted],
        ).fetchall()
        for genre, track in rows:
            genre_tracks.setdefault(int(genre), []).append(int(track))
    return blend(global_tracks, genre_tracks, wanted, k, exclude)
