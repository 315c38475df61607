"""Expected ranges of the summary statistics per scale (the figures docs/generator.md states).

Why in code: the tests check generated data against exactly these numbers, and anyone can
run ``check(summary, scale)`` on a data set to see whether it still has the intended shape.
Keys are dotted paths into the dict returned by ``generate()``. Ranges hold across seeds.
"""

from __future__ import annotations

Range = tuple[float, float]

COMMON: dict[str, Range] = {
    "test_window_share": (0.04, 0.12),  # real: ~6% after 2022-12-16
    "ratio.mau_dec_over_jan": (4.0, 15.0),  # real: 1.08M / 125k = 8.6
    "ratio.listens_nov_over_jan": (2.5, 20.0),  # real: 32.9M / 2.29M = 14
    "catalog.genres_per_track_share.0": (0.001, 0.01),  # real 0.37%
    "ratio.versions_share": (0.12, 0.14),  # duplicates of originals (single/remix/live/cover)
}

EXPECTED: dict[str, dict[str, Range]] = {
    "tiny": {
        "n_listens": (15_000, 40_000),
        "listens_per_user.median": (20, 60),
        "listens_per_user.mean": (30, 70),
        "listens_per_user.max": (80, 400),
        "listens_per_track.min": (3, 5),
        "listens_per_track.median": (4, 20),
        "n_tracks_listened": (1000, 1000),
        "catalog.n_albums": (600, 800),
        "catalog.n_artist_ids": (130, 175),
        "catalog.n_genre_ids_missing_from_names": (5, 5),
        "catalog.genres_per_track_share.1": (0.25, 0.6),
        "catalog.genres_per_track_share.2": (0.3, 0.7),
        "catalog.empty_artists": (10, 20),
    },
    "demo": {
        "n_listens": (2_800_000, 4_500_000),
        "listens_per_user.median": (30, 60),
        "listens_per_user.mean": (65, 110),
        "listens_per_user.max": (1_000, 6_000),
        "listens_per_track.min": (5, 5),
        "listens_per_track.median": (10, 35),
        "listens_per_track.mean": (90, 150),
        "ratio.track_max_over_median": (100, 2_000),
        "n_tracks_listened": (30_000, 30_000),
        "track_seq.mean": (120, 320),
        "catalog.n_albums": (18_000, 21_500),
        "catalog.n_artist_ids": (4_200, 5_000),
        "catalog.n_genre_ids_missing_from_names": (20, 20),
        "catalog.genres_per_track_share.1": (0.33, 0.48),
        "catalog.genres_per_track_share.2": (0.48, 0.63),
        "catalog.genres_per_track_share.3": (0.005, 0.06),
        "catalog.top_genre_list_share": (0.04, 0.16),
        "catalog.tracks_referencing_missing_genre": (600, 2_400),
        "catalog.empty_artists": (400, 500),
    },
    "full": {
        "n_listens": (170_000_000, 270_000_000),  # real 222.6M
        "listens_per_user.median": (35, 75),  # real 54
        "listens_per_user.mean": (110, 200),  # real 156
        "listens_per_user.max": (8_000, 16_609),  # real 16,609
        "listens_per_track.min": (5, 5),  # real 5
        "listens_per_track.median": (10, 40),  # real 19
        "listens_per_track.mean": (170, 270),  # real 230
        "ratio.track_max_over_median": (1_000, 20_000),  # real 5,845
        "n_tracks_listened": (1_000_000, 1_000_000),
        "track_seq.mean": (250, 700),  # real 462
        "catalog.n_albums": (600_000, 720_000),  # real 658,724
        "catalog.n_artist_ids": (140_000, 170_000),  # real 153,581
        "catalog.n_genre_ids_missing_from_names": (30, 30),
        "catalog.genres_per_track_share.1": (0.33, 0.48),
        "catalog.genres_per_track_share.2": (0.48, 0.63),
        "catalog.genres_per_track_share.3": (0.005, 0.06),
        "catalog.distinct_genre_lists": (800, 3_000),  # real 1,627
        "catalog.top_genre_list_share": (0.04, 0.16),  # real 0.09
        "catalog.tracks_referencing_missing_genre": (20_000, 80_000),  # real 48,345
        "catalog.empty_artists": (13_000, 17_000),  # real 15,369
    },
}


def _get(summary: dict, path: str) -> float:
    if path.startswith("ratio."):
        name = path.split(".", 1)[1]
        c = summary["catalog"]
        ratios = {
            "mau_dec_over_jan": lambda: (
                summary["monthly_active_users"][11] / max(summary["monthly_active_users"][0], 1)
            ),
            "listens_nov_over_jan": lambda: (
                summary["monthly_listens"][10] / max(summary["monthly_listens"][0], 1)
            ),
            "versions_share": lambda: 1 - c["version_types"].get("original", 0) / c["n_tracks"],
            "track_max_over_median": lambda: (
                summary["listens_per_track"]["max"] / max(summary["listens_per_track"]["median"], 1)
            ),
        }
        return float(ratios[name]())
    node = summary
    for part in path.split("."):
        node = node[part]
    return float(node)


def check(summary: dict, scale: str | None = None) -> list[str]:
    """Human-readable violations of the expected ranges (empty when the data has the intended shape)."""
    scale = scale or summary["scale"]
    problems = []
    for path, (lo, hi) in {**COMMON, **EXPECTED[scale]}.items():
        value = _get(summary, path)
        if not lo <= value <= hi:
            problems.append(f"{scale}: {path} = {value:g} outside [{lo:g}, {hi:g}]")
    return problems
