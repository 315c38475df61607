"""The hidden truth beside the raw files (`_truth/`), and the oracle that scores pairs with it.

Only evaluation reads this (as an upper bound); the pipeline never does. The files:
``users.npz`` (taste mixtures, favourite artists, chart share, expected test-window draws),
``tracks.npz`` (cluster, true artist, popularity, release day, hype), ``meta.json``,
``track_versions.parquet`` (track_id, original_track_id, version_type) and
``artist_aliases.parquet`` (artist_id, true_artist_id = smallest raw id of the true artist).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from music_recs.generator.catalog import Catalog
from music_recs.generator.dynamics import EXPLORE_GAMMA, N_DAYS, TEST_START_DAY, mean_weight
from music_recs.generator.users import Users

TRUTH_DIR = "_truth"
_TRACK_FIELDS = (
    "track_raw_id",
    "track_cluster",
    "track_artist",
    "track_pop",
    "track_release",
    "track_hype",
    "track_tau",
)
_USER_FIELDS = (
    "user_id",
    "theta0_c",
    "theta0_w",
    "theta1_c",
    "theta1_w",
    "p_pop",
    "p_fav",
    "fav",
    "n_fav",
    "explore",
)


def save_truth(out_dir: Path, cat: Catalog, users: Users, test_draws: np.ndarray, meta: dict) -> Path:
    """Write `_truth/` under ``out_dir``."""
    d = out_dir / TRUTH_DIR
    d.mkdir(parents=True, exist_ok=True)
    np.savez(
        d / "tracks.npz",
        **{f: getattr(cat, f) for f in _TRACK_FIELDS},
        cluster_start=cat.cluster_start,
        artist_start=cat.artist_start,
    )
    np.savez(d / "users.npz", **{f: getattr(users, f) for f in _USER_FIELDS}, test_draws=test_draws)
    pq.write_table(cat.track_versions, d / "track_versions.parquet")
    pq.write_table(cat.artist_aliases, d / "artist_aliases.parquet")
    (d / "meta.json").write_text(
        json.dumps({**meta, "test_start_day": TEST_START_DAY}, indent=2, default=str)
    )
    return d


@dataclass
class _TrackView:
    """Just the fields `mean_weight` needs, so the oracle reuses the generator's dynamics."""

    track_release: np.ndarray
    track_hype: np.ndarray
    track_tau: np.ndarray
    track_pop: np.ndarray

    @property
    def n_tracks(self) -> int:
        return len(self.track_pop)


class Truth:
    """Oracle relevance of (user, raw track) pairs in the test window (2022-12-18 .. 12-31)."""

    def __init__(self, tracks: dict[str, np.ndarray], users: dict[str, np.ndarray], meta: dict) -> None:
        self.meta = meta
        self._raw = tracks["track_raw_id"]
        self._raw_order = np.argsort(self._raw)
        self._cluster = tracks["track_cluster"].astype(np.int64)
        self._artist = tracks["track_artist"].astype(np.int64)
        view = _TrackView(
            tracks["track_release"], tracks["track_hype"], tracks["track_tau"], tracks["track_pop"]
        )
        start = int(meta.get("test_start_day", TEST_START_DAY))
        cs, ast = tracks["cluster_start"], tracks["artist_start"]
        # per table (0: popularity weights, 1: flattened exploring weights): track, cluster, artist, total
        self._w, self._w_cluster, self._w_artist, self._w_all = [], [], [], []
        for gamma in (1.0, EXPLORE_GAMMA):
            w = mean_weight(view, range(start, N_DAYS), gamma)  # type: ignore[arg-type]
            cum = np.concatenate([[0.0], np.cumsum(w)])
            self._w.append(w)
            self._w_cluster.append(cum[cs[1:]] - cum[cs[:-1]])
            self._w_artist.append(cum[ast[1:]] - cum[ast[:-1]])
            self._w_all.append(cum[-1])
        self._drift = (start + N_DAYS - 1) / 2 / (N_DAYS - 1)  # mean theta1 share in the window
        self.u = users
        self.user_ids = users["user_id"]

    def _user_index(self, user_ids: np.ndarray) -> np.ndarray:
        user_ids = np.asarray(user_ids, dtype=np.int64)
        idx = np.searchsorted(self.user_ids, user_ids)
        idx = np.minimum(idx, len(self.user_ids) - 1)
        bad = self.user_ids[idx] != user_ids
        if bad.any():
            raise ValueError(f"unknown user_id(s) for this truth: {user_ids[bad][:5].tolist()}")
        return idx

    def _track_index(self, raw_track_ids: np.ndarray) -> np.ndarray:
        raw = np.asarray(raw_track_ids, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self._raw, raw, sorter=self._raw_order), len(self._raw) - 1)
        idx = self._raw_order[pos]
        bad = self._raw[idx] != raw
        if bad.any():
            raise ValueError(f"unknown raw track_id(s) for this truth: {raw[bad][:5].tolist()}")
        return idx

    def score(self, user_ids: np.ndarray, raw_track_ids: np.ndarray) -> np.ndarray:
        """P(user listens to track for the first time in the test window) under the generating model.

        Pairs are element-wise (equal lengths). The probability is 1 - exp(-E[draws of the track]):
        expected test-window draws of the user times the per-draw probability of the track.
        """
        user_ids, raw_track_ids = np.asarray(user_ids), np.asarray(raw_track_ids)
        if user_ids.shape != raw_track_ids.shape or user_ids.ndim != 1:
            raise ValueError(
                f"user_ids and raw_track_ids must be 1-d of equal length, got "
                f"{user_ids.shape} and {raw_track_ids.shape}"
            )
        ui, ti = self._user_index(user_ids), self._track_index(raw_track_ids)
        u = self.u
        c, a = self._cluster[ti], self._artist[ti]
        lam = self._drift
        p_c = (1 - lam) * ((u["theta0_c"][ui] == c[:, None]) * u["theta0_w"][ui]).sum(axis=1) + lam * (
            (u["theta1_c"][ui] == c[:, None]) * u["theta1_w"][ui]
        ).sum(axis=1)
        n_fav = u["n_fav"][ui].astype(np.float64)
        fav_hits = (u["fav"][ui] == a[:, None]).sum(axis=1)
        p_pop = u["p_pop"][ui].astype(np.float64)
        p_fav = np.where(n_fav > 0, u["p_fav"][ui], 0.0)
        explore = u["explore"][ui].astype(np.float64)
        per_draw = np.zeros(len(ui))
        with np.errstate(divide="ignore", invalid="ignore"):
            for g, share in ((0, 1.0 - explore), (1, explore)):
                w = self._w[g][ti]
                pop_part = p_pop * w / self._w_all[g]
                fav_part = np.where(
                    fav_hits > 0, p_fav * fav_hits / np.maximum(n_fav, 1) * w / self._w_artist[g][a], 0.0
                )
                clu_part = np.where(p_c > 0, (1 - p_pop - p_fav) * p_c * w / self._w_cluster[g][c], 0.0)
                per_draw += share * np.nan_to_num(pop_part + fav_part + clu_part)
        return -np.expm1(-u["test_draws"][ui] * per_draw)

    def top_k(self, user_id: int, raw_track_ids: np.ndarray, k: int) -> np.ndarray:
        """The ``k`` raw track ids of ``raw_track_ids`` with the highest true score for ``user_id``."""
        raw = np.asarray(raw_track_ids, dtype=np.int64)
        if k <= 0:
            raise ValueError(f"k must be positive, got {k}")
        s = self.score(np.full(len(raw), user_id, dtype=np.int64), raw)
        order = np.lexsort((raw, -s))  # ties broken by id, so the answer is deterministic
        return raw[order[:k]]


def load_truth(raw_dir: Path) -> Truth:
    """Load `raw_dir/_truth/` written by the generator; a clear error when it is not there."""
    d = Path(raw_dir) / TRUTH_DIR
    if not (d / "users.npz").exists() or not (d / "tracks.npz").exists():
        raise FileNotFoundError(
            f"no generator truth under {d} (real data has none; only generated data does)"
        )
    with np.load(d / "tracks.npz") as t, np.load(d / "users.npz") as u:
        tracks = {k: t[k] for k in t.files}
        users = {k: u[k] for k in u.files}
    meta = json.loads((d / "meta.json").read_text()) if (d / "meta.json").exists() else {}
    return Truth(tracks, users, meta)
