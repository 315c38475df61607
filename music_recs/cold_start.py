"""Recommendations for a user without a personal list: genre-aware popularity.

Why genre-aware: a cold user who has listened to a few tracks (online, before the next build)
already tells us their genres; mixing the per-genre popularity lists by the user's genre
shares beats the global list for them, and the global list fills whatever the genre lists
cannot. The offline service answers cold users with it, and the evaluation scores cold test
users with it, so what is measured is what is served.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class RankedLists(Protocol):
    """Lists keyed by an id, e.g. per-genre popularity (services' KeyedLists, or a dict)."""

    def get(self, key: int) -> Sequence[tuple[int, float]] | None: ...


def genre_aware_popular(
    popular: Sequence[tuple[int, float]],
    by_genre: RankedLists,
    preference: Sequence[tuple[int, float]],
    exclude: set[int],
    k: int,
) -> list[tuple[int, float]]:
    """Top ``k`` tracks: per-genre lists mixed by share, then the global list; no excluded ids.

    ``popular``: the global list (track, score) best first; ``by_genre``: genre id → its list;
    ``preference``: (genre id, share) of the user's listens. A track at rank r (1-based) of
    genre g's list scores ``share_g / r`` (summed over genres); ties break by track id so
    answers are reproducible. Global fills keep their own score when there is no preference
    and score 0 after genre picks.
    """
    scores: dict[int, float] = {}
    for genre_id, share in preference:
        for rank, (track_id, _) in enumerate(by_genre.get(genre_id) or (), start=1):
            if track_id not in exclude:
                scores[track_id] = scores.get(track_id, 0.0) + share / rank
    ranked = sorted(scores.items(), key=lambda ts: (-ts[1], ts[0]))[:k]
    seen = {t for t, _ in ranked}
    for track_id, score in popular:
        if len(ranked) >= k:
            break
        if track_id not in seen and track_id not in exclude:
            ranked.append((track_id, 0.0 if preference else score))
            seen.add(track_id)
    return ranked
