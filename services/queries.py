"""Per-user lookups on the warehouse (and a rare-path query).

``recs_final`` and ``events`` grow with users (tens to hundreds of millions of rows at full
scale): a service maps the lists the build wrote beside itself, or keeps the tables in memory
when they fit ``serving_memory_rows`` (the warmers of services/lookups.py put them in the
session cache), and otherwise asks DuckDB a point query; the contract has the pipeline write
them ordered by ``user_id`` so such a query prunes row groups instead of scanning
(docs/ARCHITECTURE.md).
"""

from __future__ import annotations

from collections import Counter

import duckdb

from music_recs.tables import Columns as C
from music_recs.tables import Tables
from music_recs.warehouse_reader import Session
from services.lookups import KeyedLists


def personal_recs(wh: Session, user_id: int, k: int) -> list[tuple[int, float]]:
    """The user's re-ranked recommendations (``recs_final``) in rank order."""
    in_memory = wh.cache.get("recs_final")
    if in_memory is not None:
        return in_memory.get(user_id, limit=k)
    # no ORDER BY/LIMIT in SQL: DuckDB's top-N skips the zone-map pruning of the user filter
    # and would scan the table; a user's list is short, so sorting it here costs nothing
    rows = wh.cursor.execute(
        f"SELECT {C.Item}::BIGINT, {C.Score}::DOUBLE, {C.Rank} FROM {Tables.RecsFinal} WHERE {C.User} = ?",
        [user_id],
    ).fetchall()
    rows.sort(key=lambda r: r[2])
    return [(int(t), float(s)) for t, s, _ in rows[:k]]


def heard_tracks(wh: Session, user_id: int) -> set[int]:
    """Canonical tracks the user listened to according to the warehouse ``events``."""
    in_memory = wh.cache.get("heard")
    if in_memory is not None:
        return set(in_memory.values_of(user_id))
    rows = wh.cursor.execute(
        f"SELECT {C.Item}::BIGINT FROM {Tables.Events} WHERE {C.User} = ?", [user_id]
    ).fetchall()
    return {int(r[0]) for r in rows}


def genre_preference(genres: KeyedLists, track_ids: list[int]) -> list[tuple[int, float]]:
    """Genres of the given canonical tracks with their share of the listens, largest first
    (ties by genre id); ``genres`` is ``item_genres`` keyed by track (lookups.load_item_genres).

    In memory rather than a DuckDB join: it runs on every cold request of a user with
    listens, and a query costs more CPU than the whole answer otherwise does.
    """
    counts = Counter(g for t in track_ids for g in genres.values_of(t))
    total = sum(counts.values())
    ranked = sorted(counts.items(), key=lambda gn: (-gn[1], gn[0]))
    return [(int(g), n / total) for g, n in ranked] if total else []


def catalog_fill(cur: duckdb.DuckDBPyConnection, exclude: set[int], n: int) -> list[int]:
    """Up to ``n`` catalog tracks not in ``exclude`` (last resort after the popularity list)."""
    if n <= 0:
        return []
    rows = cur.execute(
        f"SELECT c.{C.Item}::BIGINT FROM {Tables.Catalog} c "
        f"WHERE c.{C.Item} NOT IN (SELECT unnest(?::BIGINT[])) ORDER BY c.{C.Item} LIMIT ?",
        [sorted(exclude), n],
    ).fetchall()
    return [int(r[0]) for r in rows]
