"""Model configs by name: open_clip's built-in ones plus cliptail's tiny configs.

cliptail's configs live as open_clip JSON files in ``model_configs/`` next to this module and are
registered with :func:`open_clip.add_model_config`, so every open_clip function (``create_model``,
``get_tokenizer``, ``get_model_config``) knows them. ``cliptail-tiny-rn`` is CLIP's modified
ResNet (3-conv stem, anti-aliased strided convolutions, attention pooling) sized for the 32x32
synthetic world, with a 2-layer text transformer; ``RN50`` is the paper's backbone.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from cliptail.openclip import load_open_clip

open_clip = load_open_clip()
CONFIG_DIR = Path(__file__).resolve().parent / "model_configs"
DEFAULT_MODEL = "cliptail-tiny-rn"

#: Override name -> (section of the open_clip config, key in it). ``None`` = top level.
OVERRIDES: dict[str, tuple[str | None, str]] = {
    "embed_dim": (None, "embed_dim"),
    "image_size": ("vision_cfg", "image_size"),
    "vision_layers": ("vision_cfg", "layers"),
    "vision_width": ("vision_cfg", "width"),
    "context_length": ("text_cfg", "context_length"),
    "text_width": ("text_cfg", "width"),
    "text_heads": ("text_cfg", "heads"),
    "text_layers": ("text_cfg", "layers"),
}


def register_model_configs() -> None:
    """Make cliptail's JSON configs known to open_clip (idempotent)."""
    known = set(open_clip.list_models())
    if any(p.stem not in known for p in CONFIG_DIR.glob("*.json")):
        open_clip.add_model_config(CONFIG_DIR)


def model_config(name: str, **overrides: Any) -> dict[str, Any]:
    """The open_clip config of model ``name`` with ``overrides`` (keys of :data:`OVERRIDES`) applied.

    ``None`` values leave the config's own value. Raises ``ValueError`` for an unknown name or key
    and for configs with a Hugging Face or timm tower (see :mod:`cliptail.openclip`).
    """
    register_model_configs()
    base = open_clip.get_model_config(name)
    if base is None:
        ours = sorted(p.stem for p in CONFIG_DIR.glob("*.json"))
        raise ValueError(
            f"unknown model config {name!r}: use one of cliptail's {ours} or an "
            f"open_clip name such as 'RN50' (open_clip.list_models() lists them)"
        )
    foreign = [
        f"{section}.{key}"
        for section, key in (("text_cfg", "hf_model_name"), ("vision_cfg", "timm_model_name"))
        if base.get(section, {}).get(key)
    ]
    if foreign:
        raise ValueError(
            f"model config {name!r} builds a Hugging Face or timm tower ({', '.join(foreign)}); "
            "cliptail trains open_clip's own towers only (modified ResNet, ViT, transformer)"
        )
    cfg = copy.deepcopy(base)
    for key, value in overrides.items():
        if key not in OVERRIDES:
            raise ValueError(f"unknown model override {key!r}; known: {sorted(OVERRIDES)}")
        if value is None:
            continue
        section, field = OVERRIDES[key]
        target = cfg if section is None else cfg.setdefault(section, {})
        target[field] = list(value) if isinstance(value, tuple) else value
    return cfg
