"""Serving lists written beside a build and memory-mapped by the services."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pytest

from music_recs import serving_arrays as sa
from music_recs.warehouse import SERVED_TABLES, new_build_path, prune, publish
from services.lookups import load_heard, load_recs_final
from tests.conftest import make_settings

RECS = [  # user, track, score, rank: stored with users interleaved to test the fallback
    (3, 30, 0.9, 1),
    (3, 31, 0.8, 2),
    (7, 70, 0.5, 1),
    (7, 71, 0.4, 2),
    (7, 72, 0.3, 3),
    (9, 90, 0.1, 1),
]


def _lists(arrays: sa.KeyedArrays) -> dict[int, list[tuple[int, float | None]]]:
    out = {}
    for i, key in enumerate(arrays.keys.tolist()):
        lo, hi = int(arrays.offsets[i]), int(arrays.offsets[i + 1])
        scores = arrays.scores[lo:hi].tolist() if arrays.scores is not None else [None] * (hi - lo)
        out[key] = list(zip(arrays.values[lo:hi].tolist(), scores))
    return out


def _db(tmp_path: Path, rows: list[tuple[int, int, float, int]]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp_path / "b.duckdb"))
    con.execute("CREATE TABLE recs_final (user_id INTEGER, track_id BIGINT, score DOUBLE, rank INTEGER)")
    con.executemany("INSERT INTO recs_final VALUES (?, ?, ?, ?)", rows)
    return con


SQL = "SELECT user_id AS key, track_id AS value, score, rank FROM recs_final"
ORDERED = SQL + " ORDER BY user_id, rank"
EXPECTED = {3: [(30, 0.9), (31, 0.8)], 7: [(70, 0.5), (71, 0.4), (72, 0.3)], 9: [(90, 0.1)]}


def test_write_in_stored_order_then_map(tmp_path: Path) -> None:
    con = _db(tmp_path, RECS)
    assert sa.write(con, SQL, tmp_path / "recs", with_scores=True) == len(RECS)
    arrays = sa.open_lists(tmp_path / "recs")
    assert isinstance(arrays.values, np.memmap) and arrays.values.dtype == np.int32
    assert _lists(arrays) == EXPECTED


def test_unordered_rows_are_read_through_the_ordered_query(tmp_path: Path) -> None:
    shuffled = [RECS[i] for i in (2, 0, 5, 4, 1, 3)]  # users and ranks out of order
    con = _db(tmp_path, shuffled)
    with pytest.raises(ValueError, match="not ordered by key"):
        sa.write(con, SQL, tmp_path / "recs", with_scores=True)
    assert sa.open_lists(tmp_path / "recs") is None  # nothing half-written is mapped
    assert sa.write(con, SQL, tmp_path / "recs", with_scores=True, order_sql=ORDERED) == len(RECS)
    assert _lists(sa.open_lists(tmp_path / "recs")) == EXPECTED


def test_ranks_out_of_order_within_a_user_are_caught(tmp_path: Path) -> None:
    swapped = [RECS[1], RECS[0], *RECS[2:]]  # user 3's rank 2 stored before rank 1
    con = _db(tmp_path, swapped)
    sa.write(con, SQL, tmp_path / "recs", with_scores=True, order_sql=ORDERED)
    assert _lists(sa.open_lists(tmp_path / "recs")) == EXPECTED


def test_large_ids_keep_64_bits_and_batches_join(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(sa, "BATCH_ROWS", 2)  # a user's list split across batches
    rows = [(1, 2**40 + i, 1.0 / (i + 1), i + 1) for i in range(5)] + [(2, 5, 0.5, 1)]
    con = _db(tmp_path, rows)
    sa.write(con, SQL, tmp_path / "recs", with_scores=True)
    arrays = sa.open_lists(tmp_path / "recs")
    assert arrays.values.dtype == np.int64
    assert [t for t, _ in _lists(arrays)[1]] == [2**40 + i for i in range(5)]
    assert arrays.offsets.tolist() == [0, 5, 6]


def test_a_list_that_disagrees_with_its_meta_is_refused(tmp_path: Path) -> None:
    con = _db(tmp_path, RECS)
    sa.write(con, SQL, tmp_path / "recs", with_scores=True)
    np.save(tmp_path / "recs" / "keys.npy", np.array([3, 7], np.int64))
    with pytest.raises(ValueError, match="does not match its meta.json"):
        sa.open_lists(tmp_path / "recs")


def _served_build(settings, rows) -> Path:
    path = new_build_path(settings)
    con = duckdb.connect(str(path))
    for table in SERVED_TABLES:
        if table not in ("recs_final", "events"):
            con.execute(f"CREATE TABLE {table} (x INTEGER)")
    con.execute("CREATE TABLE recs_final (user_id INTEGER, track_id BIGINT, score DOUBLE, rank INTEGER)")
    con.executemany("INSERT INTO recs_final VALUES (?, ?, ?, ?)", rows)
    con.execute("CREATE TABLE events AS SELECT user_id, track_id FROM recs_final ORDER BY user_id")
    con.close()
    return path


def test_services_map_the_lists_and_fall_back_without_them(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "unused", keep_builds=1)
    build = _served_build(settings, RECS)
    con = duckdb.connect(str(build), read_only=True)
    assert load_recs_final(0)(con) is None  # no lists, too large to load: DuckDB queries
    assert load_recs_final(100)(con).get(7, limit=2) == [(70, 0.5), (71, 0.4)]
    con.close()

    con = duckdb.connect(str(build))
    sa.write(con, SQL, sa.serving_dir(build) / "recs_final", with_scores=True, order_sql=ORDERED)
    sa.write(
        con,
        "SELECT user_id AS key, track_id AS value FROM events",
        sa.serving_dir(build) / "heard",
        with_scores=False,
    )
    con.close()
    con = duckdb.connect(str(build), read_only=True)
    recs = load_recs_final(0)(con)  # mapped whatever serving_memory_rows says
    assert isinstance(recs.values, np.memmap)
    assert recs.get(7, limit=2) == [(70, 0.5), (71, 0.4)] and recs.get(4) == []
    assert set(load_heard(0)(con).values_of(3)) == {30, 31}
    con.close()


def test_prune_removes_the_lists_and_artifacts_of_deleted_builds(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "unused", keep_builds=1)
    old = _served_build(settings, RECS)
    sa.serving_dir(old).mkdir()
    (sa.serving_dir(old) / "marker").write_text("x")
    (Path(settings.artifacts_dir) / old.stem).mkdir(parents=True)
    (Path(settings.artifacts_dir) / old.stem / "als.npz").write_text("x")
    publish(old, settings)
    new = _served_build(settings, RECS)
    sa.serving_dir(new).mkdir()
    (Path(settings.artifacts_dir) / new.stem).mkdir(parents=True)
    publish(new, settings)  # prunes the old build, its lists and its artifacts
    assert not old.exists() and not sa.serving_dir(old).exists()
    assert not (Path(settings.artifacts_dir) / old.stem).exists()
    assert sa.serving_dir(new).is_dir() and (Path(settings.artifacts_dir) / new.stem).is_dir()
    assert prune(settings) == []
