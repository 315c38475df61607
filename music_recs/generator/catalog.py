"""The catalog: true artists in taste clusters, their songs, albums, versions and genres.

Why a hidden "true" layer: the raw files only show ids and messy names; the truth (artist
aliases, track versions, clusters, popularity, release days) is kept beside them so the
warehouse's deduplication and the recommender's quality can be checked against it.

Internal track order is sorted by (cluster, true artist), so a cluster's or an artist's
tracks are one contiguous slice; raw ids are a random permutation, so id order leaks nothing.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from music_recs.generator.names import NameMaker
from music_recs.generator.presets import Preset

VERSION_TYPES = ("original", "single", "remix", "live", "cover")
VERSION_SHARES = {"single": 0.06, "remix": 0.04, "live": 0.02, "cover": 0.01}
PODCAST_SHARE = 0.015  # tracks with an empty artist list (real: 15,369 of 1M, mostly podcasts)
EMPTY_GENRE_SHARE = 0.0037
EMPTY_ALBUM_SHARE = 0.000018
MISSING_GENRE_TRACK_SHARE = 0.048
FEAT_SHARE = 0.10
ALIAS_SHARE = 0.07  # true artists that also appear under 1-3 more ids
NEW_ALBUM_SHARE = 0.22  # albums released during 2022 (they rise and fade)
GENRES_PER_TRACK = (np.arange(1, 11), np.array([0.40, 0.57, 0.02] + [0.01 / 7] * 7))


@dataclass
class Catalog:
    """Every per-track / per-artist array the listening model needs, plus the output tables."""

    track_raw_id: np.ndarray  # int64 [T], internal order
    track_cluster: np.ndarray  # int32 [T]
    track_artist: np.ndarray  # int32 [T] true artist index (podcast shows included)
    track_pop: np.ndarray  # float64 [T] base popularity
    track_release: np.ndarray  # int32 [T] release day (0 = 2022-01-01; negative = older)
    track_hype: np.ndarray  # float32 [T] launch boost amplitude (new releases only)
    track_tau: np.ndarray  # float32 [T] days to the launch peak
    track_version: np.ndarray  # int8 [T] index into VERSION_TYPES
    track_original: np.ndarray  # int64 [T] raw id of the original recording
    cluster_start: np.ndarray  # int64 [C+1] slice bounds of each cluster's tracks
    artist_start: np.ndarray  # int64 [A+1] slice bounds of each true artist's tracks
    artist_cluster: np.ndarray  # int32 [A]
    tracks: pa.Table
    catalog_names: pa.Table
    track_versions: pa.Table
    artist_aliases: pa.Table
    genre_ids: np.ndarray  # int64, catalog genres then missing ones
    n_catalog_genres: int

    @property
    def n_tracks(self) -> int:
        return len(self.track_raw_id)

    @property
    def n_clusters(self) -> int:
        return len(self.cluster_start) - 1


def _unique_ids(rng: np.random.Generator, n: int, spread: int = 5) -> np.ndarray:
    """``n`` distinct positive ids, sparse and shuffled (real ids are not contiguous)."""
    ids = rng.choice(np.arange(1, spread * n + 2, dtype=np.int64), size=n, replace=False)
    return ids


def _list_array(lists: list[list[int]]) -> pa.Array:
    offsets = np.zeros(len(lists) + 1, dtype=np.int32)
    offsets[1:] = np.cumsum([len(x) for x in lists])
    flat = np.fromiter(itertools.chain.from_iterable(lists), dtype=np.int64, count=int(offsets[-1]))
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), pa.array(flat, pa.int64()))


class _GenreDrawer:
    """Genre lists shaped like the real ones: 1 (40%), 2 (57%), 3 (2%), up to 10.

    Each cluster has a short menu of lists (Zipf-weighted, the cluster's main genre alone
    first), so the catalog holds few distinct lists and one list dominates, as in the real
    data (1,627 lists; `[11]` alone covers 9% of tracks). A few menu entries carry a genre id
    that catalog_names lacks.
    """

    MENU = 24

    def __init__(self, rng: np.random.Generator, n_genres: int, n_missing: int, n_clusters: int) -> None:
        self.rng = rng
        self.n = n_genres
        w = 1.0 / (np.arange(n_genres) + 1.0) ** 1.2
        self.weights = w / w.sum()
        main = rng.choice(n_genres, size=n_clusters, p=self.weights)
        side = rng.choice(n_genres, size=(n_clusters, 4), p=self.weights)
        self.menus: list[list[list[int]]] = []
        for c in range(n_clusters):
            menu = [[int(main[c])]]
            while len(menu) < self.MENU:
                gl = self._draw(int(main[c]), side[c])
                if n_missing and rng.random() < MISSING_GENRE_TRACK_SHARE * 0.55:
                    gl = (
                        gl[:-1] + [n_genres + int(rng.integers(0, n_missing))]
                        if len(gl) > 1
                        else gl + [n_genres + int(rng.integers(0, n_missing))]
                    )
                if gl not in menu:
                    menu.append(gl)
            self.menus.append(menu)
        mw = 1.0 / (np.arange(self.MENU) + 1.0)
        mw[0] = 1.2  # the main genre alone is the most common single list
        self.menu_w = mw / mw.sum()

    def _draw(self, main: int, side: np.ndarray) -> list[int]:
        r = self.rng
        size = int(r.choice(GENRES_PER_TRACK[0], p=GENRES_PER_TRACK[1]))
        out = [main if r.random() < 0.75 else int(r.choice(side))]
        while len(out) < size:
            g = int(r.choice(side) if r.random() < 0.7 else r.choice(self.n, p=self.weights))
            if g not in out:
                out.append(g)
        return out

    def draw_many(self, clusters: np.ndarray) -> list[list[int]]:
        """One list per entry of ``clusters``, each from its cluster's menu."""
        picks = self.rng.choice(self.MENU, size=len(clusters), p=self.menu_w)
        return [list(self.menus[c][k]) for c, k in zip(clusters.tolist(), picks.tolist())]


def build_catalog(p: Preset, seed: int) -> Catalog:
    """Draw the whole catalog of preset ``p`` from ``seed``."""
    rng = np.random.default_rng([seed, 0])
    nm = NameMaker(np.random.default_rng([seed, 1]))
    T = p.n_tracks
    C = p.n_clusters
    n_versions = {k: int(round(v * T)) for k, v in VERSION_SHARES.items()}
    n_pod = max(2, int(round(PODCAST_SHARE * T)))
    n_songs = T - sum(n_versions.values()) - n_pod
    n_artist_ids = max(10, int(round(p.artist_ids_per_track * T)))
    extra_ids = rng.choice([1, 1, 1, 1, 2, 3], size=n_artist_ids)  # aliases per aliased artist
    A = int(round(n_artist_ids / (1 + ALIAS_SHARE * extra_ids.mean())))
    n_shows = max(1, n_pod // 20)

    # --- clusters and true artists (sorted by cluster) ---------------------------------
    cluster_w = rng.lognormal(0.0, 0.6, size=C)
    cluster_w /= cluster_w.sum()
    artist_cluster = np.sort(rng.choice(C, size=A, p=cluster_w)).astype(np.int32)
    show_cluster = rng.choice(C, size=n_shows, p=cluster_w).astype(np.int32)
    artist_pop = rng.lognormal(0.0, 1.3, size=A)
    songs_w = artist_pop**0.6 * rng.lognormal(0.0, 0.8, size=A)
    songs_per_artist = 1 + rng.multinomial(n_songs - A, songs_w / songs_w.sum())
    genres = _GenreDrawer(rng, p.n_genres, p.n_missing_genres, C)
    artist_genres = genres.draw_many(artist_cluster)

    # --- artist ids and names ------------------------------------------------------------
    n_alias = rng.binomial(1, ALIAS_SHARE, size=A) * rng.choice([1, 1, 1, 1, 2, 3], size=A)
    ids_per_artist = 1 + n_alias
    artist_raw = _unique_ids(rng, int(ids_per_artist.sum()))
    id_owner = np.repeat(np.arange(A), ids_per_artist)  # true artist of each raw artist id
    id_first = np.concatenate([[0], np.cumsum(ids_per_artist)[:-1]])
    base_names = nm.unique(nm.person, A)
    artist_display = [nm.case_noise(b) if nm.u() < 0.9 else nm.diacritics(b) for b in base_names]
    id_names: list[str] = []
    for a in range(A):
        id_names.append(artist_display[a])
        id_names.extend(nm.alias_of(artist_display[a]) for _ in range(n_alias[a]))
    true_artist_raw = np.minimum.reduceat(artist_raw, id_first)  # canonical = smallest raw id

    def credited_id(a: int) -> int:
        """A raw id of true artist ``a``; aliased artists are credited under every id."""
        k = ids_per_artist[a]
        return int(artist_raw[id_first[a] + (0 if k == 1 else nm.randint(0, k))])

    # --- songs and their albums -----------------------------------------------------------
    song_artist = np.repeat(np.arange(A, dtype=np.int32), songs_per_artist)
    first_of_artist = np.zeros(n_songs, dtype=bool)
    first_of_artist[np.concatenate([[0], np.cumsum(songs_per_artist)[:-1]])] = True
    n_version_albums = int(
        0.85 * n_versions["single"]
        + 0.75 * n_versions["remix"]
        + 0.5 * n_versions["live"]
        + n_versions["cover"]
    )
    n_comp = max(1, int(0.012 * p.albums_per_track * T))
    n_orig_albums = max(A, int(p.albums_per_track * T) - n_version_albums - n_comp - n_shows)
    q = min(1.0, max(0.0, (n_orig_albums - A) / max(1, n_songs - A)))
    new_album = first_of_artist | (rng.random(n_songs) < q)
    song_album = np.cumsum(new_album) - 1
    n_albums_songs = int(song_album[-1]) + 1
    album_is_new = rng.random(n_albums_songs) < NEW_ALBUM_SHARE
    album_release = np.where(
        album_is_new, rng.integers(0, 365, n_albums_songs), -rng.integers(1, 3650, n_albums_songs)
    )
    album_size = np.bincount(song_album, minlength=n_albums_songs)
    song_release = album_release[song_album]
    song_pop = (artist_pop[song_artist] ** 0.8) * rng.lognormal(0.0, 2.0, size=n_songs)

    # track-level records (songs, then versions, then podcast episodes)
    rec_artist: list[np.ndarray] = [song_artist]
    rec_pop = [song_pop]
    rec_release = [song_release]
    rec_version = [np.zeros(n_songs, dtype=np.int8)]
    rec_orig = [np.arange(n_songs)]  # index of the original song (internal, pre-sort)
    rec_album: list[np.ndarray] = [song_album]
    album_kind: list[tuple[str, int]] = []  # (kind, ref) for albums after the song albums
    next_album = n_albums_songs

    for vi, vt in enumerate(VERSION_TYPES[1:], start=1):
        n = n_versions[vt]
        w = song_pop**0.7
        orig = rng.choice(n_songs, size=n, replace=False, p=w / w.sum())
        rel0 = song_release[orig]
        if vt == "single":
            rel = rel0 - rng.integers(0, 60, n)
            pop = song_pop[orig] * rng.uniform(0.2, 1.0, n)
        else:
            shift = {"remix": (7, 120), "live": (30, 400), "cover": (30, 700)}[vt]
            rel = rel0 + rng.integers(*shift, size=n)
            pop = song_pop[orig] * rng.lognormal(np.log(0.15), 0.8, n)
        # a version gets its own album, or joins the artist's previous album of that kind
        # (remaster, remix, live albums); albums never mix artists
        reuse = {"single": 0.25, "remix": 0.4, "live": 0.7, "cover": 0.0}[vt]
        albums = np.empty(n, dtype=np.int64)
        last_album: dict[int, int] = {}
        for i, o in enumerate(orig.tolist()):
            a = int(song_artist[o])
            if a in last_album and nm.u() < reuse:
                albums[i] = last_album[a]
            else:
                album_kind.append((vt, o))
                albums[i] = last_album[a] = next_album
                next_album += 1
        rec_artist.append(song_artist[orig])
        rec_pop.append(pop)
        rec_release.append(np.minimum(rel, 364))
        rec_version.append(np.full(n, vi, dtype=np.int8))
        rec_orig.append(orig)
        rec_album.append(albums)

    pod_show = rng.integers(0, n_shows, n_pod)
    rec_artist.append((A + pod_show).astype(np.int32))
    rec_pop.append(rng.lognormal(0.0, 1.5, n_pod))
    rec_release.append(rng.integers(-400, 365, n_pod))
    rec_version.append(np.zeros(n_pod, dtype=np.int8))
    rec_orig.append(-1 - np.arange(n_pod))  # podcasts are their own originals (fixed below)
    show_album = next_album + np.arange(n_shows)
    album_kind.extend(("show", int(s)) for s in range(n_shows))
    next_album += n_shows
    rec_album.append(show_album[pod_show])
    comp_album = next_album + np.arange(n_comp)
    album_kind.extend(("comp", int(c)) for c in range(n_comp))
    next_album += n_comp

    t_artist = np.concatenate(rec_artist).astype(np.int32)
    t_pop = np.concatenate(rec_pop)
    t_release = np.concatenate(rec_release).astype(np.int32)
    t_version = np.concatenate(rec_version)
    t_orig_rec = np.concatenate(rec_orig)
    t_orig_rec = np.where(t_orig_rec < 0, np.arange(T), t_orig_rec)
    t_album = np.concatenate(rec_album)
    assert len(t_artist) == T, (len(t_artist), T)
    all_cluster = np.concatenate([artist_cluster, show_cluster])
    t_cluster = all_cluster[t_artist]
    is_new = t_release >= 0
    t_hype = np.where(is_new, rng.lognormal(np.log(4.0), 0.8, T), 0.0).astype(np.float32)
    t_tau = rng.uniform(3.0, 21.0, T).astype(np.float32)

    # --- genre lists, album lists, artist lists, names (in record order) ----------------
    genre_ids = _unique_ids(rng, p.n_genres + p.n_missing_genres, spread=2)
    genre_lists: list[list[int]] = []
    show_genre = 9 if p.n_genres > 9 else 0  # "podcasts" in GENRE_BASE
    own = rng.random(T) < 0.93  # most tracks carry their artist's list, the rest another of the menu
    other = genres.draw_many(t_cluster)
    for i, a in enumerate(t_artist.tolist()):
        genre_lists.append([show_genre] if a >= A else list(artist_genres[a]) if own[i] else other[i])
    for i in rng.choice(T, size=max(1, int(EMPTY_GENRE_SHARE * T)), replace=False):
        genre_lists[i] = []
    used = {g for gl in genre_lists for g in gl}
    for g in range(p.n_genres, p.n_genres + p.n_missing_genres):  # every missing id is referenced
        if g not in used:
            i = int(rng.integers(0, T))
            genre_lists[i] = genre_lists[i] + [g]
    genre_lists = [[int(genre_ids[g]) for g in gl] for gl in genre_lists]

    n_albums = next_album
    album_raw = _unique_ids(rng, n_albums)
    album_lists = [[int(album_raw[a])] for a in t_album]
    in_comp = np.flatnonzero(rng.random(T) < 0.015)
    for i in in_comp:
        album_lists[i].append(int(album_raw[comp_album[rng.integers(0, n_comp)]]))
    for i in rng.choice(T, size=max(1, int(round(EMPTY_ALBUM_SHARE * T))), replace=False):
        album_lists[i] = []

    song_base = [""] * n_songs
    start = 0
    for a in range(A):  # distinct base titles per artist, so distinct songs never merge
        k = int(songs_per_artist[a])
        song_base[start : start + k] = nm.unique(nm.title, k)
        start += k
    show_names = nm.unique(
        lambda: nm.title() + " " + nm.pick(["подкаст", "podcast", "Show", "радио"]), n_shows
    )

    cluster_artists = np.searchsorted(artist_cluster, np.arange(C + 1))
    artist_lists: list[list[int]] = []
    track_names: list[str] = []
    feat_of_song: dict[int, list[int]] = {}
    pod_counter = np.zeros(n_shows, dtype=np.int64)
    album_artist_id: dict[int, int] = {}
    for i in range(T):
        a = int(t_artist[i])
        if a >= A:
            s = a - A
            pod_counter[s] += 1
            artist_lists.append([])
            track_names.append(nm.podcast_episode(show_names[s], int(pod_counter[s])))
            continue
        o = int(t_orig_rec[i])
        if o not in feat_of_song:
            feats: list[int] = []
            if nm.u() < FEAT_SHARE:
                lo, hi = cluster_artists[artist_cluster[a]], cluster_artists[artist_cluster[a] + 1]
                for _ in range(1 if nm.u() < 0.8 else 2):
                    f = nm.randint(int(lo), int(hi))
                    if f != a and f not in feats:
                        feats.append(f)
            feat_of_song[o] = feats
        feats = feat_of_song[o]
        alb = int(t_album[i])
        if alb not in album_artist_id:  # one credited id per album (aliases split by album)
            album_artist_id[alb] = credited_id(a)
        artist_lists.append([album_artist_id[alb]] + [int(artist_raw[id_first[f]]) for f in feats])
        version = None if t_version[i] == 0 else VERSION_TYPES[t_version[i]]
        feat_name = ", ".join(artist_display[f] for f in feats) if feats else None
        track_names.append(nm.decorate(song_base[o], feat_name, version))

    album_names: list[str] = []
    album_first_track: dict[int, int] = {}
    for i in range(T):
        album_first_track.setdefault(int(t_album[i]), i)
    for alb in range(n_albums):
        if alb < n_albums_songs:
            if album_size[alb] == 1:
                i = album_first_track[alb]
                album_names.append(nm.case_noise(song_base[int(t_orig_rec[i])]))
            else:
                album_names.append(nm.case_noise(nm.title()))
            continue
        kind, ref = album_kind[alb - n_albums_songs]
        if kind == "single":
            album_names.append(
                nm.case_noise(song_base[ref])
                + nm.pick(["", "", " - Single", " (Remastered)", " (Deluxe Edition)"])
            )
        elif kind == "remix":
            album_names.append(song_base[ref].title() + nm.pick([" (Remixes)", " [Remixes]", " Remix EP"]))
        elif kind == "live":
            album_names.append(
                nm.pick(["Live at ", "Live in ", "Концерт в ", "Unplugged "]) + nm.title().title()
            )
        elif kind == "cover":
            album_names.append(nm.case_noise(song_base[ref]) + nm.pick([" (Cover)", "", " [Cover]"]))
        elif kind == "show":
            album_names.append(show_names[ref])
        else:
            album_names.append(
                nm.pick(["Хиты ", "Best of ", "Summer Hits ", "Top ", "NOW "]) + str(2000 + ref % 23)
            )

    # --- internal order: by (cluster, true artist) ---------------------------------------
    order = np.lexsort((np.arange(T), t_artist, t_cluster))
    track_raw_sorted = np.sort(_unique_ids(rng, T, spread=10))
    track_raw_rec = np.empty(T, dtype=np.int64)
    track_raw_rec[rng.permutation(T)] = track_raw_sorted  # random raw id per record
    orig_raw_rec = track_raw_rec[t_orig_rec]
    n_all_artists = A + n_shows
    artist_counts = np.bincount(t_artist, minlength=n_all_artists)
    artist_start = np.concatenate([[0], np.cumsum(artist_counts)]).astype(np.int64)
    cluster_counts = np.bincount(t_cluster, minlength=C)
    cluster_start = np.concatenate([[0], np.cumsum(cluster_counts)]).astype(np.int64)
    # artists (true ones and shows) must be cluster-sorted for contiguous slices
    if n_shows:
        art_order = np.lexsort((np.arange(n_all_artists), all_cluster))
        remap = np.empty(n_all_artists, dtype=np.int32)
        remap[art_order] = np.arange(n_all_artists, dtype=np.int32)
        t_artist_sorted = remap[t_artist]
        all_cluster_sorted = all_cluster[art_order]
        artist_counts = np.bincount(t_artist_sorted, minlength=n_all_artists)
        artist_start = np.concatenate([[0], np.cumsum(artist_counts)]).astype(np.int64)
        order = np.lexsort((np.arange(T), t_artist_sorted, t_cluster))
    else:
        t_artist_sorted = t_artist
        all_cluster_sorted = all_cluster

    by_id = np.argsort(track_raw_rec, kind="stable")
    tracks = pa.table(
        {
            "track_id": pa.array(track_raw_rec[by_id], pa.int64()),
            "albums": _list_array([album_lists[i] for i in by_id]),
            "artists": _list_array([artist_lists[i] for i in by_id]),
            "genres": _list_array([genre_lists[i] for i in by_id]),
        }
    )
    genre_names = nm.genre_names(p.n_genres)
    names = pa.table(
        {
            "id": pa.array(
                np.concatenate([track_raw_rec[by_id], album_raw, artist_raw, genre_ids[: p.n_genres]]),
                pa.int64(),
            ),
            "type": pa.array(
                ["track"] * T + ["album"] * n_albums + ["artist"] * len(artist_raw) + ["genre"] * p.n_genres,
                pa.string(),
            ),
            "name": pa.array(
                [track_names[i] for i in by_id] + album_names + id_names + genre_names, pa.string()
            ),
        }
    )
    versions = pa.table(
        {
            "track_id": pa.array(track_raw_rec[by_id], pa.int64()),
            "original_track_id": pa.array(orig_raw_rec[by_id], pa.int64()),
            "version_type": pa.array([VERSION_TYPES[v] for v in t_version[by_id]], pa.string()),
        }
    )
    aliases = pa.table(
        {
            "artist_id": pa.array(artist_raw, pa.int64()),
            "true_artist_id": pa.array(true_artist_raw[id_owner], pa.int64()),
        }
    )
    return Catalog(
        track_raw_id=track_raw_rec[order],
        track_cluster=t_cluster[order].astype(np.int32),
        track_artist=t_artist_sorted[order].astype(np.int32),
        track_pop=t_pop[order].astype(np.float64),
        track_release=t_release[order],
        track_hype=t_hype[order],
        track_tau=t_tau[order],
        track_version=t_version[order],
        track_original=orig_raw_rec[order],
        cluster_start=cluster_start,
        artist_start=artist_start,
        artist_cluster=all_cluster_sorted.astype(np.int32),
        tracks=tracks,
        catalog_names=names,
        track_versions=versions,
        artist_aliases=aliases,
        genre_ids=genre_ids,
        n_catalog_genres=p.n_genres,
    )
