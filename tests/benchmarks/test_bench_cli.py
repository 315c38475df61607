"""``python -m benchmarks.real.bench`` on the session's tiny build (RecTools not installed here)."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from benchmarks.real import bench

pytestmark = pytest.mark.slow

MODELS = ["ours: popularity", "ours: ALS", "ours: final", "EASE", "item-kNN cosine", "item-kNN BM25", "recency popularity"]


@pytest.fixture(scope="module")
def report(tiny_build, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench_real")
    missing = out / "no-peer-venv" / "bin" / "python"
    bench.main(["--db", str(tiny_build.db_path), "--dataset", "tiny", "--out", str(out), "--peers-python", str(missing),
                "--artifacts-dir", str(tiny_build.settings.artifacts_dir), "--resamples", "200"])
    return out


def test_writes_one_table_per_dataset_with_every_model_segment_and_metric(report):
    frame = pd.read_csv(report / "tiny.csv")
    assert list(frame["model"].unique()) == MODELS
    assert set(frame["segment"]) == {"all", "warm"}
    for k in (5, 10):
        for m in ("ndcg", "recall", "precision", "hit_rate"):
            assert frame[f"{m}@{k}"].between(0, 1).all()
    md = (report / "tiny.md").read_text()
    for heading in ("## All test users", "## Warm test users", "best other model", "## Time per model", "## Checks"):
        assert heading in md
    assert "RecTools models skipped" in md and "no-peer-venv" in md


def test_our_rows_equal_the_builds_eval_metrics(report, tiny_build):
    frame = pd.read_csv(report / "tiny.csv").set_index(["model", "segment"])
    with duckdb.connect(str(tiny_build.db_path), read_only=True) as con:
        stored = con.execute("SELECT model, segment, k, metric, value FROM eval_metrics").df()
    for ours, theirs in (("ours: popularity", "popularity"), ("ours: ALS", "als"), ("ours: final", "reranked")):
        for segment in ("all", "warm"):
            for k in (5, 10):
                for m in ("ndcg", "recall", "precision", "hit_rate"):
                    want = stored[(stored.model == theirs) & (stored.segment == segment) & (stored.k == k)
                                  & (stored.metric == m)]["value"].item()
                    assert frame.loc[(ours, segment), f"{m}@{k}"] == pytest.approx(want, abs=1e-6)


def test_bootstrap_row_names_the_best_other_model(report):
    frame = pd.read_csv(report / "tiny.csv")
    md = (report / "tiny.md").read_text()
    for segment in ("all", "warm"):
        f = frame[(frame.segment == segment) & (frame.model != "ours: final")]
        best = f.sort_values(["ndcg@5", "model"], ascending=[False, True]).iloc[0]["model"]
        assert f"| {segment} | {best} |" in md


def test_require_peers_fails_without_the_peer_venv(tiny_build, tmp_path):
    with pytest.raises(SystemExit) as e:
        bench.main(["--db", str(tiny_build.db_path), "--dataset", "x", "--out", str(tmp_path),
                    "--peers-python", str(tmp_path / "none" / "python"), "--require-peers"])
    assert "peers_venv" in str(e.value)
    assert not (tmp_path / "x.md").exists()
