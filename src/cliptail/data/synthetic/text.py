"""Per-image metadata text (title, tags, description) of graded descriptiveness.

Two writing styles:

- *flickr* (the curated source, like ImageNet-Captions): a short title (the concept's name or a
  synonym, an attribute phrase, or something uninformative such as "IMG_2041"), a few
  single-word tags (some attributes, the name at some rate, camera/occasion noise tags) and a
  description sentence of the specific instance: the attributes that were rendered, its size,
  position and tilt, the background colour and the distractors next to it;
- *alt* (the web source, like LAION alt-text): keyword-stuffed titles with shop/stock-photo
  phrases, rare tags, short sales-style descriptions.

Each rendered attribute is mentioned independently with probability ``p_attribute``; a mention is
replaced by a wrong value of the same attribute group with probability ``p_misleading``; the name
(or, with probability ``p_synonym``, one of its other synonyms) appears in a non-empty field with
probability ``p_name_<field>``; a field is the empty string with probability ``p_<field>_empty``.
So the description carries the most visual information, tags some, the title little, and names
appear at set rates rather than always.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cliptail.data.synthetic.concepts import COLORS, PARTS, PATTERNS, SHAPES, Concept, accent_of
from cliptail.data.synthetic.params import CaptionParams
from cliptail.data.synthetic.render import BACKGROUNDS, Instances

UNINFORMATIVE_TITLES = (
    "IMG_{n4}",
    "DSC{n5}",
    "DSC_{n4}",
    "P{n7}",
    "untitled",
    "my holiday",
    "summer {year}",
    "weekend",
    "at home",
    "photo {n2}",
    "new stuff",
    "random",
    "test shot",
    "from the archive",
    "birthday",
    "rainy day",
    "just because",
    "spring {year}",
)
NAME_TITLES = (
    "{name}",
    "{Name}",
    "my {name}",
    "{name} #{n1}",
    "the {name}",
    "{Name} close up",
    "another {name}",
    "{name} at home",
    "{Name}!",
    "{name} {year}",
)
NOISE_TAGS = (
    "nikon",
    "canon",
    "sony",
    "flickr",
    "explore",
    "macro",
    "travel",
    "family",
    "friends",
    "home",
    "art",
    "color",
    "photo",
    "2007",
    "2008",
    "2009",
    "2010",
    "summer",
    "winter",
    "vacation",
    "dslr",
    "closeup",
    "light",
    "nature",
    "city",
)
OPENERS = ("", "", "", "photo of ", "i found ", "a picture of ", "look at ")
NAME_FRAMES = (
    "my {name}, {thing}",
    "{thing}, a {name}",
    "a {name}: {thing}",
    "this {name} is {thing}",
    "{thing} (a {name})",
)
NOISE_SENTENCES = (
    "taken with my new camera.",
    "shot on a sunny afternoon.",
    "more in my photostream.",
    "please do not use without permission.",
    "one of my favourites.",
    "found this at the market.",
    "comments welcome.",
)

SEO_PHRASES = (
    "stock photo",
    "hd wallpaper",
    "free shipping",
    "vector illustration",
    "png",
    "for sale",
    "clipart",
    "high quality",
    "best price",
    "buy online",
    "new arrival",
    "royalty free",
    "set of {n1}",
    "image {n1} of {n2}",
    "wholesale",
)
ALT_TAGS = ("sale", "cheap", "new", "gift", "shop", "design", "decor", "wallpaper", "png", "stock")
ALT_UNINFORMATIVE = (
    "image {n1} of {n2}",
    "untitled-{n1}",
    "dsc_{n4}.jpg",
    "product photo",
    "thumbnail",
    "default image",
    "img {n5}",
)
ALT_DESCRIPTIONS = (
    "buy {thing} online.",
    "high quality {thing} at the best price.",
    "{thing}, free shipping on orders over {n2} dollars.",
    "shop our collection of {thing}.",
    "{thing}. click to see more.",
)


@dataclass(frozen=True)
class Scene:
    """Instance-specific descriptors derived from what was rendered (per image)."""

    size: str  # "small" | "large" | ""
    position: str  # "in the centre", "in the top left corner", "on the left", ...
    tilted: bool
    background: str
    distractors: int
    distractor: tuple[int, int] | None  # (colour, shape) of the first distractor


def scenes(inst: Instances) -> list[Scene]:
    """Describe each rendered instance: size from the object radius (small < 0.45 < medium <
    0.68 < large), position from the centre (|coordinate| > 0.15 counts as off-centre), tilt
    from the rotation (|theta| > 0.35 rad, except for rotation-invariant discs and rings)."""
    out = []
    for i in range(len(inst.label)):
        scale, cx, cy = float(inst.scale[i]), float(inst.cx[i]), float(inst.cy[i])
        size = "small" if scale < 0.45 else "large" if scale > 0.68 else ""
        vertical = "top" if cy < -0.15 else "bottom" if cy > 0.15 else ""
        horizontal = "left" if cx < -0.15 else "right" if cx > 0.15 else ""
        if vertical and horizontal:
            position = f"in the {vertical} {horizontal} corner"
        elif vertical:
            position = f"at the {vertical}"
        elif horizontal:
            position = f"on the {horizontal}"
        else:
            position = "in the centre"
        shape = int(inst.shape[i])
        tilted = abs(float(inst.theta[i])) > 0.35 and SHAPES[shape][0] not in ("disc", "ring")
        k = int(inst.num_distractors[i])
        first = (int(inst.distractor_color[i, 0]), int(inst.distractor_shape[i, 0])) if k else None
        out.append(Scene(size, position, tilted, BACKGROUNDS[int(inst.background[i])][0], k, first))
    return out


class CaptionWriter:
    """Writes (title, tags, description) for instances of a world's concepts.

    ``group_sizes`` = (shapes, colours, patterns, max parts) of the world: misleading words are
    drawn from these groups, so they name attributes of other concepts of the same world.
    """

    def __init__(self, concepts: Sequence[Concept], group_sizes: tuple[int, int, int, int]):
        self.concepts = concepts
        self.num_shapes, self.num_colors, self.num_patterns, self.max_parts = group_sizes

    # --- small pieces ---------------------------------------------------------------------

    @staticmethod
    def _fill(template: str, r: random.Random, **words: str) -> str:
        numbers = {
            "n1": str(r.randint(2, 12)),
            "n2": str(r.randint(10, 99)),
            "n4": f"{r.randint(0, 9999):04d}",
            "n5": f"{r.randint(0, 99999):05d}",
            "n7": f"{r.randint(0, 9999999):07d}",
            "year": str(r.randint(2004, 2014)),
        }
        return template.format(**numbers, **words)

    def _mention(self, concept: Concept, rates: CaptionParams, r: random.Random) -> str:
        if len(concept.synonyms) > 1 and r.random() < rates.p_synonym:
            return r.choice(concept.synonyms[1:])
        return concept.name

    @staticmethod
    def _maybe_wrong(value: int, group_size: int, rates: CaptionParams, r: random.Random) -> int:
        if group_size > 1 and r.random() < rates.p_misleading:
            wrong = r.randrange(group_size - 1)
            return wrong + (wrong >= value)
        return value

    def _object(
        self,
        concept: Concept,
        scene: Scene,
        rates: CaptionParams,
        r: random.Random,
        *,
        size: bool = True,
        lead: bool = True,
    ) -> str:
        """Noun phrase of the rendered object, each attribute mentioned with ``p_attribute``.

        An unmentioned part count leaves the noun's number (singular/plural) true; an
        unmentioned shape becomes "shape(s)". ``lead=False`` drops the article/count word.
        """

        def mention() -> bool:
            return r.random() < rates.p_attribute

        parts = (
            self._maybe_wrong(concept.parts - 1, self.max_parts, rates, r) + 1
            if mention()
            else None
        )
        plural = (parts or concept.parts) > 1
        words = []
        if size and scene.size and mention():
            words.append(scene.size)
        color = self._maybe_wrong(concept.color, self.num_colors, rates, r) if mention() else None
        if color is not None:
            words.append(COLORS[color][0])
        pattern = (
            self._maybe_wrong(concept.pattern, self.num_patterns, rates, r) if mention() else 0
        )
        as_adjective = r.random() < 0.5
        if pattern and as_adjective:
            words.append(PATTERNS[pattern][1])
        if mention():
            shape = self._maybe_wrong(concept.shape, self.num_shapes, rates, r)
            words.append(SHAPES[shape][1] if plural else SHAPES[shape][0])
        else:
            words.append("shapes" if plural else "shape")
        if lead:
            if parts is not None and parts > 1:
                words.insert(0, r.choice(PARTS[parts - 1]))
            elif not plural:
                words.insert(0, "an" if words[0][0] in "aeiou" else "a")
        phrase = " ".join(words)
        if pattern and not as_adjective:
            accent = accent_of(color if color is not None else concept.color)
            noun = PATTERNS[pattern][0]
            detail = f"a {accent} {noun}" if noun in ("rim", "zigzag") else f"{accent} {noun}"
            phrase += f" with {detail}"
        return phrase

    def _distractor_phrase(self, scene: Scene, r: random.Random) -> str:
        color, shape = scene.distractor
        first = f"a small {COLORS[color][0]} {SHAPES[shape][0]}"
        if scene.distractors == 1:
            return r.choice(("next to ", "beside ", "with ")) + first
        others = PARTS[scene.distractors - 1][0] if scene.distractors <= len(PARTS) else "some"
        return r.choice(
            (
                f"next to {first} and other shapes",
                f"among {others} other shapes",
                f"with {first} nearby",
            )
        )

    # --- flickr style ---------------------------------------------------------------------

    def _flickr_title(
        self, concept: Concept, scene: Scene, rates: CaptionParams, r: random.Random
    ) -> str:
        if r.random() < rates.p_title_empty:
            return ""
        if r.random() < rates.p_name_title:
            name = self._mention(concept, rates, r)
            return self._fill(r.choice(NAME_TITLES), r, name=name, Name=name.capitalize())
        if r.random() < 0.5:
            return self._fill(r.choice(UNINFORMATIVE_TITLES), r)
        if r.random() < 0.7:
            return self._object(concept, scene, rates, r, size=False, lead=False)
        return f"{scene.background} background"

    def _flickr_tags(
        self, concept: Concept, scene: Scene, rates: CaptionParams, r: random.Random
    ) -> str:
        if r.random() < rates.p_tags_empty:
            return ""
        tags = []
        if r.random() < rates.p_name_tags:
            tags.append(self._mention(concept, rates, r))
        if r.random() < rates.p_attribute:
            tags.append(COLORS[self._maybe_wrong(concept.color, self.num_colors, rates, r)][0])
        if r.random() < rates.p_attribute:
            tags.append(SHAPES[self._maybe_wrong(concept.shape, self.num_shapes, rates, r)][0])
        if concept.pattern and r.random() < rates.p_attribute:
            tags.append(
                PATTERNS[self._maybe_wrong(concept.pattern, self.num_patterns, rates, r)][0]
            )
        if r.random() < 0.25:
            tags.append(scene.background)
        tags.extend(r.sample(NOISE_TAGS, r.randint(1, 4)))
        r.shuffle(tags)
        return " ".join(dict.fromkeys(tags))

    def _flickr_description(
        self, concept: Concept, scene: Scene, rates: CaptionParams, r: random.Random
    ) -> str:
        if r.random() < rates.p_description_empty:
            return ""
        text = self._object(concept, scene, rates, r)
        if r.random() < rates.p_name_description:
            text = r.choice(NAME_FRAMES).format(name=self._mention(concept, rates, r), thing=text)
        else:
            text = r.choice(OPENERS) + text
        if r.random() < rates.p_attribute:
            text += f" on a {scene.background} background"
        if r.random() < 0.6 * rates.p_attribute:
            text += " " + scene.position
        if scene.distractors and r.random() < rates.p_attribute:
            text += " " + self._distractor_phrase(scene, r)
        if scene.tilted and r.random() < 0.5 * rates.p_attribute:
            text += ", slightly tilted"
        text = text[0].upper() + text[1:] + "."
        if r.random() < 0.3:
            text += " " + r.choice(NOISE_SENTENCES).capitalize()
        return text

    # --- alt-text style -------------------------------------------------------------------

    def _alt_title(
        self, concept: Concept, scene: Scene, rates: CaptionParams, r: random.Random
    ) -> str:
        if r.random() < rates.p_title_empty:
            return ""
        pieces = []
        if r.random() < rates.p_name_title:
            pieces.append(self._mention(concept, rates, r))
        if r.random() < rates.p_attribute:
            pieces.append(self._object(concept, scene, rates, r, size=False, lead=False))
        if r.random() < 0.6:
            pieces.append(self._fill(r.choice(SEO_PHRASES), r))
        if not pieces:
            pieces.append(self._fill(r.choice(ALT_UNINFORMATIVE), r))
        text = r.choice((" ", " - ", " | ", ", ")).join(pieces)
        return text.title() if r.random() < 0.4 else text

    def _alt_tags(
        self, concept: Concept, scene: Scene, rates: CaptionParams, r: random.Random
    ) -> str:
        if r.random() < rates.p_tags_empty:
            return ""
        tags = []
        if r.random() < rates.p_name_tags:
            tags.append(self._mention(concept, rates, r))
        if r.random() < rates.p_attribute:
            tags.append(COLORS[self._maybe_wrong(concept.color, self.num_colors, rates, r)][0])
        if r.random() < rates.p_attribute:
            tags.append(SHAPES[self._maybe_wrong(concept.shape, self.num_shapes, rates, r)][0])
        tags.extend(r.sample(ALT_TAGS, r.randint(1, 5)))
        return " ".join(dict.fromkeys(tags))

    def _alt_description(
        self, concept: Concept, scene: Scene, rates: CaptionParams, r: random.Random
    ) -> str:
        if r.random() < rates.p_description_empty:
            return ""
        thing = self._object(concept, scene, rates, r, size=False, lead=False)
        if r.random() < rates.p_name_description:
            thing = f"{self._mention(concept, rates, r)} {thing}"
        text = self._fill(r.choice(ALT_DESCRIPTIONS), r, thing=thing)
        return text[0].upper() + text[1:]

    # --- public ---------------------------------------------------------------------------

    def write(
        self, inst: Instances, web_style: Sequence[bool], rates: CaptionParams, r: random.Random
    ) -> tuple[list[str], list[str], list[str]]:
        """Titles, tags and descriptions for every instance; ``web_style[i]`` selects the
        alt-text style for row ``i`` (else the flickr style)."""
        titles, tags, descriptions = [], [], []
        for i, scene in enumerate(scenes(inst)):
            concept = self.concepts[int(inst.label[i])]
            if web_style[i]:
                title = self._alt_title(concept, scene, rates, r)
                tag = self._alt_tags(concept, scene, rates, r)
                description = self._alt_description(concept, scene, rates, r)
            else:
                title = self._flickr_title(concept, scene, rates, r)
                tag = self._flickr_tags(concept, scene, rates, r)
                description = self._flickr_description(concept, scene, rates, r)
            titles.append(title)
            tags.append(tag)
            descriptions.append(description)
        return titles, tags, descriptions


def prompt_templates() -> tuple[str, ...]:
    """The world's own zero-shot prompts: the curated titles that name the concept and nothing
    else (no numbers or years to draw), e.g. ``"{name}"``, ``"the {name}"``, ``"{Name} close
    up"``. Fields: ``{name}`` and ``{Name}`` (capitalised), as the title writer fills them."""
    fields = re.compile(r"\{([^}]*)\}")
    return tuple(t for t in NAME_TITLES if set(fields.findall(t)) <= {"name", "Name"})


def caption_words() -> set[str]:
    """Every lowercase word the writers can produce besides names (names must avoid them)."""
    texts = [
        *UNINFORMATIVE_TITLES,
        *NAME_TITLES,
        *NOISE_TAGS,
        *OPENERS,
        *NAME_FRAMES,
        *NOISE_SENTENCES,
        *SEO_PHRASES,
        *ALT_TAGS,
        *ALT_UNINFORMATIVE,
        *ALT_DESCRIPTIONS,
        *(name for name, _ in BACKGROUNDS),
        "background",
        "shape",
        "shapes",
        "small",
        "large",
        "in the centre top bottom left right corner at on slightly tilted",
        "next to beside with and other among some nearby an a",
    ]
    words: set[str] = set()
    for text in texts:
        words.update(re.findall(r"[a-z]+", re.sub(r"\{[^}]*\}", " ", text.lower())))
    return words
