"""Outcomes of a real `dbt build` that a person can check by hand.

The hand-made raw set (tests/warehouse/handmade_raw.py) documents its known answers; the
expectations about events are recomputed here in plain Python from the raw rows, not copied
from the warehouse.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import defaultdict
from datetime import date, timedelta

import duckdb
import numpy as np

from tests.warehouse import handmade_raw as hm


def rows(con, sql: str, params: list | None = None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


def canonical(track_id: int) -> int:
    return hm.TRACK_DUPLICATES.get(track_id, track_id)


# --- deduplication ----------------------------------------------------------------------

def test_duplicate_artists_and_genres_collapse(handmade_con) -> None:
    artist_map = dict(rows(handmade_con, "SELECT raw_id, canonical_id FROM map_artists"))
    assert {raw: canon for raw, canon in artist_map.items() if raw != canon} == hm.ARTIST_DUPLICATES
    assert artist_map[17] == 17 and artist_map[18] == 18, "Мой and Мои are different names"
    genre_map = dict(rows(handmade_con, "SELECT raw_id, canonical_id FROM map_genres"))
    assert {raw: canon for raw, canon in genre_map.items() if raw != canon} == hm.GENRE_DUPLICATES
    assert genre_map[99] == 99, "a genre without a name is kept, mapped to itself"
    assert (1013, 99) in rows(handmade_con, "SELECT track_id, genre_id FROM item_genres")


def test_duplicate_tracks_map_to_their_smallest_id(handmade_con) -> None:
    track_map = dict(rows(handmade_con, "SELECT raw_id, canonical_id FROM map_tracks"))
    assert set(track_map) == set(hm.TRACKS), "every raw track id is mapped"
    assert {raw: canon for raw, canon in track_map.items() if raw != canon} == hm.TRACK_DUPLICATES
    items = {r[0] for r in rows(handmade_con, "SELECT track_id FROM items")}
    assert items == set(hm.TRACKS) - set(hm.TRACK_DUPLICATES)


def test_versions_share_their_originals_group(handmade_con) -> None:
    got = dict((r[0], (r[1], r[2])) for r in rows(
        handmade_con, "SELECT track_id, track_group_id, version_type FROM items"))
    for track, expected in hm.TRACK_VERSIONS.items():
        assert got[track] == expected, track
    assert got[1000] == (1000, "original") and got[1006] == (1006, "original")
    # same title, different artists: different songs
    assert got[1015][0] != got[1016][0]
    # a duplicate's genres are merged into the canonical track (genre 2 is genre 1)
    assert rows(handmade_con, "SELECT genre_ids FROM items WHERE track_id = 1000") == [([1, 3],)]


def test_empty_list_tracks_are_kept(handmade_con) -> None:
    got = rows(handmade_con, """
        SELECT track_id, artist_ids, genre_ids, album_id, track_group_id FROM items
        WHERE track_id IN (1009, 1010) ORDER BY track_id""")
    assert got == [(1009, [], [], None, 1009), (1010, [], [], None, 1010)], \
        "two unrelated 'Episode 1' without artists are neither dropped nor merged"
    assert rows(handmade_con, "SELECT album_id FROM items WHERE track_id = 1003") == [(None,)]


def test_non_latin_names_survive(handmade_con) -> None:
    names = dict((r[0], (r[1], r[2])) for r in rows(
        handmade_con, "SELECT track_id, track_name, artist_name FROM catalog"))
    assert names[1004] == ("Группа Крови", "Кино")
    assert names[1013] == ("アポロ", "ポルノグラフィティ")
    assert names[1015] == ("Город", "Мой Город") and names[1016] == ("Город", "Мои Город")
    assert names[1000] == ("Formation", "Beyoncé")
    assert names[1011] == ("Sorry (Feat. Jay-Z)", "Beyoncé, Jay-Z")


# --- events -------------------------------------------------------------------------------

def _expected_log_pairs(threshold: int, split_date: date, start: date | None,
                        end: date | None) -> dict:
    """(user, canonical track) -> [count, first, last] over log listens in (start, end];
    the track_seq cut applies to listens on or before split_date only."""
    out: dict[tuple[int, int], list] = {}
    for user, track, seq, day in hm.interactions_rows():
        if (seq > threshold and day <= split_date) or track not in hm.TRACKS:
            continue
        if (start is not None and day <= start) or (end is not None and day > end):
            continue
        key = (user, canonical(track))
        if key in out:
            out[key][0] += 1
            out[key][1] = min(out[key][1], day)
            out[key][2] = max(out[key][2], day)
        else:
            out[key] = [1, day, day]
    return out


def _table(con, name: str) -> dict:
    return {(r[0], r[1]): [r[2], r[3], r[4]] for r in rows(
        con, f"SELECT user_id, track_id, listen_count, first_listen, last_listen FROM {name}")}


def test_split_is_derived_from_the_log(handmade_con) -> None:
    split_date, label_start, min_date, max_date, _ = rows(handmade_con, "SELECT * FROM split_info")[0]
    log_days = [r[3] for r in hm.interactions_rows()]
    assert max_date == max(log_days) and min_date == min(log_days)
    assert split_date == max(log_days) - timedelta(days=14), "online events (2026) must not move it"
    assert label_start == split_date - timedelta(days=14)


def test_track_seq_threshold_drops_the_deepest_train_listens(handmade_con) -> None:
    """The cut-off is the quantile of the train window's depths (usable listens only) and
    drops train listens only."""
    threshold, split_date = rows(handmade_con,
                                 "SELECT track_seq_threshold, split_date FROM split_info")[0]
    known = [r for r in hm.interactions_rows() if r[1] in hm.TRACKS]
    train_seqs = np.array([r[2] for r in known if r[3] <= split_date])
    assert threshold == np.quantile(train_seqs, 0.95, method="inverted_cdf")
    assert threshold < train_seqs.max(), "the fixture's heavy user must lose listens"
    kept_log = rows(handmade_con, "SELECT count(*) FROM int_listens_unioned WHERE listen_source = 'log'")[0][0]
    assert kept_log == sum(1 for r in known if r[2] <= threshold or r[3] > split_date)


def test_listens_of_duplicates_land_on_the_canonical_track(handmade_con) -> None:
    events = _table(handmade_con, "events")
    assert events[(1, 1000)] == [2, date(2022, 11, 1), date(2022, 11, 2)], \
        "user 1 heard 1000 and its duplicate 1001: one event with two listens"
    assert not [k for k in events if k[1] in hm.TRACK_DUPLICATES or k[1] == hm.UNKNOWN_TRACK]


def test_train_and_test_match_an_independent_computation(handmade_con) -> None:
    split_date, label_start, _, _, threshold = rows(handmade_con, "SELECT * FROM split_info")[0]
    online = {(user, canonical(track)) for user, track, _ in hm.ONLINE if track in hm.TRACKS}
    train = _table(handmade_con, "events_train")
    expected_train = _expected_log_pairs(threshold, split_date, None, split_date)
    assert {k: v for k, v in train.items() if k not in online} == \
        {k: v for k, v in expected_train.items() if k not in online}
    expected_test = {k: v for k, v in _expected_log_pairs(threshold, split_date, split_date, None).items()
                     if k not in train}
    test = _table(handmade_con, "events_test")
    assert test == expected_test and test, "test = later listens of pairs unseen in train"
    assert not set(train) & set(test)
    assert max(v[2] for v in train.values()) <= split_date < min(v[1] for v in test.values())
    fit = _table(handmade_con, "events_fit")
    labels = _table(handmade_con, "events_labels")
    assert all(v[2] <= label_start for v in fit.values())
    assert all(label_start < v[1] and v[2] <= split_date for v in labels.values())
    assert labels and not set(fit) & set(labels)


def test_online_events_join_the_train_period(handmade_con) -> None:
    split_date = rows(handmade_con, "SELECT split_date FROM split_info")[0][0]
    train = _table(handmade_con, "events_train")
    assert train[(7, 1000)] == [1, split_date, split_date], "new user 7 heard 1001 (-> 1000) online"
    assert train[(1, 1014)] == [1, split_date, split_date]
    assert (7,) in rows(handmade_con, "SELECT user_id FROM user_index")
    assert not rows(handmade_con, "SELECT * FROM events WHERE track_id = 7777")
    assert not rows(handmade_con, "SELECT * FROM events_test WHERE user_id = 7")


# --- features and indices -------------------------------------------------------------------

def test_features_do_not_read_the_test_window(handmade_con) -> None:
    # track 1002: heard in train by user 5, in the test window by user 3
    assert rows(handmade_con, """
        SELECT n_users, n_listens FROM track_features WHERE phase = 'serve' AND track_id = 1002
    """) == [(1, 1)]
    for phase, table in (("fit", "events_fit"), ("serve", "events_train")):
        users = defaultdict(int)
        for user, _track in rows(handmade_con, f"SELECT user_id, track_id FROM {table}"):
            users[user] += 1
        got = dict(rows(handmade_con, "SELECT user_id, n_tracks FROM user_features WHERE phase = ?",
                        [phase]))
        assert got == dict(users), phase
    shares = rows(handmade_con, """
        SELECT user_id, sum(share_serve) FROM user_artist_affinity GROUP BY 1""")
    assert all(0 < s <= 1.0 + 1e-9 for _, s in shares)


def test_indices_are_contiguous_over_train(handmade_con) -> None:
    for entity in ("user", "track"):
        got = rows(handmade_con, f"SELECT {entity}_id, {entity}_idx FROM {entity}_index ORDER BY 2")
        ids = sorted(r[0] for r in rows(
            handmade_con, f"SELECT DISTINCT {entity}_id FROM events_train"))
        assert [r[1] for r in got] == list(range(len(ids)))
        assert [r[0] for r in got] == ids


# --- generated tiny data ------------------------------------------------------------------

def test_dedup_agrees_with_the_generator_truth(tiny_con, tiny_warehouse) -> None:
    truth = str(tiny_warehouse["raw"] / "_truth")
    artists = rows(tiny_con, f"""
        SELECT count(*) FILTER (WHERE m.canonical_id = a.true_artist_id), count(*)
        FROM read_parquet('{truth}/artist_aliases.parquet') a
        JOIN map_artists m ON m.raw_id = a.artist_id""")[0]
    assert artists[1] > 0 and artists[0] / artists[1] >= 0.98, artists
    # truth: a single is the same recording as its original; remix/live/cover are versions
    tracks = rows(tiny_con, f"""
        WITH tv AS (SELECT * FROM read_parquet('{truth}/track_versions.parquet')),
        keyed AS (SELECT track_id, CASE WHEN version_type = 'single' THEN original_track_id
                                        ELSE track_id END AS k FROM tv),
        truth AS (SELECT track_id, min(track_id) OVER (PARTITION BY k) AS canon FROM keyed)
        SELECT count(*) FILTER (WHERE m.canonical_id = t.canon), count(*)
        FROM truth t JOIN map_tracks m ON m.raw_id = t.track_id""")[0]
    assert tracks[1] > 0 and tracks[0] / tracks[1] >= 0.95, tracks
    n_dups = rows(tiny_con, "SELECT count(*) FROM map_tracks WHERE raw_id <> canonical_id")[0][0]
    assert n_dups > 0
    groups = rows(tiny_con, f"""
        WITH g AS (SELECT tv.original_track_id, i.track_group_id
                   FROM read_parquet('{truth}/track_versions.parquet') tv
                   JOIN map_tracks m ON m.raw_id = tv.track_id
                   JOIN items i ON i.track_id = m.canonical_id)
        SELECT count(*) FILTER (WHERE n = 1), count(*)
        FROM (SELECT original_track_id, count(DISTINCT track_group_id) AS n FROM g GROUP BY 1)""")[0]
    assert groups[0] / groups[1] >= 0.9, groups


def test_no_listen_of_a_duplicate_is_lost(tiny_con, tiny_warehouse) -> None:
    raw = str(tiny_warehouse["raw"])
    threshold, split_date = rows(tiny_con, "SELECT track_seq_threshold, split_date FROM split_info")[0]
    expected = rows(tiny_con, f"""
        SELECT count(*) FROM read_parquet('{raw}/interactions.parquet') i
        WHERE (i.track_seq <= ? OR CAST(i.started_at AS DATE) > ?) AND i.track_id IN (
            SELECT track_id FROM read_parquet('{raw}/tracks.parquet'))""", [threshold, split_date])[0][0]
    got = rows(tiny_con, "SELECT sum(listen_count) FROM events")[0][0]
    assert got == expected > 0, "no online file: events hold exactly the kept log listens"
    on_duplicates = rows(tiny_con, f"""
        SELECT count(*) FROM read_parquet('{raw}/interactions.parquet') i
        JOIN map_tracks m ON m.raw_id = i.track_id
        WHERE m.raw_id <> m.canonical_id AND i.track_seq <= ?""", [threshold])[0][0]
    deep_test = rows(tiny_con, f"""
        SELECT count(*) FROM read_parquet('{raw}/interactions.parquet')
        WHERE track_seq > ? AND CAST(started_at AS DATE) > ?""", [threshold, split_date])[0][0]
    assert deep_test > 0, "the tiny data must exercise deep test listens (kept, never cut)"
    assert on_duplicates > 0, "the tiny data must exercise listens of duplicate ids"


def test_affinities_equal_a_recount_from_each_phases_events(tiny_con) -> None:
    """The one-pass affinity gives exactly what counting events_fit / events_train gives."""
    for entity, items_table in (("artist", "item_artists"), ("genre", "item_genres")):
        for phase, events in (("fit", "events_fit"), ("serve", "events_train")):
            recount = rows(tiny_con, f"""
                WITH per_user AS (SELECT user_id, count(*) AS n FROM {events} GROUP BY 1)
                SELECT e.user_id, i.{entity}_id, count(*) AS n_tracks,
                       round(count(*) / any_value(u.n), 9) AS share
                FROM {events} e JOIN {items_table} i USING (track_id) JOIN per_user u USING (user_id)
                GROUP BY 1, 2 ORDER BY 1, 2""")
            got = rows(tiny_con, f"""
                SELECT user_id, {entity}_id, n_tracks_{phase}, round(share_{phase}, 9)
                FROM user_{entity}_affinity WHERE n_tracks_{phase} > 0 ORDER BY 1, 2""")
            assert got == recount and got, (entity, phase)
        # one row per serve pair; a pair without fit tracks has no fit share (NULL, not 0)
        bad = rows(tiny_con, f"""
            SELECT count(*) FILTER (WHERE (n_tracks_fit = 0) <> (share_fit IS NULL)),
                   count(*) FILTER (WHERE n_tracks_fit = 0), count(*)
            FROM user_{entity}_affinity""")[0]
        assert bad[0] == 0 and 0 < bad[1] < bad[2], (entity, bad)
    active = rows(tiny_con, """
        SELECT f.user_id, f.n_active_days, count(DISTINCT l.listen_date)
        FROM user_features f JOIN int_listens_unioned l USING (user_id)
        CROSS JOIN split_info s
        WHERE f.phase = 'fit' AND l.listen_date <= s.label_start
        GROUP BY 1, 2 HAVING f.n_active_days <> count(DISTINCT l.listen_date)""")
    assert active == []


def test_events_are_stored_ordered_by_user(tiny_con) -> None:
    """The services' per-user point queries prune row groups only if `events` is clustered."""
    users = tiny_con.execute("SELECT user_id FROM events").fetchnumpy()["user_id"]  # storage order
    assert len(users) > 1000
    assert bool(np.all(np.diff(users) >= 0)), "events must be stored ordered by user_id"


def test_views_work_in_a_renamed_copy_of_the_build(tiny_warehouse, tmp_path) -> None:
    """Views (events, events_train, ...) name tables without the build file's name, so a user's
    copy of the file, or the file attached under another name, still answers them."""
    copy = tmp_path / "my_copy.duckdb"
    shutil.copyfile(tiny_warehouse["db"], copy)
    original = duckdb.connect(str(tiny_warehouse["db"]), read_only=True)
    try:
        views = [r[0] for r in original.execute(
            "SELECT view_name FROM duckdb_views() WHERE NOT internal AND schema_name = 'main'").fetchall()]
        counts = {v: original.execute(f"SELECT count(*) FROM {v}").fetchone()[0] for v in views}
    finally:
        original.close()
    assert {"events", "events_train", "events_fit", "int_listens_unioned", "user_artist_affinity",
            "user_genre_affinity"} <= set(views)
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{copy}' AS elsewhere (READ_ONLY)")
        got = {v: con.execute(f"SELECT count(*) FROM elsewhere.{v}").fetchone()[0] for v in views}
    finally:
        con.close()
    assert got == counts and counts["events"] > 0


def test_floor_tool_replays_the_slowest_models(tiny_warehouse, tmp_path) -> None:
    """`python -m benchmarks.dbt_floor` reruns a finished build's compiled models alone: the
    rows it gets equal the built tables', and --persist leaves the file as it found it."""
    run_dir = tmp_path / "tiny"  # the run dir's name is the build's catalog name
    run_dir.mkdir()
    (run_dir / "target").symlink_to(tiny_warehouse["root"] / "dbt_target")
    db = run_dir / "tiny.duckdb"
    shutil.copyfile(tiny_warehouse["db"], db)
    for extra in ([], ["--persist"]):
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.dbt_floor", "--run-dir", str(run_dir), "--db", str(db),
             "--top", "3", "--memory-limit", "1GB", "--threads", "1", *extra],
            capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        got = [json.loads(line) for line in done.stdout.splitlines()]
        assert len(got) == 3 and all(r["persist"] == bool(extra) for r in got)
        con = duckdb.connect(str(db), read_only=True)
        try:
            for r in got:
                assert r["rows"] == con.execute(f"SELECT count(*) FROM {r['model']}").fetchone()[0], r
            assert sum(r["rows"] for r in got) > 0
            assert not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '%floor%'").fetchone()[0]
        finally:
            con.close()


def test_key_test_by_storage_order_fails_on_duplicates_and_disorder(handmade, tmp_path) -> None:
    """The compiled `unique_and_ordered` test of int_events_aggregated (as `dbt build` ran it)
    passes on the build, and fails on a copy whose table holds a duplicated key or has two
    rows swapped, so a cheaper key test did not become one that cannot fail."""
    compiled = list((handmade["root"] / "dbt_target" / "compiled").rglob(
        "unique_and_ordered_int_events_aggregated_*.sql"))
    assert len(compiled) == 1, compiled
    test_sql = compiled[0].read_text()
    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(handmade["db"], copy)
    con = duckdb.connect(str(copy))
    try:
        assert rows(con, f"SELECT count(*) FROM ({test_sql})")[0][0] == 0
        n = rows(con, "SELECT count(*) FROM int_events_aggregated")[0][0]
        assert n > 10
        con.execute("CREATE TABLE kept AS SELECT * FROM int_events_aggregated ORDER BY user_id, track_id")
        con.execute("""CREATE OR REPLACE TABLE int_events_aggregated AS
            SELECT * FROM kept UNION ALL (SELECT * FROM kept LIMIT 1) ORDER BY user_id, track_id""")
        assert rows(con, f"SELECT count(*) FROM ({test_sql})")[0][0] == 1  # the duplicate
        con.execute("""CREATE OR REPLACE TABLE int_events_aggregated AS
            WITH numbered AS (SELECT *, row_number() OVER (ORDER BY user_id, track_id) AS pos FROM kept)
            SELECT * EXCLUDE (pos) FROM numbered
            ORDER BY CASE pos WHEN 5 THEN 6 WHEN 6 THEN 5 ELSE pos END""")
        assert rows(con, "SELECT count(*) FROM int_events_aggregated")[0][0] == n
        assert rows(con, f"SELECT count(*) FROM ({test_sql})")[0][0] >= 1  # rows 5 and 6 swapped
    finally:
        con.close()
