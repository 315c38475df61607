"""Summary statistics of a generated data set, accumulated while streaming.

Why: the documented ranges (docs/generator.md) are checked by tests and quoted in
BENCHMARKS.md, and the full log is too large to reload just to describe it.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from music_recs.generator.dynamics import TEST_START_DAY

MONTH_END = np.cumsum([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _dist(x: np.ndarray) -> dict[str, float]:
    q25, med, q75 = np.percentile(x, [25, 50, 75])
    return {
        "min": int(x.min()),
        "q25": float(q25),
        "median": float(med),
        "q75": float(q75),
        "mean": round(float(x.mean()), 2),
        "max": int(x.max()),
    }


class LogStats:
    """Counts per user, per track, per month and of track_seq, fed batch by batch."""

    def __init__(self, n_users: int, n_tracks: int) -> None:
        self.per_user = np.zeros(n_users, dtype=np.int64)
        self.per_track = np.zeros(n_tracks, dtype=np.int64)
        self.month_listens = np.zeros(12, dtype=np.int64)
        self.month_users = np.zeros(12, dtype=np.int64)
        self.seq_hist = np.zeros(1 << 15, dtype=np.int64)
        self.test_listens = 0

    def add(self, user: np.ndarray, track: np.ndarray, day: np.ndarray, seq: np.ndarray) -> None:
        self.per_user += np.bincount(user, minlength=len(self.per_user))
        self.per_track += np.bincount(track, minlength=len(self.per_track))
        month = np.searchsorted(MONTH_END, day, side="right")
        self.month_listens += np.bincount(month, minlength=12)
        um = np.unique(user * 12 + month)
        self.month_users += np.bincount(um % 12, minlength=12)
        self.seq_hist += np.bincount(seq, minlength=len(self.seq_hist))
        self.test_listens += int((day >= TEST_START_DAY).sum())

    def summary(self) -> dict:
        n = int(self.per_user.sum())
        cdf = np.cumsum(self.seq_hist) / max(n, 1)
        seq_q = {f"p{q}": int(np.searchsorted(cdf, q / 100)) for q in (50, 75, 95)}
        values = np.arange(len(self.seq_hist))
        active = self.per_user[self.per_user > 0]
        return {
            "n_listens": n,
            "n_users_active": int(len(active)),
            "n_tracks_listened": int((self.per_track > 0).sum()),
            "listens_per_user": _dist(active),
            "listens_per_track": _dist(self.per_track),
            "track_seq": {
                "mean": round(float((values * self.seq_hist).sum() / max(n, 1)), 1),
                **seq_q,
                "max": int(values[self.seq_hist > 0].max()),
            },
            "monthly_listens": self.month_listens.tolist(),
            "monthly_active_users": self.month_users.tolist(),
            "test_window_share": round(self.test_listens / max(n, 1), 4),
        }


def catalog_summary(
    tracks: pa.Table, names: pa.Table, versions: pa.Table, aliases: pa.Table, n_missing_genres_ids: int
) -> dict:
    """Proportions and messiness counts of the catalog."""
    n_genres = pc.list_value_length(tracks["genres"]).to_numpy(zero_copy_only=False)
    n = len(n_genres)
    genre_lists = Counter(tuple(x) for x in tracks["genres"].to_pylist())
    types = Counter(names["type"].to_pylist())
    named_genres = set(pc.filter(names["id"], pc.equal(names["type"], "genre")).to_pylist())
    flat = pc.list_flatten(tracks["genres"]).to_numpy()
    missing = np.unique(flat[~np.isin(flat, list(named_genres))])
    refs_missing = sum(1 for gl in genre_lists.elements() if any(g not in named_genres for g in gl))
    vt = Counter(versions["version_type"].to_pylist())
    true_artists = len(set(aliases["true_artist_id"].to_pylist()))
    return {
        "n_tracks": n,
        "n_albums": types.get("album", 0),
        "n_artist_ids": types.get("artist", 0),
        "n_true_artists": true_artists,
        "n_genres_named": types.get("genre", 0),
        "n_genre_ids_missing_from_names": int(len(missing)),
        "tracks_referencing_missing_genre": refs_missing,
        "catalog_names_rows": len(names),
        "distinct_names": int(pc.count_distinct(names["name"]).as_py()),
        "genres_per_track_share": {str(k): round(float((n_genres == k).mean()), 4) for k in range(0, 5)}
        | {"5+": round(float((n_genres >= 5).mean()), 4), "max": int(n_genres.max())},
        "distinct_genre_lists": len(genre_lists),
        "top_genre_list_share": round(genre_lists.most_common(1)[0][1] / n, 4),
        "empty_albums": int(
            (pc.list_value_length(tracks["albums"]).to_numpy(zero_copy_only=False) == 0).sum()
        ),
        "empty_artists": int(
            (pc.list_value_length(tracks["artists"]).to_numpy(zero_copy_only=False) == 0).sum()
        ),
        "empty_genres": int((n_genres == 0).sum()),
        "distinct_album_lists": len(set(tuple(x) for x in tracks["albums"].to_pylist())),
        "distinct_artist_lists": len(set(tuple(x) for x in tracks["artists"].to_pylist())),
        "version_types": dict(vt),
        "expected_missing_genre_ids": n_missing_genres_ids,
    }
