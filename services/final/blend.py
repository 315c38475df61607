"""Blend of the offline and online lists into one list of k tracks.

Why interleave: the offline list knows the user's long-term taste, the online list what they
are listening to right now; alternating keeps both visible in the top positions. Tracks are
deduplicated, heard tracks dropped, and the list is filled to k from whatever list is left,
then popularity, then the rest of the catalog (the caller supplies that last resort).
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain, zip_longest

Labeled = tuple[int, str]  # (track_id, the list it came from)


def interleave(first: list[Labeled], second: list[Labeled]) -> list[Labeled]:
    """Alternate two lists: first[0], second[0], first[1], second[1], ..., then the rest."""
    out: list[Labeled] = []
    for a, b in zip_longest(first, second):
        if a is not None:
            out.append(a)
        if b is not None:
            out.append(b)
    return out


def blend(
    first: list[Labeled],
    second: list[Labeled],
    fill: Iterable[Labeled],
    exclude: set[int],
    k: int,
) -> list[Labeled]:
    """Up to ``k`` distinct tracks not in ``exclude``, keeping each track's label.

    ``first`` and ``second`` are interleaved (first leads), then ``fill`` tops the list up.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    chosen: list[Labeled] = []
    seen = set(exclude)
    for track_id, label in chain(interleave(first, second), fill):
        if len(chosen) >= k:
            break
        if track_id not in seen:
            seen.add(track_id)
            chosen.append((track_id, label))
    return chosen
