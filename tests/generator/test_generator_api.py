"""Determinism, the truth oracle and the CLI (real subprocesses, real files)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from music_recs.generator import RAW_FILES, generate
from music_recs.generator.truth import load_truth

REPO = Path(__file__).resolve().parents[2]


def _digest(folder: Path) -> dict[str, str]:
    """Content hash of each raw file's data (parquet bytes may carry writer metadata)."""
    out = {}
    for name in RAW_FILES:
        t = pq.read_table(folder / f"{name}.parquet")
        out[name] = hashlib.sha256(repr(t.to_pydict()).encode()).hexdigest()
    return out


def test_same_seed_same_files_other_seed_differs(tiny_raw_dir: Path, tmp_path: Path) -> None:
    again = generate(tmp_path / "a", scale="tiny", seed=42, progress=False)
    other = generate(tmp_path / "b", scale="tiny", seed=7, progress=False)
    base = _digest(tiny_raw_dir)
    assert _digest(tmp_path / "a") == base
    differs = _digest(tmp_path / "b")
    assert all(differs[k] != base[k] for k in RAW_FILES)
    assert again["n_listens"] > 0 and other["n_listens"] > 0


def test_truth_ranks_test_listens_above_unheard_tracks(tiny_raw_dir: Path) -> None:
    truth = load_truth(tiny_raw_dir)
    log = pq.read_table(tiny_raw_dir / "interactions.parquet").to_pandas()
    test = log[log.started_at >= "2022-12-18"]
    assert len(test) > 100
    rng = np.random.default_rng(0)
    users = test.user_id.to_numpy()
    pos = truth.score(users, test.track_id.to_numpy())
    all_tracks = pq.read_table(tiny_raw_dir / "tracks.parquet", columns=["track_id"])["track_id"].to_numpy()
    neg = truth.score(users, rng.choice(all_tracks, size=len(users)))
    assert np.all((pos >= 0) & (pos <= 1)) and np.all((neg >= 0) & (neg <= 1))
    # paired AUC of the oracle: a user's true test listen outranks a random track of the catalog
    auc = (pos > neg).mean() + 0.5 * (pos == neg).mean()
    assert auc > 0.75, auc
    user = int(users[0])
    top = truth.top_k(user, all_tracks, 10)
    s = truth.score(np.full(10, user), top)
    every = np.sort(truth.score(np.full(len(all_tracks), user), all_tracks))[::-1]
    assert len(set(top.tolist())) == 10 and np.allclose(s, every[:10])


def test_truth_rejects_unknown_ids(tiny_raw_dir: Path, tmp_path: Path) -> None:
    truth = load_truth(tiny_raw_dir)
    with pytest.raises(ValueError, match="unknown user_id"):
        truth.score(np.array([-5]), np.array([int(truth._raw[0])]))
    with pytest.raises(ValueError, match="unknown raw track_id"):
        truth.score(np.array([int(truth.user_ids[0])]), np.array([-5]))
    with pytest.raises(FileNotFoundError, match="no generator truth"):
        load_truth(tmp_path)


def _cli(args: list[str], env_extra: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(REPO), **env_extra}
    return subprocess.run(
        [sys.executable, "-m", "music_recs.generator", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_ensure_generates_once_and_refuses_s3(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    env = {
        "MUSIC_RECS_RAW_URI": str(raw),
        "MUSIC_RECS_SCALE": "tiny",
        "MUSIC_RECS_SEED": "3",
        "MUSIC_RECS_LOGS_DIR": str(tmp_path / "logs"),
    }
    first = _cli(["ensure"], env, tmp_path)
    assert first.returncode == 0, first.stderr
    assert "generated scale=tiny seed=3" in first.stdout
    assert all((raw / f"{n}.parquet").exists() for n in RAW_FILES)
    mtime = (raw / "interactions.parquet").stat().st_mtime_ns
    second = _cli(["ensure"], env, tmp_path)
    assert second.returncode == 0 and "nothing generated" in second.stdout
    assert (raw / "interactions.parquet").stat().st_mtime_ns == mtime
    s3 = _cli(["ensure"], {**env, "MUSIC_RECS_RAW_URI": "s3://bucket/raw"}, tmp_path)
    assert s3.returncode != 0 and "refusing" in s3.stderr and "s3://bucket/raw" in s3.stderr


def test_cli_generate_and_bad_scale(tmp_path: Path) -> None:
    out = tmp_path / "g"
    ok = _cli(
        ["generate", "--scale", "tiny", "--out", str(out), "--seed", "5", "--quiet"],
        {"MUSIC_RECS_LOGS_DIR": str(tmp_path / "logs")},
        tmp_path,
    )
    assert ok.returncode == 0, ok.stderr
    assert '"scale": "tiny"' in ok.stdout and (out / "_truth" / "users.npz").exists()
    bad = _cli(["generate", "--scale", "huge", "--out", str(out)], {}, tmp_path)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
    with pytest.raises(ValueError, match="unknown scale 'huge'"):
        generate(tmp_path / "x", scale="huge")
