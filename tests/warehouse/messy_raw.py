"""A small raw set shaped like a converted public log (MovieLens): messy rows, coarse dates.

What it holds (the tests assert each point):
- movies as tracks: no track has an artist; album = release year; genres. Two different
  movies 'Hamlet (1990)' (2001 and 2003, same year) and 'Hamlet (1996)' (2002), and
  'Hamlet (Live)' (2004) all standardize to 'hamlet' with an empty artist set: none may be
  merged or grouped with another (tracks without artists never are);
- every listen is dated on the 1st of a month (a coarse log), January to June 2000; with
  split_quantile 0.8 the split and label windows land on month dates and none is empty;
  with the day rules (test_days/label_days 14) the build stops naming label_days;
- contract breaks, each counted exactly in the data_quality mart (EXPECTED_DQ): catalog rows
  with a null, a blank name, a null id, an unknown type, a repeated (type, id), a name of a
  track absent from tracks.parquet; tracks.parquet rows with a null id, a repeated id, a null
  id inside a list, an unnamed listed genre; listens with a null user, track or date, of an
  unknown track id, and one without a track_seq (kept, never cut);
- user 1 is heavy: its deepest train listens are cut, and its deep listens after the split
  all stay in the test truth.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

SPLIT_QUANTILE = 0.8
GENRES = {21: "Drama", 22: "Comedy", 24: "Children's"}
UNNAMED_GENRE = 23
ALBUMS = {1990: "1990", 1995: "1995", 1996: "1996", 1999: "1999"}
# track_id: (name or None, albums, genres); artists are always empty
MOVIES: dict[int, tuple[str | None, list[int], list[int | None]]] = {
    2001: ("Hamlet (1990)", [1990], [21]),
    2002: ("Hamlet (1996)", [1996], [21]),
    2003: ("Hamlet (1990)", [1990], [21]),
    2004: ("Hamlet (Live)", [1990], [21]),
    2005: (None, [1995], [22]),           # catalog name null
    2006: ("   ", [1995], [22]),          # catalog name blank
    2007: ("Toy Story (1995)", [1995], [22, 24]),
    2008: ("Toy Story 2 (1999)", [1999], [22, None]),  # a null id inside the genre list
    2009: ("Heat (1995)", [1995], [UNNAMED_GENRE]),
    2010: ("Casino (1995)", [1995], [21]),
}
HAMLETS = (2001, 2002, 2003, 2004)
DUPLICATED_TRACK_ROW = 2007   # listed twice in tracks.parquet
NAME_WITHOUT_TRACK = 2999     # named in catalog_names, absent from tracks.parquet
UNKNOWN_TRACK = 5555
HEAVY_USER = 1

# (user_id, track_id, month of 2000) in each user's order; track_seq = position per user.
_LOG: list[tuple[int | None, int | None, int | None]] = [
    (1, 2001, 1), (1, 2002, 1), (1, 2003, 2), (1, 2004, 2), (1, 2007, 3), (1, 2008, 3),
    (1, 2009, 4), (1, 2010, 4), (1, 2005, 5), (1, 2006, 5), (1, 2001, 6), (1, 2002, 6),
    (2, 2007, 1), (2, 2008, 2), (2, 2009, 3), (2, 2010, 5), (2, 2001, 6),
    (3, 2001, 1), (3, 2002, 2), (3, 2003, 4), (3, 2004, 5), (3, UNKNOWN_TRACK, 5),
    (4, 2010, 2), (4, 2009, 3), (4, 2008, 4), (4, 2007, 6),
    (5, 2005, 3), (5, 2006, 4), (5, 2007, 5), (5, 2002, 6),
    (6, UNKNOWN_TRACK, 6),
    (None, 2001, 3),          # no user
    (7, None, 3),             # no track
    (7, 2002, None),          # no date
]
NO_SEQ = (8, 2003, 4)         # a listen without track_seq (kept, never cut)

EXPECTED_DQ = {
    ("catalog_names.parquet", "null_id"): 1,
    ("catalog_names.parquet", "unknown_type"): 1,
    ("catalog_names.parquet", "null_or_blank_name"): 2,
    ("catalog_names.parquet", "duplicate_id"): 1,
    ("catalog_names.parquet", "track_name_without_track"): 1,
    ("tracks.parquet", "null_track_id"): 1,
    ("tracks.parquet", "duplicate_track_id"): 1,
    ("tracks.parquet", "null_list_id"): 1,
    ("tracks.parquet", "track_without_name"): 2,
    ("tracks.parquet", "album_without_name"): 0,
    ("tracks.parquet", "artist_without_name"): 0,
    ("tracks.parquet", "genre_without_name"): 1,
    ("interactions.parquet", "null_user_id"): 1,
    ("interactions.parquet", "null_track_id"): 1,
    ("interactions.parquet", "null_started_at"): 1,
    ("interactions.parquet", "unknown_track_id"): 2,
    ("interactions.parquet", "null_track_seq"): 1,
}


def interactions_rows() -> list[tuple[int | None, int | None, int | None, date | None]]:
    """(user_id, track_id, track_seq, date) with track_seq = 1-based order per user."""
    rows, seen = [], {}
    for user, track, month in _LOG:
        seen[user] = seen.get(user, 0) + 1
        rows.append((user, track, seen[user], None if month is None else date(2000, month, 1)))
    user, track, month = NO_SEQ
    rows.append((user, track, None, date(2000, month, 1)))
    return rows


def usable_rows() -> list[tuple[int, int, int | None, date]]:
    """The listens the warehouse may use: a user, a track of tracks.parquet and a date."""
    return [r for r in interactions_rows()
            if r[0] is not None and r[1] in MOVIES and r[3] is not None]  # type: ignore[misc]


def write_messy_raw(out_dir: Path) -> Path:
    """Write the three raw files (the published schema, nulls where the contract is broken)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ids: list[int | None] = sorted(MOVIES) + [DUPLICATED_TRACK_ROW, None]
    lists = [(MOVIES[t][1], MOVIES[t][2]) if t is not None else ([], []) for t in ids]
    list_type = pa.list_(pa.int64())
    pq.write_table(pa.table({
        "track_id": pa.array(ids, pa.int64()),
        "albums": pa.array([a for a, _ in lists], list_type),
        "artists": pa.array([[] for _ in ids], list_type),
        "genres": pa.array([g for _, g in lists], list_type),
    }), out_dir / "tracks.parquet")
    names: list[tuple[int | None, str, str | None]] = (
        [(t, "track", MOVIES[t][0]) for t in sorted(MOVIES)]
        + [(2001, "track", "Hamlet (1990)")]           # the same (type, id) twice
        + [(NAME_WITHOUT_TRACK, "track", "Nowhere (2001)")]
        + [(a, "album", n) for a, n in ALBUMS.items()]
        + [(g, "genre", n) for g, n in GENRES.items()]
        + [(None, "genre", "Horror"), (1, "tag", "funny")]
    )
    pq.write_table(pa.table({
        "id": pa.array([r[0] for r in names], pa.int64()),
        "type": pa.array([r[1] for r in names], pa.string()),
        "name": pa.array([r[2] for r in names], pa.string()),
    }), out_dir / "catalog_names.parquet")
    rows = interactions_rows()
    pq.write_table(pa.table({
        "user_id": pa.array([r[0] for r in rows], pa.int32()),
        "track_id": pa.array([r[1] for r in rows], pa.int32()),
        "track_seq": pa.array([r[2] for r in rows], pa.int16()),
        "started_at": pa.array([None if r[3] is None else datetime(r[3].year, r[3].month, 1)
                                for r in rows], pa.timestamp("ns")),
    }), out_dir / "interactions.parquet")
    return out_dir
