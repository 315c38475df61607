"""The tiny preset on disk: exact schema, log invariants, referential integrity, truth files."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from music_recs.generator.core import INTERACTIONS_SCHEMA

TRACKS_SCHEMA = pa.schema(
    [
        ("track_id", pa.int64()),
        ("albums", pa.list_(pa.int64())),
        ("artists", pa.list_(pa.int64())),
        ("genres", pa.list_(pa.int64())),
    ]
)
NAMES_SCHEMA = pa.schema([("id", pa.int64()), ("type", pa.string()), ("name", pa.string())])


def _con(raw: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for name in ("tracks", "catalog_names", "interactions"):
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{raw / (name + '.parquet')}')")
    return con


def test_exact_schemas(tiny_raw_dir: Path) -> None:
    def schema(name: str) -> pa.Schema:
        return pq.read_schema(tiny_raw_dir / f"{name}.parquet").remove_metadata()

    assert schema("tracks").equals(TRACKS_SCHEMA), schema("tracks")
    assert schema("catalog_names").equals(NAMES_SCHEMA), schema("catalog_names")
    assert schema("interactions").equals(INTERACTIONS_SCHEMA), schema("interactions")


def test_log_invariants(tiny_raw_dir: Path) -> None:
    con = _con(tiny_raw_dir)
    n, pairs = con.execute(
        "SELECT count(*), count(DISTINCT (user_id, track_id)) FROM interactions"
    ).fetchone()
    assert n == pairs > 0
    # track_seq = 1..n per user, in date order
    bad_seq = con.execute("""
        SELECT count(*) FROM (
          SELECT user_id, track_seq, started_at,
                 row_number() OVER (PARTITION BY user_id ORDER BY track_seq) AS rn,
                 lag(started_at) OVER (PARTITION BY user_id ORDER BY track_seq) AS prev
          FROM interactions)
        WHERE track_seq <> rn OR started_at < prev""").fetchone()[0]
    assert bad_seq == 0
    lo, hi, off_midnight = con.execute("""
        SELECT min(started_at), max(started_at), count(*) FILTER (WHERE started_at <> date_trunc('day', started_at))
        FROM interactions""").fetchone()
    assert str(lo) >= "2022-01-01" and str(hi) < "2023-01-01" and off_midnight == 0
    assert con.execute("SELECT count(*) FROM catalog_names WHERE name IS NULL").fetchone()[0] == 0


def test_referenced_ids_exist(tiny_raw_dir: Path) -> None:
    con = _con(tiny_raw_dir)
    unknown_tracks = con.execute("""SELECT count(*) FROM interactions i
        ANTI JOIN tracks t ON t.track_id = i.track_id""").fetchone()[0]
    assert unknown_tracks == 0
    assert con.execute("SELECT count(*) - count(DISTINCT track_id) FROM tracks").fetchone()[0] == 0
    # every track, album and artist id has a name; only the documented missing genres lack one
    for kind, col in (("track", None), ("album", "albums"), ("artist", "artists")):
        src = (
            "SELECT track_id AS id FROM tracks" if col is None else f"SELECT unnest({col}) AS id FROM tracks"
        )
        missing = con.execute(f"""SELECT count(*) FROM ({src}) s
            ANTI JOIN (SELECT id FROM catalog_names WHERE type = '{kind}') c ON c.id = s.id""").fetchone()[0]
        assert missing == 0, kind
    n_missing_genres = con.execute("""SELECT count(DISTINCT g) FROM (SELECT unnest(genres) AS g FROM tracks) s
        ANTI JOIN (SELECT id FROM catalog_names WHERE type = 'genre') c ON c.id = s.g""").fetchone()[0]
    assert n_missing_genres == 5
    dup_ids = con.execute(
        "SELECT count(*) FROM (SELECT type, id FROM catalog_names GROUP BY ALL HAVING count(*) > 1)"
    )
    assert dup_ids.fetchone()[0] == 0


def test_truth_tables_cover_the_catalog(tiny_raw_dir: Path) -> None:
    con = _con(tiny_raw_dir)
    truth = tiny_raw_dir / "_truth"
    versions = f"read_parquet('{truth / 'track_versions.parquet'}')"
    aliases = f"read_parquet('{truth / 'artist_aliases.parquet'}')"
    assert (
        con.execute(f"SELECT count(*) FROM tracks ANTI JOIN {versions} v USING (track_id)").fetchone()[0] == 0
    )
    types = {r[0] for r in con.execute(f"SELECT DISTINCT version_type FROM {versions}").fetchall()}
    assert types == {"original", "single", "remix", "live", "cover"}
    # originals point at themselves; versions at an original of the same (true) artist
    bad = con.execute(f"""
        SELECT count(*) FROM {versions} v JOIN {versions} o ON o.track_id = v.original_track_id
        WHERE (v.version_type = 'original') <> (v.track_id = v.original_track_id) OR o.version_type <> 'original'
    """).fetchone()[0]
    assert bad == 0
    artist_ids = con.execute("SELECT count(*) FROM catalog_names WHERE type = 'artist'").fetchone()[0]
    n_alias, n_true, min_ok = con.execute(f"""
        SELECT count(*), count(DISTINCT true_artist_id),
               bool_and(true_artist_id = (SELECT min(artist_id) FROM {aliases} a2 WHERE a2.true_artist_id = a.true_artist_id))
        FROM {aliases} a""").fetchone()
    assert n_alias == artist_ids and n_true < n_alias and min_ok
