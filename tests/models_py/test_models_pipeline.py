"""The model steps on the real tiny build: table contracts, report, export, CLI, no leakage."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

import models_py
from models_py.evaluate import KS, MODELS
from models_py.metrics import ACCURACY_METRICS
from music_recs.tables import TRAINED_TABLES, Tables

REPO = Path(__file__).resolve().parents[2]

CONTRACT = {
    "recs_popular": [("rank", "INTEGER"), ("track_id", "BIGINT"), ("score", "DOUBLE")],
    "recs_popular_genre": [
        ("genre_id", "BIGINT"),
        ("rank", "INTEGER"),
        ("track_id", "BIGINT"),
        ("score", "DOUBLE"),
    ],
    "recs_als": [("user_id", "INTEGER"), ("track_id", "BIGINT"), ("score", "DOUBLE"), ("rank", "INTEGER")],
    "similar_tracks": [
        ("track_id", "BIGINT"),
        ("similar_track_id", "BIGINT"),
        ("score", "DOUBLE"),
        ("rank", "INTEGER"),
    ],
    "recs_final": [("user_id", "INTEGER"), ("track_id", "BIGINT"), ("score", "DOUBLE"), ("rank", "INTEGER")],
    "eval_metrics": [
        ("model", "VARCHAR"),
        ("segment", "VARCHAR"),
        ("k", "INTEGER"),
        ("metric", "VARCHAR"),
        ("value", "DOUBLE"),
    ],
    "feature_importance": [("feature", "VARCHAR"), ("importance", "DOUBLE")],
}


@pytest.fixture(scope="module")
def ro(tiny_build):
    con = duckdb.connect(str(tiny_build.db_path), read_only=True)
    yield con
    con.close()


def q(con, sql, *params):
    return con.execute(sql, list(params)).fetchall()


def test_tables_follow_the_contract(ro):
    for table, columns in CONTRACT.items():
        got = [(r[0], r[1]) for r in q(ro, f"DESCRIBE {table}")]
        assert got == columns, table
        assert q(ro, f"SELECT COUNT(*) FROM {table}")[0][0] > 0, table


@pytest.mark.parametrize("table, limit", [("recs_als", "n_candidates"), ("recs_final", "n_recs")])
def test_user_lists_are_ranked_unique_and_cover_every_user(ro, tiny_build, table, limit):
    n = tiny_build.settings.value_of(limit)
    stats = q(
        ro,
        f"""SELECT COUNT(*), MIN(rank), MAX(rank), COUNT(DISTINCT track_id),
                             bool_and(rank_ok) FROM (
                        SELECT user_id, track_id, rank,
                               score <= lag(score, 1, 'inf'::DOUBLE) OVER (PARTITION BY user_id ORDER BY rank) AS rank_ok
                        FROM {table}) GROUP BY user_id""",
    )
    assert all(c == d == mx and mn == 1 and mx <= n and ok for c, mn, mx, d, ok in stats)
    n_users = q(ro, "SELECT COUNT(*) FROM user_index")[0][0]
    assert len(stats) == n_users  # every user with history has a list
    heard = q(ro, f"SELECT COUNT(*) FROM {table} r SEMI JOIN events_train e USING (user_id, track_id)")[0][0]
    assert heard == 0


def test_popularity_lists_come_from_train_only_and_are_ranked(ro, tiny_build):
    n = tiny_build.settings.models.n_popular
    ranks = [r[0] for r in q(ro, "SELECT rank FROM recs_popular ORDER BY rank")]
    assert ranks == list(range(1, min(n, len(ranks)) + 1))
    assert q(ro, "SELECT COUNT(*) FROM recs_popular ANTI JOIN events_train USING (track_id)")[0][0] == 0
    per_genre = q(
        ro, "SELECT MAX(rank), COUNT(*), COUNT(DISTINCT track_id) FROM recs_popular_genre GROUP BY genre_id"
    )
    assert all(mx == c == d <= n for mx, c, d in per_genre)
    wrong_genre = q(
        ro, "SELECT COUNT(*) FROM recs_popular_genre ANTI JOIN item_genres USING (genre_id, track_id)"
    )
    assert wrong_genre[0][0] == 0


def test_similar_tracks(ro, tiny_build):
    assert q(ro, "SELECT COUNT(*) FROM similar_tracks WHERE track_id = similar_track_id")[0][0] == 0
    assert q(ro, "SELECT COUNT(*) FROM similar_tracks WHERE score > 1.0001 OR score < -1.0001")[0][0] == 0
    assert q(ro, "SELECT COUNT(*) FROM similar_tracks ANTI JOIN track_index USING (track_id)")[0][0] == 0
    lists = q(
        ro,
        "SELECT COUNT(*), MAX(rank), COUNT(DISTINCT similar_track_id) FROM similar_tracks GROUP BY track_id",
    )
    assert all(c == mx == d <= tiny_build.settings.models.n_similar for c, mx, d in lists)
    assert len(lists) == q(ro, "SELECT COUNT(*) FROM track_index")[0][0]


def test_eval_metrics_cover_every_model_segment_k_and_metric(ro, tiny_build):
    frame = ro.execute("SELECT * FROM eval_metrics").df()
    metrics = set(ACCURACY_METRICS) | {
        "novelty",
        "diversity_genre",
        "diversity_artist",
        "coverage",
        "n_users",
    }
    assert set(frame["model"]) == set(MODELS)  # tiny data has _truth/: the oracle is there
    segments = {"all", "warm"} | (
        {"cold"}
        if q(ro, "SELECT COUNT(*) FROM events_test ANTI JOIN user_index USING (user_id)")[0][0]
        else set()
    )
    for (model, segment, k), group in frame.groupby(["model", "segment", "k"]):
        extra = {"ndcg_oracle_share"} if segment == "all" else set()
        assert set(group["metric"]) == metrics | extra, (model, segment, k)
    shares = frame[frame["metric"] == "ndcg_oracle_share"].set_index(["model", "k"])["value"]
    assert (shares.xs("oracle", level="model") == 1.0).all()
    assert set(frame["segment"]) == segments and set(frame["k"]) == set(KS)
    bounded = frame[~frame["metric"].isin(["novelty", "n_users", "ndcg_oracle_share"])]
    assert bounded["value"].between(0, 1).all()
    assert (frame[frame["metric"] == "novelty"]["value"] > 0).all()
    # cold users get the same popularity fallback in every model except the oracle
    cold = frame[(frame["segment"] == "cold") & (frame["model"] != "oracle")]
    if len(cold):
        assert cold.groupby(["k", "metric"])["value"].nunique().max() == 1
    report = Path(tiny_build.settings.reports_dir) / "report.md"
    text = report.read_text()
    for model in MODELS:
        assert f"| {model} |" in text
    assert "share of the oracle" in text and "heard in train are never recommended" in text
    for png in ("model_comparison.png", "feature_importance.png"):
        assert (Path(tiny_build.settings.reports_dir) / png).stat().st_size > 1000


def test_export_writes_every_recommendation_table(ro, tiny_build):
    out = Path(tiny_build.settings.export_uri)
    for table in ("recs_popular", "recs_popular_genre", "recs_als", "similar_tracks", "recs_final"):
        path = out / f"{table}.parquet"
        assert q(ro, f"SELECT COUNT(*) FROM read_parquet('{path}')") == q(ro, f"SELECT COUNT(*) FROM {table}")


def test_cli_runs_one_step_and_rejects_a_missing_file(tiny_build, tmp_path):
    db = tmp_path / "copy.duckdb"
    shutil.copy(tiny_build.db_path, db)
    env = {
        **os.environ,
        "MUSIC_RECS_EXPORT_URI": str(tmp_path / "exp"),
        "MUSIC_RECS_LOGS_DIR": str(tmp_path / "logs"),
        "MUSIC_RECS_ARTIFACTS_DIR": str(tiny_build.settings.artifacts_dir),
        "OPENBLAS_NUM_THREADS": "1",
    }
    done = subprocess.run(
        [sys.executable, "-m", "models_py", "export", "--db", str(db)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "exp" / "recs_final.parquet").is_file()
    bad = subprocess.run(
        [sys.executable, "-m", "models_py", "als", "--db", str(tmp_path / "none.duckdb")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "file not found" in bad.stderr


# ---------- no statistic reads the test window; same seed -> same outputs ------------------
TRAIN_STEPS = ["popularity", "als", "similar", "ranker"]


def _tables(db: Path) -> dict[str, pd.DataFrame]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").df() for t in TRAINED_TABLES}
    finally:
        con.close()


def _catboost_trees(path: Path) -> dict:
    """The model's trees, borders and leaf values (its file also holds a guid and a timestamp)."""
    from catboost import CatBoost

    model = CatBoost()
    model.load_model(str(path))
    dumped = path.with_name(path.name + ".dump.json")
    model.save_model(str(dumped), format="json")
    content = json.loads(dumped.read_text())
    dumped.unlink()
    content.pop("model_info", None)
    return content


def _artifacts(folder: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    for path in sorted(folder.iterdir()):  # listed before any dump file is written
        if path.suffix == ".npz":
            with np.load(path) as z:
                out.update({f"{path.name}:{k}": z[k] for k in z.files})
        elif path.suffix == ".cbm":
            out[path.name] = _catboost_trees(path)
        else:
            out[path.name] = path.read_bytes()
    return out


def _mutate_test_window(db: Path) -> int:
    """Drop half of the test window and make one obscure track the top hit of the test window."""
    con = duckdb.connect(str(db))
    try:
        split = con.execute("SELECT split_date FROM split_info").fetchone()[0]
        track = con.execute(
            "SELECT track_id FROM events_train GROUP BY 1 ORDER BY COUNT(*), track_id LIMIT 1"
        ).fetchone()[0]
        # events is a view of int_events_aggregated: test-only pairs have no train/fit listens
        for table in ("int_events_aggregated", "events_test"):
            windows = ", 0 AS train_listen_count, 0 AS fit_listen_count" if table.startswith("int_") else ""
            con.execute(
                f"DELETE FROM {table} WHERE first_listen > ? AND hash(user_id, track_id) % 2 = 0", [split]
            )
            con.execute(
                f"""INSERT INTO {table} BY NAME
                SELECT u.user_id, ?::BIGINT AS track_id, 1 AS listen_count,
                       (?::DATE + 1) AS first_listen, (?::DATE + 1) AS last_listen{windows}
                FROM user_index u ANTI JOIN events_train e ON e.user_id = u.user_id AND e.track_id = ?""",
                [track, split, split, track],
            )
        assert (
            con.execute(
                "SELECT count(*) FROM events WHERE track_id = ? AND first_listen > ?", [track, split]
            ).fetchone()[0]
            > 0
        )
        top = con.execute(
            "SELECT track_id FROM events_test GROUP BY 1 ORDER BY COUNT(*) DESC LIMIT 1"
        ).fetchone()[0]
        assert top == track  # anything reading the test window now sees this track as the hit
        return int(track)
    finally:
        con.close()


def test_trained_outputs_ignore_the_test_window_and_are_deterministic(tiny_build, tmp_path):
    outputs = {}
    for name in ("original", "mutated"):
        db = tmp_path / name / f"{tiny_build.db_path.stem}.duckdb"
        db.parent.mkdir()
        shutil.copy(tiny_build.db_path, db)
        if name == "mutated":
            injected = _mutate_test_window(db)
        settings = tiny_build.settings.updated(
            artifacts_dir=tmp_path / name / "artifacts",
            reports_dir=tmp_path / name / "reports",
            ranker_iterations=40,
            als_iterations=6,
        )
        models_py.run_all(db, settings, steps=TRAIN_STEPS)
        outputs[name] = (_tables(db), _artifacts(Path(settings.artifacts_dir) / db.stem))
    (tables_a, art_a), (tables_b, art_b) = outputs["original"], outputs["mutated"]
    for table in TRAINED_TABLES:
        pd.testing.assert_frame_equal(tables_a[table], tables_b[table], check_exact=True, obj=table)
    assert art_a.keys() == art_b.keys() and {"als.npz:item_factors", "ranker.cbm"} <= art_a.keys()
    for key, value in art_a.items():
        if isinstance(value, np.ndarray):
            assert np.array_equal(value, art_b[key]), key
        else:
            assert value == art_b[key], key
    assert injected not in set(tables_b[Tables.RecsPopular]["track_id"].head(5))
