"""Popularity answers for users without personal recommendations.

Why genre-aware: a cold user who has listened to a few tracks online already tells us their
genres; mixing the per-genre popularity lists by the user's genre shares beats the global list
for them, and the global list fills whatever the genre lists cannot.
"""

from __future__ import annotations

from services.lookups import KeyedLists


def genre_aware_popular(
    popular: list[tuple[int, float]],
    by_genre: KeyedLists,
    preference: list[tuple[int, float]],
    exclude: set[int],
    k: int,
) -> list[tuple[int, float]]:
    """Top ``k`` tracks: per-genre lists mixed by share, then the global list; no excluded ids.

    A track at rank r (1-based) of genre g's list scores ``share_g / r`` (summed over genres);
    ties break by track id so answers are reproducible. Global fills keep their own score
    when there is no preference and score 0 after genre picks.
    """
    scores: dict[int, float] = {}
    for genre_id, share in preference:
        for rank, (track_id, _) in enumerate(by_genre.get(genre_id), start=1):
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
