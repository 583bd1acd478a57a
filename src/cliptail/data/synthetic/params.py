"""Parameters of the synthetic world: defaults, validation, resolution from a config dict.

:meth:`WorldParams.from_config` takes the ``world:`` section of the configuration (a plain,
possibly partial, nested dict), rejects unknown keys and bad values with a ``ValueError`` naming
the key (``world.frequency.profile: ...``) and fills every missing key from the defaults below.
The table of keys is in the package docstring (:mod:`cliptail.data.synthetic`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cliptail.data.synthetic.concepts import COLORS, PATTERNS, SHAPES, attribute_combinations
from cliptail.data.synthetic.profiles import PROFILES
from cliptail.data.synthetic.render import MAX_PARTS

ROOT = "world"


def _range(lo: float | None = None, hi: float | None = None, choices: tuple = ()) -> dict:
    return {"lo": lo, "hi": hi, "choices": choices}


@dataclass(frozen=True)
class FrequencyParams:
    """Shape of a source's long-tailed concept-frequency curve."""

    profile: str = field(default="incaps", metadata=_range(choices=PROFILES))
    zipf_exponent: float = field(default=1.0, metadata=_range(0.0, 5.0))


@dataclass(frozen=True)
class CaptionParams:
    """Rates of one source's metadata text (see :mod:`cliptail.data.synthetic.text`).

    Curated defaults follow ImageNet-Captions' field presence (1.3% of titles, 9% of tag lists
    and 40% of descriptions are empty in the released data).
    """

    p_title_empty: float = field(default=0.013, metadata=_range(0.0, 1.0))
    p_tags_empty: float = field(default=0.09, metadata=_range(0.0, 1.0))
    p_description_empty: float = field(default=0.40, metadata=_range(0.0, 1.0))
    p_name_title: float = field(default=0.30, metadata=_range(0.0, 1.0))
    p_name_tags: float = field(default=0.40, metadata=_range(0.0, 1.0))
    p_name_description: float = field(default=0.15, metadata=_range(0.0, 1.0))
    p_synonym: float = field(default=0.30, metadata=_range(0.0, 1.0))
    p_attribute: float = field(default=0.70, metadata=_range(0.0, 1.0))
    p_misleading: float = field(default=0.05, metadata=_range(0.0, 1.0))


WEB_CAPTIONS = CaptionParams(
    p_title_empty=0.0,
    p_tags_empty=0.85,
    p_description_empty=0.75,
    p_name_title=0.60,
    p_name_tags=0.50,
    p_name_description=0.40,
    p_synonym=0.30,
    p_attribute=0.45,
    p_misleading=0.12,
)


@dataclass(frozen=True)
class WorldParams:
    """All knobs of the synthetic world (documented in the package docstring)."""

    seed: int = field(default=0, metadata=_range(0, 2**32 - 1))
    num_classes: int = field(default=200, metadata=_range(2))
    num_open_world: int = field(default=100, metadata=_range(0))
    image_size: int = field(default=32, metadata=_range(16, 256))
    train_size: int = field(default=20000, metadata=_range(1))
    web_size: int = field(default=30000, metadata=_range(0))
    val_per_class: int = field(default=20, metadata=_range(1))
    v2_per_class: int = field(default=10, metadata=_range(1))
    frequency: FrequencyParams = field(default_factory=FrequencyParams)
    web_frequency: FrequencyParams = field(default_factory=lambda: FrequencyParams(profile="laion"))
    web_rank_correlation: float = field(default=0.25, metadata=_range(-1.0, 1.0))
    diversity: float = field(default=0.5, metadata=_range(0.0, 1.0))
    clutter: float = field(default=0.8, metadata=_range(0.0, 4.0))
    web_shift: float = field(default=0.5, metadata=_range(0.0, 1.0))
    v2_shift: float = field(default=0.3, metadata=_range(0.0, 1.0))
    num_shapes: int = field(default=8, metadata=_range(1, len(SHAPES)))
    num_colors: int = field(default=8, metadata=_range(1, len(COLORS)))
    num_patterns: int = field(default=5, metadata=_range(1, len(PATTERNS)))
    max_parts: int = field(default=3, metadata=_range(1, MAX_PARTS))
    max_synonyms: int = field(default=3, metadata=_range(1, 5))
    captions: CaptionParams = field(default_factory=CaptionParams)
    web_captions: CaptionParams = field(default_factory=lambda: WEB_CAPTIONS)

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> WorldParams:
        """Validate a (partial) ``world:`` config dict and fill defaults."""
        params = _build(cls, cls(), config or {}, ROOT)
        total = params.num_classes + params.num_open_world
        combos = attribute_combinations(
            params.num_shapes, params.num_colors, params.num_patterns, params.max_parts
        )
        if combos < total:
            raise ValueError(
                f"{ROOT}.num_shapes/num_colors/num_patterns/max_parts: "
                f"{params.num_shapes}*{params.num_colors}*{params.num_patterns}*"
                f"{params.max_parts} = {combos} attribute combinations cannot give "
                f"{total} distinct concepts (num_classes + num_open_world); raise a group size "
                f"or lower the number of concepts"
            )
        return params

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _build(cls: type, defaults: Any, config: Mapping[str, Any], where: str) -> Any:
    if not isinstance(config, Mapping):
        raise ValueError(
            f"{where}: expected a mapping of keys to values, got {type(config).__name__}"
        )
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(config) - set(known))
    if unknown:
        raise ValueError(
            f"{where}.{unknown[0]}: unknown key; valid keys are {', '.join(sorted(known))}"
        )
    values = {}
    for name, f in known.items():
        default = getattr(defaults, name)
        if name not in config:
            values[name] = default
        elif dataclasses.is_dataclass(default):
            values[name] = _build(type(default), default, config[name], f"{where}.{name}")
        else:
            values[name] = _check(config[name], type(default), f.metadata, f"{where}.{name}")
    return cls(**values)


def _check(value: Any, kind: type, spec: Mapping[str, Any], where: str) -> Any:
    if kind is str:
        if value not in spec["choices"]:
            raise ValueError(f"{where}: must be one of {', '.join(spec['choices'])}; got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where}: must be a number, got {value!r}")
    if kind is int:
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"{where}: must be an integer, got {value!r}")
        value = int(value)
    else:
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"{where}: must be finite, got {value!r}")
    lo, hi = spec["lo"], spec["hi"]
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        bounds = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise ValueError(f"{where}: must be {bounds}, got {value!r}")
    return value
