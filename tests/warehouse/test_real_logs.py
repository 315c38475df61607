"""A converted public log builds without failing or silently distorting (messy_raw.py):
contract breaks are counted in data_quality, coarse dates split on month boundaries by
quantile, the track_seq cut reads and drops the train window only, and tracks without
artists are never merged or grouped."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from orchestration.dbt_runner import run_dbt
from tests.warehouse import messy_raw as mr


def rows(con, sql: str, params: list | None = None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


def _closest(dates_counts: list[tuple[date, int]], q: float, allowed) -> date:
    """The allowed date whose share of listens on or before it is closest to q (ties: later)."""
    total = sum(n for _, n in dates_counts)
    through, best = 0, None
    for day, n in sorted(dates_counts):
        through += n
        if allowed(day):
            key = (abs(through - q * total), -day.toordinal())
            if best is None or key < best[0]:
                best = (key, day)
    assert best is not None
    return best[1]


def _per_date(listens) -> list[tuple[date, int]]:
    counts: dict[date, int] = {}
    for r in listens:
        counts[r[3]] = counts.get(r[3], 0) + 1
    return sorted(counts.items())


def test_data_quality_counts_every_broken_row(messy_con) -> None:
    got = {(r[1], r[0]): r[2] for r in rows(
        messy_con, "SELECT check_name, source_file, n_rows, action FROM data_quality")}
    assert got == mr.EXPECTED_DQ
    assert all(r[0] for r in rows(messy_con, "SELECT action FROM data_quality"))


def test_monthly_log_splits_by_quantile_on_month_dates(messy_con) -> None:
    split_date, label_start, min_date, max_date, threshold = rows(
        messy_con, "SELECT * FROM split_info")[0]
    usable = mr.usable_rows()
    per_date = _per_date(usable)
    expected_split = _closest(per_date, mr.SPLIT_QUANTILE,
                              lambda d: per_date[0][0] < d < per_date[-1][0])
    kept_train = [r for r in usable if r[3] <= split_date and (r[2] is None or r[2] <= threshold)]
    train_dates = _per_date(kept_train)
    expected_label = _closest(train_dates, mr.SPLIT_QUANTILE, lambda d: d < train_dates[-1][0])
    assert (split_date, label_start) == (expected_split, expected_label)
    assert (split_date, label_start) == (date(2000, 5, 1), date(2000, 4, 1)), \
        "24 of 30 listens on or before May 1 (25) is the closest; 19.2 of 24 train: April (20)"
    assert (min_date, max_date) == (date(2000, 1, 1), date(2000, 6, 1))
    for table in ("events_fit", "events_labels", "events_test"):
        assert rows(messy_con, f"SELECT count(*) FROM {table}")[0][0] > 0, table


def test_the_cut_reads_and_drops_the_train_window_only(messy_con) -> None:
    split_date, threshold = rows(messy_con, "SELECT split_date, track_seq_threshold FROM split_info")[0]
    usable = mr.usable_rows()
    train_seqs = np.array([r[2] for r in usable if r[3] <= split_date and r[2] is not None])
    assert threshold == np.quantile(train_seqs, 0.95, method="inverted_cdf")
    deep_test = [r for r in usable if r[3] > split_date and r[2] is not None and r[2] > threshold]
    assert {r[0] for r in deep_test} == {mr.HEAVY_USER}, "the heavy user's June listens are deep"
    test = {(r[0], r[1]) for r in rows(messy_con, "SELECT user_id, track_id FROM events_test")}
    train = {(r[0], r[1]) for r in rows(messy_con, "SELECT user_id, track_id FROM events_train")}
    for user, track, _, _ in deep_test:
        assert (user, track) in test or (user, track) in train, "a test listen was cut"
    # every usable test listen reaches the events; the cut removed train listens only
    later = rows(messy_con, "SELECT sum(listen_count - train_listen_count) FROM int_events_aggregated")[0][0]
    assert later == sum(1 for r in usable if r[3] > split_date)
    kept = rows(messy_con, "SELECT count(*) FROM int_listens_unioned WHERE listen_source = 'log'")[0][0]
    cut = [r for r in usable if r[3] <= split_date and r[2] is not None and r[2] > threshold]
    assert cut and kept == len(usable) - len(cut)
    test_users = {r[0] for r in rows(messy_con, "SELECT DISTINCT user_id FROM events_test")}
    assert test_users == {u for u, t in
                          {(r[0], r[1]) for r in usable if r[3] > split_date} - train}


def test_tracks_without_artists_are_never_merged_or_grouped(messy_con) -> None:
    got = dict((r[0], (r[1], r[2])) for r in rows(messy_con, """
        SELECT m.raw_id, m.canonical_id, i.track_group_id
        FROM map_tracks m JOIN items i ON i.track_id = m.canonical_id"""))
    assert set(got) == set(mr.MOVIES)
    for track, (canonical, group) in got.items():
        assert canonical == track and group == track, (track, canonical, group)
    assert rows(messy_con, "SELECT count(*) FROM items WHERE artist_ids <> []")[0][0] == 0
    names = dict(rows(messy_con, "SELECT track_id, track_name FROM catalog"))
    assert names[2001] == names[2003] == "Hamlet (1990)", "same title and year, still two movies"
    assert names[2005] is None and names[2006] is None, "null and blank names: kept unnamed"
    assert rows(messy_con, "SELECT genre_ids FROM items WHERE track_id = 2008") == [([22],)]


def _run_dirs(root: Path) -> dict[str, str]:
    return {"DBT_TARGET_PATH": str(root / "dbt_target"), "DBT_LOG_PATH": str(root / "dbt_logs")}


def test_day_windows_on_a_monthly_log_stop_naming_the_setting(messy, tmp_path) -> None:
    """label_days 14 on a log dated on the 1st of each month leaves no label listen: the
    build stops naming label_days and the quantile setting instead of training on nothing."""
    with pytest.raises(RuntimeError, match=r"int_split_dates_computed(.|\n)*label_days(.|\n)*"
                                           r"MUSIC_RECS_SPLIT_QUANTILE"):
        run_dbt(["run", "--select", "+int_split_dates_computed"], tmp_path / "days.duckdb",
                {"raw_uri": str(messy["raw"]), "split_quantile": None}, env=_run_dirs(tmp_path))


def test_split_quantile_without_room_stops_naming_it(messy, tmp_path) -> None:
    """Two listen dates cannot give fit, label and test windows a listen each."""
    raw = tmp_path / "raw"
    raw.mkdir()
    for name in ("tracks", "catalog_names"):
        (raw / f"{name}.parquet").symlink_to(messy["raw"] / f"{name}.parquet")
    pq.write_table(pa.table({
        "user_id": pa.array([1, 1, 2], pa.int32()),
        "track_id": pa.array([2001, 2002, 2001], pa.int32()),
        "track_seq": pa.array([1, 2, 1], pa.int16()),
        "started_at": pa.array([datetime(2000, 1, 1), datetime(2000, 2, 1), datetime(2000, 2, 1)],
                               pa.timestamp("ns")),
    }), raw / "interactions.parquet")
    with pytest.raises(RuntimeError, match=r"split_quantile \(MUSIC_RECS_SPLIT_QUANTILE\) = 0.9"
                                           r"(.|\n)*2 listen date"):
        run_dbt(["run", "--select", "+int_split_dates_computed"], tmp_path / "q.duckdb",
                {"raw_uri": str(raw), "split_quantile": 0.9}, env=_run_dirs(tmp_path))
