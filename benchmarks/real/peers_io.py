"""Files exchanged with the RecTools subprocess (plain numpy + pandas + parquet).

Runs in both venvs: the product one writes the inputs and reads the lists back, the peer one
(``benchmarks.real.peers``) reads the inputs and writes one parquet of lists per model.

Inputs in ``<dir>``: ``train.parquet`` (user_id int64, item_id int64, weight float64,
datetime = the pair's first listen), ``users.parquet`` (user_id: the warm test users to
recommend for), ``config.json`` (k, seed, threads, the nested split's validation days and the
hyper-parameters chosen by the main process). Outputs: ``recs/<model>.parquet`` (user_id,
item_id, rank 1..k) and ``timings.json`` ({model: seconds}), ``choices.json`` (what the
peer process chose on its nested split).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

PAD = -1
USER, ITEM, WEIGHT, DATETIME, RANK = "user_id", "item_id", "weight", "datetime", "rank"


def slug(model: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", model).strip("_")


def train_frame(user_ids: np.ndarray, track_ids: np.ndarray, first_day: np.ndarray) -> pd.DataFrame:
    """RecTools' interactions frame: binary weight, datetime = first listen (days since epoch)."""
    return pd.DataFrame(
        {
            USER: np.asarray(user_ids, dtype=np.int64),
            ITEM: np.asarray(track_ids, dtype=np.int64),
            WEIGHT: np.ones(len(user_ids), dtype=np.float64),
            DATETIME: pd.to_datetime(np.asarray(first_day, dtype=np.int64), unit="D"),
        }
    )


def write_inputs(folder: Path, train: pd.DataFrame, users: np.ndarray, config: dict) -> None:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    missing = {USER, ITEM, WEIGHT, DATETIME} - set(train.columns)
    if missing:
        raise ValueError(f"train frame lacks {sorted(missing)}")
    train.to_parquet(folder / "train.parquet", index=False)
    pd.DataFrame({USER: np.asarray(users, dtype=np.int64)}).to_parquet(folder / "users.parquet", index=False)
    (folder / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True))


def read_inputs(folder: Path) -> tuple[pd.DataFrame, np.ndarray, dict]:
    folder = Path(folder)
    train = pd.read_parquet(folder / "train.parquet")
    train[DATETIME] = pd.to_datetime(train[DATETIME])
    users = pd.read_parquet(folder / "users.parquet")[USER].to_numpy(dtype=np.int64)
    return train, users, json.loads((folder / "config.json").read_text())


def write_lists(folder: Path, model: str, frame: pd.DataFrame) -> Path:
    """One model's top-k lists (columns user_id, item_id, rank) as ``recs/<model>.parquet``."""
    out = Path(folder) / "recs"
    out.mkdir(parents=True, exist_ok=True)
    frame = frame[[USER, ITEM, RANK]].astype({USER: np.int64, ITEM: np.int64, RANK: np.int64})
    path = out / f"{slug(model)}.parquet"
    frame.to_parquet(path, index=False)
    (out / f"{slug(model)}.name").write_text(model)
    return path


def read_lists(folder: Path) -> dict[str, pd.DataFrame]:
    out = {}
    for path in sorted((Path(folder) / "recs").glob("*.parquet")):
        name_file = path.with_suffix(".name")
        name = name_file.read_text() if name_file.is_file() else path.stem
        out[name] = pd.read_parquet(path)
    return out


def write_json(folder: Path, name: str, values: dict) -> None:
    (Path(folder) / name).write_text(json.dumps(values, indent=2, sort_keys=True))


def read_json(folder: Path, name: str) -> dict:
    path = Path(folder) / name
    return json.loads(path.read_text()) if path.is_file() else {}


def frame_to_lists(frame: pd.DataFrame, user_ids: np.ndarray, k: int) -> np.ndarray:
    """(user_id, item_id, rank) rows -> a len(user_ids) x k array of item ids, by rank, PAD
    where a user has fewer than k rows (or none); ranks need not be contiguous; rows of users
    not in ``user_ids`` and ranks beyond the k-th kept row of a user are ignored."""
    user_ids = np.asarray(user_ids, dtype=np.int64)
    if len(user_ids) and np.any(np.diff(user_ids) <= 0):
        raise ValueError("user_ids must be sorted and unique")
    out = np.full((len(user_ids), k), PAD, dtype=np.int64)
    if len(frame) == 0 or len(user_ids) == 0:
        return out
    f = frame[[USER, ITEM, RANK]].sort_values([USER, RANK, ITEM], kind="stable")
    users = f[USER].to_numpy(dtype=np.int64)
    pos = np.minimum(np.searchsorted(user_ids, users), len(user_ids) - 1)
    known = user_ids[pos] == users
    users, pos, items = users[known], pos[known], f[ITEM].to_numpy(dtype=np.int64)[known]
    if (items < 0).any():
        raise ValueError("item ids must be non-negative")
    starts = np.r_[0, np.flatnonzero(np.diff(pos)) + 1] if len(pos) else np.zeros(0, dtype=np.int64)
    slot = np.arange(len(pos)) - np.repeat(starts, np.diff(np.r_[starts, len(pos)]))
    keep = slot < k
    out[pos[keep], slot[keep]] = items[keep]
    return out
