"""`generate()`: catalog, users, the streamed log and the truth, written into one folder.

Files are written under temporary names and renamed at the end, so a folder holding the
three raw files always holds a complete data set (``ensure`` relies on that).
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from music_recs.generator.catalog import build_catalog
from music_recs.generator.dynamics import weekly_cumsum
from music_recs.generator.listens import forced_listens, sample_batch, user_batches
from music_recs.generator.presets import get_preset
from music_recs.generator.stats import LogStats, catalog_summary
from music_recs.generator.truth import save_truth
from music_recs.generator.users import build_users

RAW_FILES = ("tracks", "catalog_names", "interactions")
INTERACTIONS_SCHEMA = pa.schema(
    [
        ("user_id", pa.int32()),
        ("track_id", pa.int32()),
        ("track_seq", pa.int16()),
        ("started_at", pa.timestamp("ns")),
    ]
)
YEAR_START_NS = np.datetime64("2022-01-01T00:00:00", "ns").astype(np.int64)
DAY_NS = 86_400 * 10**9

log = logging.getLogger("generator")


def _interactions_table(
    user_ids: np.ndarray, track_ids: np.ndarray, seq: np.ndarray, day: np.ndarray
) -> pa.Table:
    if track_ids.max(initial=0) > np.iinfo(np.int32).max or seq.max(initial=0) > np.iinfo(np.int16).max:
        raise OverflowError("track_id or track_seq does not fit the raw schema (int32 / int16)")
    return pa.Table.from_arrays(
        [
            pa.array(user_ids.astype(np.int32)),
            pa.array(track_ids.astype(np.int32)),
            pa.array(seq.astype(np.int16)),
            pa.array(YEAR_START_NS + day.astype(np.int64) * DAY_NS, pa.timestamp("ns")),
        ],
        schema=INTERACTIONS_SCHEMA,
    )


def generate(out_dir: Path, scale: str = "demo", seed: int = 42, progress: bool = True) -> dict:
    """Write tracks/catalog_names/interactions parquet + `_truth/` into ``out_dir``; return summary stats."""
    p = get_preset(scale)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    cat = build_catalog(p, seed)
    log.info(
        "catalog: %d tracks, %d catalog_names rows (%.1fs)",
        cat.n_tracks,
        len(cat.catalog_names),
        time.perf_counter() - t0,
    )
    users = build_users(p, cat, seed)
    cum = weekly_cumsum(cat)
    forced = forced_listens(p, cat, users, seed)
    batches = user_batches(p, users)
    log.info(
        "users: %d in %d batches; %d forced listens (%.1fs)",
        users.n_users,
        len(batches),
        len(forced.user),
        time.perf_counter() - t0,
    )

    tmp = {name: out_dir / f".{name}.parquet.tmp" for name in RAW_FILES}
    pq.write_table(cat.tracks, tmp["tracks"], row_group_size=p.row_group_size)
    pq.write_table(cat.catalog_names, tmp["catalog_names"], row_group_size=p.row_group_size)
    stats = LogStats(users.n_users, cat.n_tracks)
    test_draws = np.zeros(users.n_users)
    bar = tqdm(
        total=int(users.n_target.sum()),
        unit=" listens",
        unit_scale=True,
        disable=not progress,
        desc=f"generate {scale}",
    )
    with pq.ParquetWriter(tmp["interactions"], INTERACTIONS_SCHEMA, compression="zstd") as writer:
        for i, (u0, u1) in enumerate(batches):
            b = sample_batch(cat, users, cum, forced, u0, u1, np.random.default_rng([seed, 4, i]))
            test_draws[u0:u1] = b.test_draws
            stats.add(b.user, b.track, b.day, b.seq)
            table = _interactions_table(users.user_id[b.user], cat.track_raw_id[b.track], b.seq, b.day)
            for lo in range(0, table.num_rows, p.row_group_size):
                writer.write_table(table.slice(lo, p.row_group_size), row_group_size=p.row_group_size)
            bar.update(int(users.n_target[u0:u1].sum()))
    bar.close()
    del cum

    summary = {
        "scale": scale,
        "seed": seed,
        "n_users": users.n_users,
        **stats.summary(),
        "catalog": catalog_summary(
            cat.tracks, cat.catalog_names, cat.track_versions, cat.artist_aliases, p.n_missing_genres
        ),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    save_truth(out_dir, cat, users, test_draws, {"scale": scale, "seed": seed, "year": 2022})
    (out_dir / "_truth" / "summary.json").write_text(json.dumps(summary, indent=2))
    for name in RAW_FILES:
        os.replace(tmp[name], out_dir / f"{name}.parquet")
    log.info("wrote %s: %d listens (%.1fs)", out_dir, summary["n_listens"], summary["seconds"])
    return summary
