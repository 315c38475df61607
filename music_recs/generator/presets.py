"""Scale presets: every size and shape knob of the generator, in one frozen record per scale.

The shape knobs (shares, distribution parameters) are the same at every scale where the
real data dictates them; only sizes, the number of taste clusters and the user-activity
distribution change, so that `tiny` stays a few seconds and `full` matches the real log.
"""

from __future__ import annotations

from dataclasses import dataclass

SCALES = ("tiny", "demo", "full")


@dataclass(frozen=True)
class Preset:
    """Sizes and distribution parameters of one scale."""

    name: str
    n_users: int
    n_tracks: int
    n_genres: int  # genres named in catalog_names
    n_missing_genres: int  # genre ids used by tracks but absent from catalog_names
    n_clusters: int  # hidden taste clusters ("scenes")
    # listens of a user active all year: lognormal(log(median), sigma); a user's target is that
    # times the share of the year they are active, clipped to [1, max]
    listens_median: float
    listens_sigma: float
    listens_max: int
    # catalog proportions (real: 1M tracks : 659k albums : 154k artist ids)
    albums_per_track: float = 0.659
    artist_ids_per_track: float = 0.154
    min_track_listens: int = 5  # the real log keeps tracks with >= 5 listens
    batch_listens: int = 3_000_000  # candidate listens per streaming batch (memory bound)
    row_group_size: int = 1_000_000


PRESETS: dict[str, Preset] = {
    "tiny": Preset(
        name="tiny",
        n_users=500,
        n_tracks=1_000,
        n_genres=40,
        n_missing_genres=5,
        n_clusters=6,
        listens_median=130.0,
        listens_sigma=1.0,
        listens_max=400,
        min_track_listens=3,
    ),
    "demo": Preset(
        name="demo",
        n_users=40_000,
        n_tracks=30_000,
        n_genres=120,
        n_missing_genres=20,
        n_clusters=30,
        listens_median=130.0,
        listens_sigma=1.35,
        listens_max=6_000,
    ),
    "full": Preset(
        name="full",
        n_users=1_373_221,
        n_tracks=1_000_000,
        n_genres=166,
        n_missing_genres=30,
        n_clusters=60,
        listens_median=160.0,
        listens_sigma=1.25,
        listens_max=16_609,
    ),
}


def get_preset(scale: str) -> Preset:
    """The preset of ``scale``; a clear error for an unknown name."""
    try:
        return PRESETS[scale]
    except KeyError:
        raise ValueError(f"unknown scale {scale!r}: expected one of {', '.join(SCALES)}") from None
