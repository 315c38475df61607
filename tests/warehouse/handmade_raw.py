"""A small hand-made raw data set whose right answers a person can check by eye.

Known facts (the tests assert them):
- artists 10 'Beyoncé' and 11 'BEYONCE' are one artist (canonical 10); 19/20 'Céline Dion'
  likewise (canonical 19); 17 'Мой Город' and 18 'Мои Город' are NOT (й is not и);
- genre 2 ' ROCK!' is genre 1 'Rock'; genre 99 is referenced but has no name;
- track 1001 'FORMATION!' by 11 duplicates 1000 'Formation' by 10; 1012 'Sorry ft. Jay-Z -
  Remastered 2011' duplicates 1011 'Sorry (feat. Jay-Z)'; 1005 duplicates 1004 (Cyrillic);
  1018 duplicates 1017 (curly apostrophe, no accents);
- 1002 '(Remix)' and 1003 '- Live' are versions of 1000 (same group, not duplicates);
  1007 '(Live)' and 1008 '(Cover)' are versions of 1006;
- 1009 and 1010 'Episode 1' have empty lists and must stay two tracks;
- user 1 heard 1000 and its duplicate 1001: one event (1, 1000) with listen_count 2;
- the log ends 2022-12-31, so the derived split is 2022-12-17, label_start 2022-12-03;
- user 5 is a heavy user whose deepest listens (track_seq) fall beyond the 0.95 quantile;
- listens of raw track 5555 (not in tracks.parquet) are dropped;
- online events: user 1 heard 1014 and new user 7 heard 1001 (-> 1000), both in 2026;
  track 7777 is unknown and dropped.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

GENRES = {1: "Rock", 2: " ROCK!", 3: "Pop", 4: "Русский рок"}
ARTISTS = {
    10: "Beyoncé", 11: "BEYONCE", 12: "Кино", 13: "ポルノグラフィティ", 14: "AC/DC",
    15: "Jay-Z", 17: "Мой Город", 18: "Мои Город", 19: "Céline Dion", 20: "celine  dion",
}
ALBUMS = {
    100: "Lemonade", 101: "LEMONADE", 102: "Группа крови", 103: "Back in Black",
    104: "Live at Donington", 105: "アポロ",
}
# track_id: (name, albums, artists, genres)
TRACKS: dict[int, tuple[str, list[int], list[int], list[int]]] = {
    1000: ("Formation", [100], [10], [3]),
    1001: ("FORMATION!", [101], [11], [3, 2]),
    1002: ("Formation (Remix)", [100], [10], [3]),
    1003: ("Formation - Live", [], [11], [3]),
    1004: ("Группа крови", [102], [12], [4]),
    1005: ("ГРУППА  КРОВИ", [102], [12], [4]),
    1006: ("Back in Black", [103], [14], [1]),
    1007: ("Back In Black (Live)", [104], [14], [2]),
    1008: ("Back in Black (Cover)", [103], [14], [1]),
    1009: ("Episode 1", [], [], []),
    1010: ("Episode 1", [], [], []),
    1011: ("Sorry (feat. Jay-Z)", [100], [10, 15], [3]),
    1012: ("Sorry ft. Jay-Z - Remastered 2011", [], [11, 15], [3]),
    1013: ("アポロ", [105], [13], [99]),
    1014: ("Hold Up", [100], [10], [3]),
    1015: ("Город", [], [17], [4]),
    1016: ("Город", [], [18], [4]),
    1017: ("Pour que tu m'aimes encore", [], [19], [3]),
    1018: ("POUR QUE TU M’AIMES ENCORE", [], [20], [3]),
}

# The hand-checked answers: duplicate raw id -> canonical id (every other id is canonical).
TRACK_DUPLICATES = {1001: 1000, 1005: 1004, 1012: 1011, 1018: 1017}
ARTIST_DUPLICATES = {11: 10, 20: 19}
GENRE_DUPLICATES = {2: 1}
# canonical track -> song group and version type, for the tracks that are versions
TRACK_VERSIONS = {1002: (1000, "remix"), 1003: (1000, "live"), 1007: (1006, "live"),
                  1008: (1006, "cover")}
UNKNOWN_TRACK = 5555

# (user_id, raw track_id, date) in each user's listening order; track_seq is the position.
_LOG: list[tuple[int, int, date]] = [
    (1, 1000, date(2022, 11, 1)), (1, 1001, date(2022, 11, 2)), (1, 1004, date(2022, 12, 10)),
    (1, 1017, date(2022, 12, 16)), (1, 1018, date(2022, 12, 17)), (1, 1013, date(2022, 12, 20)),
    (2, 1005, date(2022, 11, 5)), (2, 1011, date(2022, 12, 18)), (2, 1012, date(2022, 12, 25)),
    (3, 1006, date(2022, 11, 10)), (3, 1007, date(2022, 11, 11)), (3, 1008, date(2022, 11, 12)),
    (3, 1009, date(2022, 12, 1)), (3, 1010, date(2022, 12, 2)), (3, 1002, date(2022, 12, 31)),
    (4, 1014, date(2022, 12, 28)),
    (6, UNKNOWN_TRACK, date(2022, 11, 20)), (6, 1015, date(2022, 11, 21)), (6, 1016, date(2022, 11, 22)),
]
HEAVY_USER = 5
_LOG += [(HEAVY_USER, track, date(2022, 11, 1 + i)) for i, track in enumerate(sorted(TRACKS))]

ONLINE: list[tuple[int, int, datetime]] = [
    (1, 1014, datetime(2026, 1, 15, 10, 30)),
    (7, 1001, datetime(2026, 1, 15, 11, 0)),
    (7, 7777, datetime(2026, 1, 15, 11, 5)),
]


def interactions_rows() -> list[tuple[int, int, int, date]]:
    """(user_id, track_id, track_seq, date) with track_seq = 1-based order per user."""
    rows, seen = [], {}
    for user, track, day in _LOG:
        seen[user] = seen.get(user, 0) + 1
        rows.append((user, track, seen[user], day))
    return rows


def write_handmade_raw(out_dir: Path) -> Path:
    """Write the three raw files with the exact published schema into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ids = sorted(TRACKS)
    list_type = pa.list_(pa.int64())
    pq.write_table(pa.table({
        "track_id": pa.array(ids, pa.int64()),
        "albums": pa.array([TRACKS[t][1] for t in ids], list_type),
        "artists": pa.array([TRACKS[t][2] for t in ids], list_type),
        "genres": pa.array([TRACKS[t][3] for t in ids], list_type),
    }), out_dir / "tracks.parquet")
    names = ([(t, "track", TRACKS[t][0]) for t in ids]
             + [(a, "album", n) for a, n in ALBUMS.items()]
             + [(a, "artist", n) for a, n in ARTISTS.items()]
             + [(g, "genre", n) for g, n in GENRES.items()])
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
        "started_at": pa.array([datetime(r[3].year, r[3].month, r[3].day) for r in rows],
                               pa.timestamp("ns")),
    }), out_dir / "interactions.parquet")
    return out_dir


def write_online_events(path: Path, rows: list[tuple[int, int, datetime]] = ONLINE) -> Path:
    """The parquet the pipeline exports from the events service (schema of the contract)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({
        "user_id": pa.array([r[0] for r in rows], pa.int32()),
        "track_id": pa.array([r[1] for r in rows], pa.int64()),
        "started_at": pa.array([r[2] for r in rows], pa.timestamp("us")),
    }), path)
    return path
