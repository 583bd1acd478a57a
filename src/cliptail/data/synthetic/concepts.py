"""Concepts of the synthetic world: pseudo-word names, synonyms, definitions, attributes.

A concept's visual identity is a combination of four shared attributes: *shape*, *colour*,
*pattern* (drawn in an accent colour) and *parts* (how many copies of the shape make up one
object). Attribute groups are shared by all concepts, so related concepts share parts, and the
English words for attribute values ("red", "stripes", "a pair of") are the same across
concepts: this is what lets language transfer knowledge from frequent to rare concepts. Every
concept has a unique combination. Names are pronounceable lowercase ASCII pseudo-words
("vorlat"), distinct from each other and from every word the world's captions use otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# --- attribute vocabularies (a world with group size k uses the first k entries) -------------

# shape: (singular, plural)
SHAPES: tuple[tuple[str, str], ...] = (
    ("disc", "discs"),
    ("square", "squares"),
    ("triangle", "triangles"),
    ("ring", "rings"),
    ("cross", "crosses"),
    ("star", "stars"),
    ("diamond", "diamonds"),
    ("hexagon", "hexagons"),
    ("crescent", "crescents"),
    ("bar", "bars"),
)

# colour: (name, linear RGB in [0, 1])
COLORS: tuple[tuple[str, tuple[float, float, float]], ...] = (
    ("red", (0.85, 0.12, 0.12)),
    ("orange", (0.95, 0.55, 0.10)),
    ("yellow", (0.95, 0.85, 0.15)),
    ("green", (0.20, 0.65, 0.22)),
    ("blue", (0.15, 0.30, 0.85)),
    ("purple", (0.55, 0.20, 0.72)),
    ("pink", (0.95, 0.50, 0.72)),
    ("brown", (0.48, 0.28, 0.12)),
    ("teal", (0.08, 0.58, 0.58)),
    ("white", (0.94, 0.94, 0.94)),
    ("black", (0.08, 0.08, 0.08)),
)

# pattern: (noun as in "with white stripes", adjective as in "a striped disc")
PATTERNS: tuple[tuple[str, str], ...] = (
    ("plain", "plain"),
    ("stripes", "striped"),
    ("dots", "dotted"),
    ("checks", "checkered"),
    ("bands", "banded"),
    ("rim", "rimmed"),
    ("zigzag", "zigzag"),
)

# parts: (count word, phrase for one object of that many parts, phrase in a definition)
PARTS: tuple[tuple[str, str], ...] = (
    ("one", "a single"),
    ("two", "a pair of"),
    ("three", "a group of three"),
    ("four", "a group of four"),
)

# accent colour of the pattern: dark concepts get white details, light ones black
ACCENT_WHITE, ACCENT_BLACK = "white", "black"
ACCENT_RGB = {ACCENT_WHITE: (0.97, 0.97, 0.95), ACCENT_BLACK: (0.06, 0.06, 0.08)}

# --- pseudo-word names ------------------------------------------------------------------------

_ONSETS = (
    "b",
    "d",
    "f",
    "g",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "t",
    "v",
    "z",
    "br",
    "dr",
    "fl",
    "gr",
    "kl",
    "kr",
    "pl",
    "sk",
    "st",
    "tr",
    "vr",
    "zh",
)
_NUCLEI = ("a", "e", "i", "o", "u", "a", "o", "ai", "ou", "ei")
_CODAS = ("n", "r", "l", "s", "t", "k", "m", "x")
MIN_NAME_LENGTH = 5


@dataclass(frozen=True)
class Concept:
    """One concept: identity (attribute indices into the vocabularies above) and language."""

    index: int
    id: str
    name: str
    synonyms: tuple[str, ...]  # first = name
    is_eval: bool
    shape: int
    color: int
    pattern: int
    parts: int  # number of copies of the shape, 1..max_parts

    @property
    def accent(self) -> str:
        return accent_of(self.color)

    @property
    def definition(self) -> str:
        """One plain-English line naming every attribute.

        E.g. 'a pair of red discs with white stripes'.
        """
        return object_phrase(self.shape, self.color, self.pattern, self.parts)

    @property
    def attributes(self) -> str:
        """``shape=...;color=...;pattern=...;parts=...;accent=...``."""
        return (
            f"shape={SHAPES[self.shape][0]};color={COLORS[self.color][0]};"
            f"pattern={PATTERNS[self.pattern][0]};parts={self.parts};accent={self.accent}"
        )


def accent_of(color: int) -> str:
    """Accent colour name of a body colour: white on dark colours, black on light ones."""
    r, g, b = COLORS[color][1]
    return ACCENT_BLACK if 0.299 * r + 0.587 * g + 0.114 * b > 0.55 else ACCENT_WHITE


def object_phrase(shape: int, color: int, pattern: int, parts: int) -> str:
    """Full noun phrase of an object with these attributes (used for definitions)."""
    singular, plural = SHAPES[shape]
    noun = singular if parts == 1 else plural
    lead = PARTS[parts - 1][1]
    colour = COLORS[color][0]
    pattern_noun = PATTERNS[pattern][0]
    if pattern_noun == "plain":
        return f"{lead} plain {colour} {noun}"
    detail = (
        f"a {accent_of(color)} {pattern_noun}"
        if pattern_noun in ("rim", "zigzag")
        else f"{accent_of(color)} {pattern_noun}"
    )
    return f"{lead} {colour} {noun} with {detail}"


def vocabulary_words() -> set[str]:
    """Every word of the attribute vocabularies (a name must not collide with any of them)."""
    words: set[str] = set()
    for group in (SHAPES, PATTERNS, PARTS):
        for entry in group:
            for phrase in entry:
                words.update(phrase.split())
    words.update(name for name, _ in COLORS)
    words.update(ACCENT_RGB)
    return words


def _pseudo_word(rng: np.random.Generator) -> str:
    syllables = 2 if rng.random() < 0.7 else 3
    word = ""
    for _ in range(syllables):
        word += _ONSETS[rng.integers(len(_ONSETS))] + _NUCLEI[rng.integers(len(_NUCLEI))]
        if rng.random() < 0.4:
            word += _CODAS[rng.integers(len(_CODAS))]
    return word


def pseudo_words(count: int, rng: np.random.Generator, reserved: set[str]) -> list[str]:
    """``count`` distinct pronounceable pseudo-words of at least 5 letters, none in ``reserved``."""
    words: list[str] = []
    seen = set(reserved)
    while len(words) < count:
        word = _pseudo_word(rng)
        if len(word) >= MIN_NAME_LENGTH and word not in seen:
            seen.add(word)
            words.append(word)
    return words


def attribute_combinations(
    num_shapes: int, num_colors: int, num_patterns: int, max_parts: int
) -> int:
    """Number of distinct attribute combinations (an upper bound on the number of concepts)."""
    return num_shapes * num_colors * num_patterns * max_parts


def make_concepts(
    num_eval: int,
    num_open_world: int,
    *,
    num_shapes: int,
    num_colors: int,
    num_patterns: int,
    max_parts: int,
    max_synonyms: int,
    rng: np.random.Generator,
    reserved_words: set[str],
) -> list[Concept]:
    """Evaluation concepts (indices ``0..num_eval-1``) then open-world concepts.

    Attribute combinations are drawn uniformly without replacement from the full product, so
    every concept is unique and related concepts (differing in one attribute) are common.
    Each concept gets ``1..max_synonyms`` names (uniform), the first being its name.
    """
    total = num_eval + num_open_world
    combos = attribute_combinations(num_shapes, num_colors, num_patterns, max_parts)
    if total > combos:
        raise ValueError(
            f"{total} concepts need at least as many attribute combinations, "
            f"but the attribute groups give only {combos}"
        )
    picks = rng.choice(combos, size=total, replace=False)
    shape, rest = np.divmod(picks, num_colors * num_patterns * max_parts)
    color, rest = np.divmod(rest, num_patterns * max_parts)
    pattern, parts = np.divmod(rest, max_parts)
    num_names = rng.integers(1, max_synonyms + 1, size=total)
    words = pseudo_words(int(num_names.sum()), rng, reserved_words | vocabulary_words())
    concepts, start = [], 0
    for i in range(total):
        names = tuple(words[start : start + int(num_names[i])])
        start += int(num_names[i])
        concepts.append(
            Concept(
                index=i,
                id=f"c{i:04d}",
                name=names[0],
                synonyms=names,
                is_eval=i < num_eval,
                shape=int(shape[i]),
                color=int(color[i]),
                pattern=int(pattern[i]),
                parts=int(parts[i]) + 1,
            )
        )
    return concepts
