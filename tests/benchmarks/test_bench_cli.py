"""``python -m benchmarks.real.bench`` on the session's tiny build (RecTools not installed here)."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from benchmarks.real import bench

pytestmark = pytest.mark.slow

MODELS = [
    "ours: popularity",
    "ours: ALS",
    "ours: final",
    "EASE",
    "item-kNN cosine",
    "item-kNN BM25",
    "recency popularity",
]


@pytest.fixture(scope="module")
def report(tiny_build, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench_real")
    missing = out / "no-peer-venv" / "bin" / "python"
    bench.main(
        [
            "--db",
            str(tiny_build.db_path),
            "--dataset",
            "tiny",
            "--out",
            str(out),
            "--peers-python",
            str(missing),
            "--artifacts-dir",
            str(tiny_build.settings.artifacts_dir),
            "--resamples",
            "200",
        ]
    )
    return out


def test_writes_one_table_per_dataset_with_every_model_segment_and_metric(report):
    frame = pd.read_csv(report / "tiny.csv")
    assert list(frame["model"].unique()) == MODELS
    assert set(frame["segment"]) == {"all", "warm"}
    for k in (5, 10):
        for m in ("ndcg", "recall", "precision", "hit_rate"):
            assert frame[f"{m}@{k}"].between(0, 1).all()
    md = (report / "tiny.md").read_text()
    for heading in (
        "## All test users",
        "## Warm test users",
        "best other model",
        "## Time per model",
        "## Checks",
    ):
        assert heading in md
    assert "RecTools models skipped" in md and "no-peer-venv" in md


def test_our_rows_equal_the_builds_eval_metrics(report, tiny_build):
    frame = pd.read_csv(report / "tiny.csv").set_index(["model", "segment"])
    with duckdb.connect(str(tiny_build.db_path), read_only=True) as con:
        stored = con.execute("SELECT model, segment, k, metric, value FROM eval_metrics").df()
    for ours, theirs in (
        ("ours: popularity", "popularity"),
        ("ours: ALS", "als"),
        ("ours: final", "reranked"),
    ):
        for segment in ("all", "warm"):
            for k in (5, 10):
                for m in ("ndcg", "recall", "precision", "hit_rate"):
                    want = stored[
                        (stored.model == theirs)
                        & (stored.segment == segment)
                        & (stored.k == k)
                        & (stored.metric == m)
                    ]["value"].item()
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
        bench.main(
            [
                "--db",
                str(tiny_build.db_path),
                "--dataset",
                "x",
                "--out",
                str(tmp_path),
                "--peers-python",
                str(tmp_path / "none" / "python"),
                "--require-peers",
            ]
        )
    assert "peers_venv" in str(e.value)
    assert not (tmp_path / "x.md").exists()


FAKE_PEERS = """
import sys
import numpy as np
import pandas as pd
from benchmarks.real import peers_io as io

folder = sys.argv[1]
train, users, cfg = io.read_inputs(folder)
top = train[io.ITEM].value_counts().sort_index().sort_values(ascending=False, kind="stable").index[: cfg["k"]]
rows = [(u, int(t), r + 1) for u in users for r, t in enumerate(top)]  # heard tracks included on purpose
io.write_lists(folder, "RecTools: fake", pd.DataFrame(rows, columns=[io.USER, io.ITEM, io.RANK]))
io.write_json(folder, "timings.json", {"RecTools: fake": 0.5})
io.write_json(folder, "choices.json", {"als": {"chosen": {"factors": 8}}})
"""


def fake_peer_python(tmp_path, exit_code: int = 0):
    """A stand-in for the peer venv's python: answers the version probe, then runs a fake
    peers module (global top-k lists, heard tracks included) with the product python."""
    import sys

    script = tmp_path / "fake_peers.py"
    script.write_text(FAKE_PEERS)
    python = tmp_path / "python"
    python.write_text(f"""#!/bin/bash
if [ "$1" = "-c" ]; then echo 0.0-fake; exit 0; fi
[ {exit_code} = 0 ] || exit {exit_code}
exec {sys.executable} {script} "$4"
""")
    python.chmod(0o755)
    return python


def test_peer_lists_are_scored_like_every_other_model(tiny_build, tmp_path):
    python = fake_peer_python(tmp_path)
    bench.main(
        [
            "--db",
            str(tiny_build.db_path),
            "--dataset",
            "fake",
            "--out",
            str(tmp_path),
            "--peers-python",
            str(python),
            "--artifacts-dir",
            str(tiny_build.settings.artifacts_dir),
            "--resamples",
            "100",
            "--require-peers",
        ]
    )
    frame = pd.read_csv(tmp_path / "fake.csv")
    assert "RecTools: fake" in set(frame["model"])
    fake = frame[frame.model == "RecTools: fake"].set_index("segment")
    # a global top-10 minus heard tracks, completed from popularity: close to our popularity row
    pop = frame[frame.model == "ours: popularity"].set_index("segment")
    assert fake.loc["all", "ndcg@5"] == pytest.approx(pop.loc["all", "ndcg@5"], abs=0.05)
    assert fake.loc["all", "fit_recommend_s"] == 0.5
    md = (tmp_path / "fake.md").read_text()
    assert "RecTools: fake:" in md and "were heard in train and were removed" in md


def test_a_failing_peer_run_is_left_out_unless_required(tiny_build, tmp_path):
    python = fake_peer_python(tmp_path, exit_code=3)
    args = [
        "--db",
        str(tiny_build.db_path),
        "--dataset",
        "failing",
        "--out",
        str(tmp_path),
        "--peers-python",
        str(python),
        "--artifacts-dir",
        str(tiny_build.settings.artifacts_dir),
        "--resamples",
        "50",
    ]
    bench.main(args)
    assert "RecTools models left out" in (tmp_path / "failing.md").read_text()
    with pytest.raises(RuntimeError, match="exit code 3"):
        bench.main(args + ["--require-peers"])
