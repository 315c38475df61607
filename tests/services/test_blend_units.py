"""Pure pieces: interleave/blend, genre-aware popularity, in-memory keyed lists."""

from __future__ import annotations

import duckdb
import pytest

from music_recs.cold_start import genre_aware_popular
from services.final.blend import blend, interleave
from services.lookups import CatalogIndex, KeyedLists, TrackMap, load_item_genres
from services.online.app import merge_similar
from services.queries import genre_preference


def test_interleave_and_blend() -> None:
    a = [(1, "offline"), (2, "offline"), (3, "offline")]
    b = [(10, "online")]
    assert interleave(a, b) == [(1, "offline"), (10, "online"), (2, "offline"), (3, "offline")]
    fill = [(2, "popular"), (7, "popular"), (8, "popular"), (9, "popular")]
    got = blend(a, [(2, "online"), (10, "online")], fill, exclude={3}, k=5)
    # order 1, 2(online), 2(offline: duplicate), 10, 3 (heard), then the fill tops up
    assert got == [(1, "offline"), (2, "online"), (10, "online"), (7, "popular"), (8, "popular")]
    assert blend([], [], [], set(), k=3) == []
    with pytest.raises(ValueError, match="k must be"):
        blend(a, b, fill, set(), k=0)


def _keyed(rows: list[tuple[int, int, float]]) -> KeyedLists:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (k BIGINT, v BIGINT, s DOUBLE, r INTEGER)")
    if rows:
        con.executemany(
            "INSERT INTO t VALUES (?, ?, ?, ?)", [(k, v, s, i) for i, (k, v, s) in enumerate(rows)]
        )
    return KeyedLists.from_query(con, "SELECT k, v, s FROM t ORDER BY k, r")


def test_keyed_lists_lookup() -> None:
    kl = _keyed([(5, 50, 0.5), (5, 51, 0.4), (2, 20, 1.0), (9, 90, 0.1)])
    assert len(kl) == 3 and 5 in kl and 4 not in kl and 10 not in kl
    assert kl.get(5) == [(50, 0.5), (51, 0.4)]
    assert kl.get(5, limit=1) == [(50, 0.5)]
    assert kl.get(2) == [(20, 1.0)] and kl.get(9) == [(90, 0.1)]
    assert kl.get(3) == [] and kl.get(100) == []
    assert _keyed([]).get(1) == []


def test_track_map() -> None:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE map_tracks AS SELECT * FROM (VALUES (1, 1), (7, 1), (3, 3)) v(raw_id, canonical_id)"
    )
    tm = TrackMap.load(con)
    assert tm.canonical(7) == 1 and tm.canonical(3) == 3 and tm.canonical(2) is None
    assert tm.canonical_many([7, 2, 3, 99, 1]) == [1, 3, 1]
    assert tm.canonical_many([]) == []


def test_genre_aware_popular() -> None:
    by_genre = _keyed([(1, 10, 0.0), (1, 11, 0.0), (2, 20, 0.0), (2, 21, 0.0)])
    popular = [(99, 5.0), (10, 4.0), (98, 3.0)]
    # genre 1 share 0.75: 10 → 0.75, 11 → 0.375; genre 2 share 0.25: 20 → 0.25, 21 → 0.125
    got = genre_aware_popular(popular, by_genre, [(1, 0.75), (2, 0.25)], exclude={11}, k=5)
    assert [t for t, _ in got] == [10, 20, 21, 99, 98]
    assert got[0][1] == pytest.approx(0.75) and got[3][1] == 0.0
    assert genre_aware_popular(popular, by_genre, [], exclude={10}, k=2) == [(99, 5.0), (98, 3.0)]


def test_merge_similar_weights_recent_listens() -> None:
    similar = _keyed([(1, 5, 0.5), (1, 6, 0.4), (2, 6, 0.5), (2, 1, 0.9)])
    # recent = [2, 1]: weights 1 and 0.9; 6 = 0.5 + 0.9*0.4 = 0.86; 5 = 0.45; 1 is heard
    got = merge_similar(similar, [2, 1], exclude={1, 2}, k=10)
    assert [t for t, _ in got] == [6, 5]
    assert got[0][1] == pytest.approx(0.86) and got[1][1] == pytest.approx(0.45)


def test_catalog_index() -> None:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE catalog AS SELECT * FROM (VALUES (30, 'c', 'A', 'x', NULL), "
        "(10, 'a', 'B', 'y', 'pop'), (20, 'b', NULL, 'z', 'rock')) "
        "v(track_id, track_name, artist_name, album_name, genre_name)"
    )
    cat = CatalogIndex.load(con)
    assert len(cat) == 3
    got = cat.lookup([20, 5, 30, 99])
    assert got == {
        20: {"track_name": "b", "artist_name": None, "album_name": "z", "genre_name": "rock"},
        30: {"track_name": "c", "artist_name": "A", "album_name": "x", "genre_name": None},
    }
    assert cat.lookup([]) == {}


def test_genre_preference_counts_listened_genres_like_the_join() -> None:
    """Shares of each genre over the tracks' genres, largest first, ties by genre id: what
    the DuckDB join it replaced returned."""
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE item_genres AS SELECT * FROM (VALUES (1, 10), (1, 20), (2, 20), "
        "(3, 30), (4, 10), (5, 40)) t(track_id, genre_id)"
    )
    genres = load_item_genres(con)
    tracks = [1, 2, 3, 4, 99]  # 99: no genre
    want = con.execute(
        "WITH heard AS (SELECT unnest(?::BIGINT[]) AS track_id) SELECT g.genre_id, count(*) AS n "
        "FROM heard h JOIN item_genres g USING (track_id) GROUP BY 1 ORDER BY n DESC, 1",
        [tracks],
    ).fetchall()
    total = sum(n for _, n in want)
    assert genre_preference(genres, tracks) == [(g, n / total) for g, n in want]
    assert genre_preference(genres, tracks)[:2] == [(10, 2 / 5), (20, 2 / 5)]
    assert genre_preference(genres, []) == [] and genre_preference(genres, [99]) == []
