"""In-memory, per-build lookup structures loaded once when a build is opened.

Why: a request must be an indexed lookup, never a scan. DuckDB cannot add an index to a
read-only file, an unordered table costs a full scan per point query, and even a pruned
point query costs far more CPU than a binary search in memory (BENCHMARKS.md, "Lookups: in
memory against DuckDB point queries"). Serving
tables (similarity and popularity lists, the raw→canonical track map, catalog names) are
therefore loaded into sorted numpy arrays (CSR layout: keys, offsets, values) and looked up
with a binary search: microseconds per request, about 16-24 bytes per row. The per-user
tables (``recs_final``, heard tracks) are memory-mapped from the files the build writes
beside itself (music_recs/serving_arrays.py); a build without them (or an older one) has
them loaded when they fit ``serving_memory_rows``, else queried in DuckDB.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from music_recs import serving_arrays
from music_recs.tables import Columns as C
from music_recs.tables import Tables


@dataclass(frozen=True)
class KeyedLists:
    """Ranked lists keyed by an id: ``get(key)`` → [(value, score)] in rank order."""

    keys: np.ndarray  # sorted unique keys, int64
    offsets: np.ndarray  # len(keys) + 1, int64
    values: np.ndarray  # int32/int64 (memory-mapped for the per-user lists of a build)
    scores: np.ndarray | None  # float64, or None when the lists carry no score

    @classmethod
    def from_query(
        cls, con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None
    ) -> KeyedLists:
        """Build from a query returning ``key, value[, score]`` ordered by key, then rank."""
        cols = con.execute(sql, params or []).fetchnumpy()
        names = list(cols)
        if len(names) not in (2, 3):
            raise ValueError(f"expected columns (key, value[, score]), got {names}")
        key = np.asarray(cols[names[0]], dtype=np.int64)
        value = np.asarray(cols[names[1]], dtype=np.int64)
        score = np.asarray(cols[names[2]], dtype=np.float64) if len(names) == 3 else None
        if key.size and np.any(np.diff(key) < 0):
            raise ValueError("rows must be ordered by key")
        keys, starts = np.unique(key, return_index=True)
        offsets = np.append(starts, key.size).astype(np.int64)
        return cls(keys=keys, offsets=offsets, values=value, scores=score)

    def __len__(self) -> int:
        return int(self.keys.size)

    def __contains__(self, key: int) -> bool:
        return self._span(key) is not None

    def _span(self, key: int) -> tuple[int, int] | None:
        i = int(np.searchsorted(self.keys, key))
        if i >= self.keys.size or int(self.keys[i]) != key:
            return None
        return int(self.offsets[i]), int(self.offsets[i + 1])

    def get(self, key: int, limit: int | None = None) -> list[tuple[int, float]]:
        span = self._span(key)
        if span is None:
            return []
        start, end = span
        if limit is not None:
            end = min(end, start + limit)
        values = self.values[start:end].tolist()
        if self.scores is None:
            return [(v, 0.0) for v in values]
        return list(zip(values, self.scores[start:end].tolist()))

    def values_of(self, key: int) -> list[int]:
        """Just the values of ``key``'s list (empty if the key is unknown)."""
        span = self._span(key)
        return [] if span is None else self.values[span[0] : span[1]].tolist()


def load_if_small(
    table: str, sql: str, max_rows: int
) -> Callable[[duckdb.DuckDBPyConnection], KeyedLists | None]:
    """Warmer: ``table`` as KeyedLists when it has at most ``max_rows`` rows, else None.

    None tells the query helpers to use DuckDB point queries (the table is then expected to
    be ordered by its key, see docs/ARCHITECTURE.md), so memory stays bounded at full scale.
    """

    def warm(con: duckdb.DuckDBPyConnection) -> KeyedLists | None:
        n = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
        return KeyedLists.from_query(con, sql) if n <= max_rows else None

    return warm


def mapped_or(
    name: str, fallback: Callable[[duckdb.DuckDBPyConnection], KeyedLists | None]
) -> Callable[[duckdb.DuckDBPyConnection], KeyedLists | None]:
    """Warmer: the build's memory-mapped serving list ``name`` (written by the build's
    ``serving`` step, music_recs/serving_arrays.py) if present, else ``fallback``.

    Mapped lists cost no load time and no private memory (pages are shared by every service
    through the page cache), so they are used whatever their size.
    """

    def warm(con: duckdb.DuckDBPyConnection) -> KeyedLists | None:
        build = serving_arrays.database_path(con)
        arrays = serving_arrays.open_lists(serving_arrays.serving_dir(build) / name) if build else None
        if arrays is None:
            return fallback(con)
        return KeyedLists(
            keys=arrays.keys, offsets=arrays.offsets, values=arrays.values, scores=arrays.scores
        )

    return warm


def load_recs_final(max_rows: int) -> Callable[[duckdb.DuckDBPyConnection], KeyedLists | None]:
    """``recs_final`` keyed by user (in rank order): mapped, else in memory if small enough."""
    return mapped_or(
        "recs_final",
        load_if_small(
            Tables.RecsFinal,
            f"SELECT {C.User}::BIGINT, {C.Item}::BIGINT, {C.Score}::DOUBLE FROM {Tables.RecsFinal} "
            f"ORDER BY {C.User}, {C.Rank}",
            max_rows,
        ),
    )


def load_heard(max_rows: int) -> Callable[[duckdb.DuckDBPyConnection], KeyedLists | None]:
    """Warehouse ``events`` as user → heard tracks: mapped, else in memory if small enough."""
    return mapped_or(
        "heard",
        load_if_small(
            Tables.Events,
            f"SELECT {C.User}::BIGINT, {C.Item}::BIGINT FROM {Tables.Events} ORDER BY {C.User}",
            max_rows,
        ),
    )


@dataclass(frozen=True)
class TrackMap:
    """Raw track id → canonical id (``map_tracks``); canonical ids map to themselves."""

    raw_ids: np.ndarray  # sorted, int64
    canonical_ids: np.ndarray  # aligned with raw_ids

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection) -> TrackMap:
        cols = con.execute(
            f"SELECT {C.RawId}::BIGINT AS r, {C.CanonicalId}::BIGINT AS c FROM {Tables.MapTracks} ORDER BY r"
        ).fetchnumpy()
        return cls(np.asarray(cols["r"], dtype=np.int64), np.asarray(cols["c"], dtype=np.int64))

    def canonical(self, track_id: int) -> int | None:
        """Canonical id of a raw or canonical id, None if the warehouse does not know it."""
        i = int(np.searchsorted(self.raw_ids, track_id))
        if i < self.raw_ids.size and int(self.raw_ids[i]) == track_id:
            return int(self.canonical_ids[i])
        return None

    def canonical_many(self, track_ids: list[int]) -> list[int]:
        """Canonical ids of the known ones, order kept, unknown ids dropped."""
        if not track_ids or self.raw_ids.size == 0:
            return []
        arr = np.asarray(track_ids, dtype=np.int64)
        idx = np.minimum(np.searchsorted(self.raw_ids, arr), self.raw_ids.size - 1)
        found = self.raw_ids[idx] == arr
        return self.canonical_ids[idx[found]].tolist()


@dataclass(frozen=True)
class CatalogIndex:
    """Track names from ``catalog``: sorted ids plus the rows as Arrow columns (compact)."""

    track_ids: np.ndarray  # sorted, int64
    rows: pa.Table  # track_name, artist_name, album_name, genre_name aligned with track_ids

    COLUMNS = (C.TrackName, C.ArtistName, C.AlbumName, C.GenreName)

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection) -> CatalogIndex:
        table = con.execute(
            f"SELECT {C.Item}::BIGINT AS {C.Item}, {', '.join(cls.COLUMNS)} FROM {Tables.Catalog} "
            f"ORDER BY {C.Item}"
        ).to_arrow_table()
        ids = table.column(C.Item).to_numpy()
        return cls(np.asarray(ids, dtype=np.int64), table.select(list(cls.COLUMNS)))

    def __len__(self) -> int:
        return int(self.track_ids.size)

    def lookup(self, track_ids: list[int]) -> dict[int, dict[str, str | None]]:
        """Names of the known tracks among ``track_ids`` (unknown ids are left out)."""
        if not track_ids or self.track_ids.size == 0:
            return {}
        arr = np.asarray(track_ids, dtype=np.int64)
        idx = np.minimum(np.searchsorted(self.track_ids, arr), self.track_ids.size - 1)
        found = self.track_ids[idx] == arr
        rows = self.rows.take(pa.array(idx[found])).to_pylist()
        return dict(zip(arr[found].tolist(), rows))


def load_popular(con: duckdb.DuckDBPyConnection) -> list[tuple[int, float]]:
    """Global popularity list ``recs_popular`` in rank order."""
    rows = con.execute(
        f"SELECT {C.Item}::BIGINT, {C.Score}::DOUBLE FROM {Tables.RecsPopular} ORDER BY {C.Rank}"
    ).fetchall()
    return [(int(t), float(s)) for t, s in rows]


def load_popular_genre(con: duckdb.DuckDBPyConnection) -> KeyedLists:
    """Per-genre popularity lists ``recs_popular_genre`` keyed by genre id."""
    return KeyedLists.from_query(
        con,
        f"SELECT {C.Genre}::BIGINT, {C.Item}::BIGINT, {C.Score}::DOUBLE FROM {Tables.RecsPopularGenre} "
        f"ORDER BY {C.Genre}, {C.Rank}",
    )


def load_item_genres(con: duckdb.DuckDBPyConnection) -> KeyedLists:
    """``item_genres`` keyed by canonical track id (a track's genres)."""
    return KeyedLists.from_query(
        con,
        f"SELECT {C.Item}::BIGINT, {C.Genre}::BIGINT FROM {Tables.ItemGenres} ORDER BY {C.Item}, {C.Genre}",
    )


def load_similar(con: duckdb.DuckDBPyConnection) -> KeyedLists:
    """Similarity lists ``similar_tracks`` keyed by track id: mapped, else loaded."""
    return mapped_or("similar", _query_similar)(con)


def _query_similar(con: duckdb.DuckDBPyConnection) -> KeyedLists:
    return KeyedLists.from_query(
        con,
        f"SELECT {C.Item}::BIGINT, {C.SimilarItem}::BIGINT, {C.Score}::DOUBLE FROM {Tables.SimilarTracks} "
        f"ORDER BY {C.Item}, {C.Rank}",
    )
