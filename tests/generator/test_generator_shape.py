"""Shape of the data: documented ranges (music_recs.generator.ranges) and messy-but-consistent names."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq

from music_recs.generator.names import normalize
from music_recs.generator.ranges import check


def _recount(raw: Path) -> dict:
    """Statistics recomputed from the files with SQL, independently of the generator's counters."""
    con = duckdb.connect()
    log = f"read_parquet('{raw / 'interactions.parquet'}')"
    n, n_pairs, bad_seq = con.execute(f"""
        SELECT count(*), count(DISTINCT (user_id, track_id)),
               count(*) FILTER (WHERE track_seq <> rn)
        FROM (SELECT *, row_number() OVER (PARTITION BY user_id ORDER BY started_at, track_seq) AS rn FROM {log})
    """).fetchone()
    per_user = con.execute(
        f"SELECT median(c), avg(c), max(c) FROM (SELECT count(*) c FROM {log} GROUP BY user_id)"
    ).fetchone()
    per_track = con.execute(
        f"SELECT min(c), median(c), max(c) FROM (SELECT count(*) c FROM {log} GROUP BY track_id)"
    ).fetchone()
    months = con.execute(f"""SELECT month(started_at) m, count(*), count(DISTINCT user_id) FROM {log}
                             GROUP BY m ORDER BY m""").fetchall()
    return {
        "n": n,
        "pairs": n_pairs,
        "bad_seq": bad_seq,
        "user": per_user,
        "track": per_track,
        "months": months,
    }


def _assert_summary_matches_files(raw: Path, summary: dict) -> None:
    r = _recount(raw)
    assert r["n"] == r["pairs"] == summary["n_listens"]
    assert r["bad_seq"] == 0
    assert r["user"][0] == summary["listens_per_user"]["median"]
    assert r["user"][2] == summary["listens_per_user"]["max"]
    assert (r["track"][0], r["track"][1], r["track"][2]) == (
        summary["listens_per_track"]["min"],
        summary["listens_per_track"]["median"],
        summary["listens_per_track"]["max"],
    )
    assert [m[1] for m in r["months"]] == summary["monthly_listens"]
    assert [m[2] for m in r["months"]] == summary["monthly_active_users"]


def test_tiny_in_documented_ranges(tiny_raw_dir: Path) -> None:
    summary = json.loads((tiny_raw_dir / "_truth" / "summary.json").read_text())
    assert check(summary, "tiny") == []
    _assert_summary_matches_files(tiny_raw_dir, summary)


def test_demo_in_documented_ranges(demo_generated: tuple[Path, dict]) -> None:
    raw, summary = demo_generated
    assert check(summary, "demo") == []
    _assert_summary_matches_files(raw, summary)


def test_range_check_reports_violations(tiny_raw_dir: Path) -> None:
    summary = json.loads((tiny_raw_dir / "_truth" / "summary.json").read_text())
    summary["n_listens"] = 10
    problems = check(summary, "tiny")
    assert len(problems) == 1 and "n_listens = 10 outside" in problems[0]


def _base_key(name: str) -> str:
    """Reference de-decoration (written independently of the generator): brackets, feat, ' - ' suffix."""
    s = re.sub(r"\s*[\(\[][^\)\]]*[\)\]]", " ", name)
    s = re.sub(r"\s+(feat\.?|ft\.|featuring)\s.*$", " ", s, flags=re.IGNORECASE)
    s = re.sub(r"\s+-\s+.*$", " ", s)
    return normalize(s)


def test_names_are_messy_but_truth_is_recoverable(tiny_raw_dir: Path) -> None:
    names = pq.read_table(tiny_raw_dir / "catalog_names.parquet").to_pandas()
    truth = tiny_raw_dir / "_truth"
    aliases = pq.read_table(truth / "artist_aliases.parquet").to_pandas()
    versions = pq.read_table(truth / "track_versions.parquet").to_pandas()
    tracks = pq.read_table(tiny_raw_dir / "tracks.parquet").to_pandas()

    text = "\n".join(names.name)
    for pattern in (
        r"[éèêëáàâäãåíìîïóòôöõúùûüñçýÿ]",
        r"[а-яА-Я]",
        r"feat\.|ft\.|featuring",
        r"\(|\[",
        r"(?i)remix|live|acoustic|remaster",
        r"  |^ | $",
    ):
        assert re.search(pattern, text, flags=re.MULTILINE), pattern

    # artist ids of one true artist share a normalized name; different true artists never do
    artist_name = names[names.type == "artist"].set_index("id").name
    aliases["key"] = aliases.artist_id.map(artist_name).map(normalize)
    per_true = aliases.groupby("true_artist_id").key.nunique()
    assert (per_true == 1).all()
    assert aliases.groupby("key").true_artist_id.nunique().max() == 1
    assert (aliases.groupby("true_artist_id").size() > 1).sum() >= 3  # some artists really have aliases

    # every version has the original's base name and the same true primary artist;
    # distinct originals of one artist never share a base name
    track_name = names[names.type == "track"].set_index("id").name
    true_of = dict(zip(aliases.artist_id, aliases.true_artist_id))
    primary = {t: (int(a[0]) if len(a) else None) for t, a in zip(tracks.track_id, tracks.artists)}
    versions["key"] = versions.track_id.map(track_name).map(_base_key)
    versions["artist"] = versions.track_id.map(lambda t: true_of.get(primary[t]))
    by_id = versions.set_index("track_id")
    dup = versions[versions.version_type != "original"]
    assert len(dup) > 0
    assert (dup.key.to_numpy() == by_id.loc[dup.original_track_id, "key"].to_numpy()).all()
    assert (dup.artist.to_numpy() == by_id.loc[dup.original_track_id, "artist"].to_numpy()).all()
    originals = versions[(versions.version_type == "original") & versions.artist.notna()]
    assert not originals.duplicated(["artist", "key"]).any()
    assert np.isin(dup.version_type.unique(), ["single", "remix", "live", "cover"]).all()
