"""Step ``serving``: the large lists the services look up, as memory-mapped files.

``recs_final`` (user → recommended tracks in rank order, with scores), ``similar_tracks``
(track → similar tracks in rank order) and the heard tracks of ``events`` (user → tracks)
are written beside the build file (music_recs/serving_arrays.py says why and how); a
service that finds them maps them instead of loading the tables or querying DuckDB.
"""

from __future__ import annotations

import logging
from pathlib import Path

from models_py.db import connect, require_tables, timed
from music_recs import serving_arrays
from music_recs.config import Settings
from music_recs.logs import setup_logging
from music_recs.tables import Columns as C
from music_recs.tables import Tables

log = logging.getLogger("models_py.serving")

#: list name -> (stored-order query, ordered query, with scores)
LISTS: dict[str, tuple[str, str, bool]] = {
    "recs_final": (
        f"SELECT {C.User} AS key, {C.Item} AS value, {C.Score}::DOUBLE AS score, {C.Rank} AS rank "
        f"FROM {Tables.RecsFinal}",
        f"SELECT {C.User} AS key, {C.Item} AS value, {C.Score}::DOUBLE AS score, {C.Rank} AS rank "
        f"FROM {Tables.RecsFinal} ORDER BY {C.User}, {C.Rank}",
        True,
    ),
    "similar": (
        f"SELECT {C.Item} AS key, {C.SimilarItem} AS value, {C.Score}::DOUBLE AS score, {C.Rank} AS rank "
        f"FROM {Tables.SimilarTracks}",
        f"SELECT {C.Item} AS key, {C.SimilarItem} AS value, {C.Score}::DOUBLE AS score, {C.Rank} AS rank "
        f"FROM {Tables.SimilarTracks} ORDER BY {C.Item}, {C.Rank}",
        True,
    ),
    "heard": (
        f"SELECT {C.User} AS key, {C.Item} AS value FROM {Tables.Events}",
        f"SELECT {C.User} AS key, {C.Item} AS value FROM {Tables.Events} ORDER BY {C.User}",
        False,
    ),
}


def run(db_path: Path, settings: Settings) -> None:
    setup_logging("models_py.serving", logs_dir=settings.logs_dir)
    root = serving_arrays.serving_dir(db_path)
    with (
        timed(log, "serving lists"),
        connect(db_path, read_only=True, memory_limit=settings.models.memory_limit) as con,
    ):
        require_tables(con, Tables.RecsFinal, Tables.SimilarTracks, Tables.Events, step="serving")
        for name, (sql, ordered, with_scores) in LISTS.items():
            n = serving_arrays.write(con, sql, root / name, with_scores=with_scores, order_sql=ordered)
            log.info("serving list %s: %d rows in %s", name, n, root / name)
