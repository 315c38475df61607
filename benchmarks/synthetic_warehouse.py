"""A synthetic warehouse with the services' tables at a chosen size, for load benchmarks.

Why: the services' cost depends on table sizes and on how the per-user tables are laid out,
not on model quality; this writes the contract's serving tables (random content, demo-like
sizes by default) in seconds, so load figures can be taken before a real build exists.
Never used by the pipeline. Usage::

    python -m benchmarks.synthetic_warehouse --out /tmp/bench/warehouse/builds/music_recs-bench.duckdb \
        --publish /tmp/bench/warehouse/music_recs.duckdb [--unordered-events]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb

from music_recs.config import Settings
from music_recs.warehouse import publish


def write_bench_warehouse(
    out: Path, users: int, tracks: int, listens: int, n_recs: int, n_similar: int, ordered_events: bool
) -> dict[str, int]:
    """Write the tables to ``out`` (must not exist); return their row counts."""
    if out.exists():
        raise FileExistsError(f"{out} exists; choose a new path")
    if min(users, tracks, listens, n_recs, n_similar) < 1:
        raise ValueError("all sizes must be >= 1")
    out.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(out))
    genres = 120
    order = "ORDER BY user_id, track_id" if ordered_events else ""
    statements = [
        f"""CREATE TABLE catalog AS SELECT i::BIGINT AS track_id, 'Track ' || i AS track_name,
            'Artist ' || (i % 4000) AS artist_name, 'Album ' || (i // 3) AS album_name,
            'genre' || (i % {genres}) AS genre_name, i::BIGINT AS track_group_id
            FROM range({tracks}) t(i)""",
        f"CREATE TABLE map_tracks AS SELECT i::BIGINT AS raw_id, i::BIGINT AS canonical_id FROM range({tracks}) t(i)",
        f"CREATE TABLE item_genres AS SELECT i::BIGINT AS track_id, (i % {genres})::BIGINT AS genre_id FROM range({tracks}) t(i)",
        f"""CREATE TABLE events AS SELECT DISTINCT (hash(i) % {users})::INTEGER AS user_id,
            (hash(i * 7 + 1) % {tracks})::BIGINT AS track_id, 1 AS listen_count,
            DATE '2022-06-01' AS first_listen, DATE '2022-06-01' AS last_listen
            FROM range({listens}) t(i) {order}""",
        f"""CREATE TABLE recs_final AS SELECT u::INTEGER AS user_id,
            (hash(u * 1000 + r) % {tracks})::BIGINT AS track_id, 1.0 / (r + 1) AS score,
            (r + 1)::INTEGER AS rank FROM range({users}) a(u), range({n_recs}) b(r)
            ORDER BY user_id, rank""",
        """CREATE TABLE recs_popular AS SELECT (i + 1)::INTEGER AS rank, i::BIGINT AS track_id,
            1000.0 - i AS score FROM range(100) t(i)""",
        f"""CREATE TABLE recs_popular_genre AS SELECT g::BIGINT AS genre_id, (r + 1)::INTEGER AS rank,
            ((g + {genres} * r) % {tracks})::BIGINT AS track_id, 100.0 - r AS score
            FROM range({genres}) a(g), range(100) b(r) ORDER BY genre_id, rank""",
        f"""CREATE TABLE similar_tracks AS SELECT t::BIGINT AS track_id,
            (hash(t * 100 + r) % {tracks})::BIGINT AS similar_track_id, 1.0 / (r + 1) AS score,
            (r + 1)::INTEGER AS rank FROM range({tracks}) a(t), range({n_similar}) b(r)
            ORDER BY track_id, rank""",
        "CREATE TABLE build_info (key VARCHAR PRIMARY KEY, value VARCHAR)",
    ]
    try:
        for sql in statements:
            con.execute(sql)
        con.execute("INSERT INTO build_info VALUES ('build_id', ?)", [out.stem])
        return {
            t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("events", "recs_final", "similar_tracks", "catalog")
        }
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.synthetic_warehouse",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", type=Path, required=True, help="new build file")
    parser.add_argument("--publish", type=Path, help="symlink to point at it (atomic swap)")
    parser.add_argument("--users", type=int, default=40_000)
    parser.add_argument("--tracks", type=int, default=30_000)
    parser.add_argument("--listens", type=int, default=6_000_000)
    parser.add_argument("--n-recs", type=int, default=50)
    parser.add_argument("--n-similar", type=int, default=20)
    parser.add_argument(
        "--unordered-events",
        action="store_true",
        help="leave events in hash order (to measure the cost of scans)",
    )
    args = parser.parse_args(argv)
    counts = write_bench_warehouse(
        args.out,
        args.users,
        args.tracks,
        args.listens,
        args.n_recs,
        args.n_similar,
        not args.unordered_events,
    )
    print(counts)
    if args.publish:
        publish(args.out, Settings(_env_file=None, warehouse_path=args.publish, keep_builds=100))
        print(f"published {args.publish} -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
