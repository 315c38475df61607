"""Messy, realistic-looking names for artists, albums, tracks and genres.

Why this module exists: the warehouse must prove it can deduplicate artists and tracks by
normalized name, so names carry the real log's noise (case, diacritics, punctuation, extra
whitespace, brackets, `feat.` suffixes, version markers, Cyrillic and other scripts) while
every *distinct* true entity keeps a distinct normalized base name.

Normalization assumed by the truth (`normalize`): Unicode NFKD, combining marks dropped,
casefold, every non-alphanumeric character turned into a space, whitespace collapsed.
Punctuation noise is only ever placed next to a space or at an end, so a normalizer that
deletes punctuation instead of spacing it reaches the same key.
"""

from __future__ import annotations

import random
import re
import unicodedata

import numpy as np

_NON_ALNUM = re.compile(r"[\W_]+", re.UNICODE)

_LAT_ON = "b c d f g h j k l m n p r s t v w z br ch cr dr fl gr kr pl sh st tr th".split() + [""] * 4
_LAT_VO = "a e i o u ai ea ou y ie a o".split()
_LAT_CO = ["", "", "", "", "n", "r", "s", "l", "x", "m", "nd", "st"]
_CYR_ON = "б в г д ж з к л м н п р с т ф х ц ч ш".split() + [""] * 3
_CYR_VO = "а е и о у я ю ы э а о".split()
_CYR_CO = ["", "", "", "н", "р", "л", "с", "т", "к"]
_GREEK = "κα λο μη νε ρι σο τα φι χο ψυ δε γα".split()
_KANA = "カ キ ク ケ コ サ シ ス セ ソ タ チ ツ テ ト ナ ニ ヌ ネ ノ ハ ヒ マ ミ ム メ モ ヤ ユ ヨ ラ リ ル レ ロ".split()

_EN_WORDS = (
    "love night dream fire heart rain summer light dark shadow city road home sky star moon sun "
    "blue gold wild free young lost dance baby girl boy time world life river ocean stone wind "
    "ghost angel devil money party crazy sweet bitter broken golden silver electric neon midnight "
    "morning highway paradise storm thunder silence echo mirror window garden island desert "
    "winter spring autumn memory forever never always tonight tomorrow yesterday secret magic "
    "fever rhythm soul blood bones wolf tiger lion eagle butterfly rose diamond velvet satellite "
    "rocket signal machine engine sugar honey coffee whiskey cigarette"
).split()
_RU_WORDS = (
    "любовь ночь мечта огонь сердце дождь лето свет тень город дорога дом небо звезда луна солнце "
    "ветер река море время жизнь танец девочка мальчик зима весна осень память навсегда тишина "
    "зеркало сад остров пустыня золото серебро полночь утро кино пепел"
).split()
_COMMON_TITLES = [
    "Intro",
    "Outro",
    "Interlude",
    "Home",
    "Paradise",
    "Forever",
    "Stay",
    "Alone",
    "Вступление",
    "Любовь",
    "Лето",
    "Dreams",
    "Runaway",
    "Skit",
]
_DIACRITIC = {
    "a": "áàâäãå",
    "e": "éèêë",
    "i": "íìîï",
    "o": "óòôöõ",
    "u": "úùûü",
    "n": "ñ",
    "c": "ç",
    "y": "ýÿ",
}
_DECOR_BRACKETS = [
    "(Bonus Track)",
    "[Explicit]",
    "(Original Mix)",
    "(OST)",
    "[Bonus]",
    "(Interlude)",
    "(Prod. by {x})",
    "(из к/ф «{x}»)",
    '(From "{x}")',
    "[Clean]",
    "(Instrumental)",
]
_FEAT = [
    " (feat. {x})",
    " feat. {x}",
    " ft. {x}",
    " (ft. {x})",
    " featuring {x}",
    " (Featuring {x})",
    " feat {x}",
]
MARKERS: dict[str, list[str]] = {
    "single": [
        "",
        "",
        "",
        " - Single Version",
        " (Remastered 2011)",
        " - Remastered 2011",
        " (2015 Remaster)",
    ],
    "remix": [
        " (Remix)",
        " ({x} Remix)",
        " [Remix]",
        " - Extended Mix",
        " (Radio Edit)",
        " (Extended Version)",
        " (Club Mix)",
        " - {x} Remix",
    ],
    "live": [
        " (Live)",
        " - Live",
        " (Live at {x})",
        " [Live]",
        " (Acoustic)",
        " - Acoustic Version",
        " (Live 2019)",
    ],
    "cover": [" (Cover)", " (cover version)", " [Cover]", " (кавер)"],
}
GENRE_BASE = (
    "pop rock rusrap rap hiphop electronics dance alternative indie podcasts metal jazz blues classical soundtrack "
    "folk country reggae rnb soul funk disco house techno trance dubstep drumandbass ambient lounge "
    "chanson estrada rusrock ruspop punk hardrock postrock shoegaze emo ska latin kpop jpop "
    "vocal children audiobooks comedy spoken local foreign bard newage experimental "
    "industrial triphop grunge synthpop edm phonk trap lofi"
).split()
GENRE_MOD = "alt post neo dark indie deep progressive melodic experimental retro euro uk us".split()


def normalize(name: str) -> str:
    """The normalized key under which duplicates (artist aliases, re-releases) coincide."""
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_NON_ALNUM.sub(" ", stripped.casefold()).split())


def _fast_key(clean: str) -> str:
    """`normalize` for clean base names (letters and single spaces, no marks): casefold suffices."""
    return clean.casefold().strip()


class NameMaker:
    """Draws names from one seeded generator, so a seed fixes every string."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        # scalar draws go through Python's Mersenne Twister (seeded from ``rng``): a numpy
        # scalar call carries much more overhead, and names are drawn a few million times at
        # full scale
        self._py = random.Random(int(rng.integers(0, 2**63)))
        self.u = self._py.random
        self._pools = {
            script: [self._make_pseudo(script) for _ in range(size)]
            for script, size in (("lat", 60_000), ("cyr", 20_000), ("greek", 2_000), ("kana", 5_000))
        }

    def pick(self, seq):
        return seq[int(self.u() * len(seq))]

    def randint(self, lo: int, hi: int) -> int:
        """Uniform integer in [lo, hi)."""
        return lo + int(self.u() * (hi - lo))

    # --- words --------------------------------------------------------------------------
    def _make_pseudo(self, script: str) -> str:
        if script == "cyr":
            n = self.randint(1, 4)
            return "".join(self.pick(_CYR_ON) + self.pick(_CYR_VO) + self.pick(_CYR_CO) for _ in range(n))
        if script == "greek":
            return "".join(self.pick(_GREEK) for _ in range(self.randint(2, 4)))
        if script == "kana":
            return "".join(self.pick(_KANA) for _ in range(self.randint(2, 5)))
        n = self.randint(1, 4)
        return "".join(self.pick(_LAT_ON) + self.pick(_LAT_VO) + self.pick(_LAT_CO) for _ in range(n))

    def _pseudo(self, script: str) -> str:
        """A pseudo-word from a pre-drawn pool (drawing syllables per name is the slow part)."""
        return self.pick(self._pools[script])

    def _script(self) -> str:
        x = self.u()
        return "cyr" if x < 0.16 else "greek" if x < 0.17 else "kana" if x < 0.18 else "lat"

    def _word(self, script: str) -> str:
        if script == "lat" and self.u() < 0.55:
            return self.pick(_EN_WORDS)
        if script == "cyr" and self.u() < 0.45:
            return self.pick(_RU_WORDS)
        return self._pseudo(script)

    def title(self, script: str | None = None) -> str:
        """A clean base title (1-3 words), before any decoration."""
        script = script or self._script()
        if self.u() < 0.03:
            return self.pick(_COMMON_TITLES)
        n = self.pick((1, 1, 2, 2, 2, 3))
        return " ".join(self._word(script) for _ in range(n))

    def person(self) -> str:
        """A clean base artist name: a band, a person or a one-word alias."""
        script = self._script()
        kind = self.u()
        if kind < 0.35:
            return " ".join(self._pseudo(script).capitalize() for _ in range(2))
        if kind < 0.5 and script == "lat":
            return "The " + self._word("lat").capitalize() + "s"
        return self.title(script)

    def unique(self, make, n: int, taken: set[str] | None = None) -> list[str]:
        """``n`` names from ``make()`` whose normalized keys are pairwise distinct (and not in ``taken``)."""
        taken = set() if taken is None else taken
        out: list[str] = []
        while len(out) < n:
            name = make()
            key = _fast_key(name)
            tries = 0
            while not key or key in taken:
                tries += 1
                name = f"{name} {self._word('lat') if tries < 3 else self._pseudo('lat')}"
                key = _fast_key(name)
            taken.add(key)
            out.append(name)
        return out

    # --- noise --------------------------------------------------------------------------
    def case_noise(self, name: str) -> str:
        """Title/lower/UPPER/sentence case variants (normalization undoes them)."""
        x = self.u()
        if x < 0.55:
            return name.title() if not name.startswith("The ") else name
        if x < 0.7:
            return name.lower()
        if x < 0.76:
            return name.upper()
        return name[:1].upper() + name[1:]

    def diacritics(self, name: str, share: float = 0.35) -> str:
        """Put accents on some Latin letters (NFKD + mark stripping removes them)."""
        chars = list(name)
        for i, ch in enumerate(chars):
            low = ch.lower()
            if low in _DIACRITIC and self.u() < share:
                acc = self.pick(_DIACRITIC[low])
                chars[i] = acc.upper() if ch.isupper() else acc
        return "".join(chars)

    def space_punct_noise(self, name: str) -> str:
        """Extra whitespace or punctuation next to spaces/ends only (see module docstring)."""
        x = self.u()
        if x < 0.3:
            return name.replace(" ", "  ", 1) if " " in name else name + " "
        if x < 0.55:
            return " " + name
        if x < 0.8:
            return name + self.pick(["!", "?", "...", ".", " !"])
        return name.replace(" ", ", ", 1) if " " in name else "'" + name + "'"

    def alias_of(self, name: str) -> str:
        """Another spelling of an artist name that normalizes to the same key."""
        for _ in range(10):
            x = self.u()
            if x < 0.3:
                alias = name.upper() if name != name.upper() else name.lower()
            elif x < 0.55:
                plain = "".join(
                    c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)
                )
                alias = plain if plain != name else self.diacritics(name, 0.5)
            elif x < 0.8:
                alias = self.space_punct_noise(name)
            else:
                alias = name.replace(" ", " & ", 1) if " " in name else name + " ."
            if alias != name and normalize(alias) == normalize(name):
                return alias
        return name + " "

    def decorate(self, base: str, feat: str | None, version: str | None) -> str:
        """Display name of a track: base + noise + optional brackets, feat suffix, version marker."""
        name = self.case_noise(base)
        if self.u() < 0.08:
            name = self.diacritics(name)
        if self.u() < 0.08:
            name = self.space_punct_noise(name)
        if version is None and self.u() < 0.06:
            name += " " + self._fill(self.pick(_DECOR_BRACKETS))
        if feat is not None:
            name += self.pick(_FEAT).format(x=feat)
        if version is not None:
            name += self._fill(self.pick(MARKERS[version]))
        return name

    def _fill(self, template: str) -> str:
        """Fill a ``{x}`` placeholder (remixer, venue, film) with a fresh title."""
        return template.format(x=self.title("lat").title()) if "{x}" in template else template

    def genre_names(self, n: int) -> list[str]:
        """``n`` distinct genre names: the real base list first, then modified ones."""
        names = list(GENRE_BASE)
        while len(names) < n:
            cand = f"{self.pick(GENRE_MOD)}{self.pick(GENRE_BASE)}"
            if cand not in names:
                names.append(cand)
        return names[:n]

    def podcast_episode(self, show: str, k: int) -> str:
        return str(
            self.pick(
                [
                    f"Выпуск {k}. {self.title('cyr')}",
                    f"Episode {k}: {self.title('lat')}",
                    f"#{k} {self.title()}",
                    f"{show} — {k}",
                ]
            )
        )
