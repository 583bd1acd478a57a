"""CLIP models: a trainable text tower (open_clip) or a frozen pre-trained one (embeddings).

The trainable tower starts from random weights (``text_tower: rand``) or from a pre-trained
open_clip model's text tower and projection (``clip_init``, :func:`init_text_tower`); the frozen
one is a frozen encoder's embeddings (``frozen``, ``roberta``) with a projection. All return, from ``forward``, the L2-normalised image and text features and the logit scale
``exp(s)``; the contrastive loss is open_clip's ``ClipLoss``. ``s`` starts at ln(1/0.07) and is
clamped to [0, ln 100] after every optimiser step (:meth:`clamp_logit_scale`).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cliptail.openclip import load_open_clip

open_clip = load_open_clip()
CustomTextCLIP = open_clip.model.CustomTextCLIP
HFTokenizer = open_clip.tokenizer.HFTokenizer
QuickGELU = open_clip.transformer.QuickGELU
_build_vision_tower = open_clip.model._build_vision_tower
text_global_pool = open_clip.transformer.text_global_pool

LOGIT_SCALE_INIT = math.log(1 / 0.07)
LOGIT_SCALE_MAX = math.log(100)


def build_vision_tower(cfg: dict[str, Any]) -> nn.Module:
    """The image tower of the open_clip config ``cfg`` (output dim ``cfg['embed_dim']``)."""
    return _build_vision_tower(
        cfg["embed_dim"], cfg["vision_cfg"], quick_gelu=cfg.get("quick_gelu", False)
    )


class _ScaledModel(nn.Module):
    """Shared logit-scale handling: ``s`` is a parameter, ``exp(s)`` multiplies cosine logits."""

    logit_scale: nn.Parameter

    @torch.no_grad()
    def clamp_logit_scale(self) -> None:
        self.logit_scale.clamp_(0.0, LOGIT_SCALE_MAX)


class ClipModel(_ScaledModel):
    """open_clip CLIP built from a config dict (random init, like ``pretrained=None``), both
    towers trainable.

    ``encode_text`` drops the padding columns that no caption of the batch uses before running
    the causal text transformer. With causal attention and end-of-text pooling this leaves the
    result unchanged (the pooled position never attends to later positions) and saves the work of
    the padded positions; models with another text pooling run open_clip's own ``encode_text``.
    """

    def __init__(self, cfg: dict[str, Any]):
        super().__init__()
        kwargs = {k: v for k, v in cfg.items() if k != "custom_text"}
        self.clip = (CustomTextCLIP if cfg.get("custom_text") else open_clip.CLIP)(**kwargs)
        self.trim_text = (
            isinstance(self.clip, open_clip.CLIP)
            and getattr(self.clip, "text_pool_type", "argmax") == "argmax"
        )

    @property
    def logit_scale(self) -> nn.Parameter:
        return self.clip.logit_scale

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        """Unnormalised image embeddings [B, embed_dim]."""
        return self.clip.encode_image(images)

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        """Unnormalised text embeddings [B, embed_dim] of token ids [B, context_length]."""
        if not self.trim_text:
            return self.clip.encode_text(tokens)
        clip = self.clip
        length = int(tokens.argmax(dim=-1).max()) + 1  # end-of-text has the largest token id
        tokens = tokens[:, :length]
        cast_dtype = clip.transformer.get_cast_dtype()
        x = clip.token_embedding(tokens).to(cast_dtype)
        x = x + clip.positional_embedding[:length].to(cast_dtype)
        x = clip.transformer(x, attn_mask=clip.attn_mask[:length, :length])
        x = clip.ln_final(x)
        x = text_global_pool(x, tokens, "argmax")
        if isinstance(clip.text_projection, nn.Linear):
            return clip.text_projection(x)
        return x @ clip.text_projection

    def forward(self, images: torch.Tensor, tokens: torch.Tensor):
        image = F.normalize(self.encode_image(images), dim=-1)
        text = F.normalize(self.encode_text(tokens), dim=-1)
        return image, text, self.logit_scale.exp()


class FrozenTextClipModel(_ScaledModel):
    """CLIP whose text tower is a frozen pre-trained encoder, applied once, before training.

    The captions arrive as precomputed embeddings ``e`` [B, text_dim]; the text feature is
    ``P e`` with a trainable projection ``P`` (``projection="linear"``, no bias, init
    N(0, text_dim^-0.5)) or ``e`` itself (``projection="none"``, e.g. OpenAI CLIP's frozen text
    tower whose own projection is part of the frozen encoder; then text_dim must equal embed_dim).
    """

    def __init__(self, cfg: dict[str, Any], text_dim: int, projection: str = "linear"):
        super().__init__()
        embed_dim = int(cfg["embed_dim"])
        self.visual = build_vision_tower(cfg)
        if projection == "linear":
            self.text_projection: nn.Module = nn.Linear(text_dim, embed_dim, bias=False)
            nn.init.normal_(self.text_projection.weight, std=text_dim**-0.5)
        elif projection == "none":
            if text_dim != embed_dim:
                raise ValueError(
                    f"text_projection 'none' needs text embeddings of the model's "
                    f"embed_dim {embed_dim}, got {text_dim}; use 'linear' or set "
                    f"model.embed_dim to {text_dim}"
                )
            self.text_projection = nn.Identity()
        else:
            raise ValueError(f"text_projection must be 'linear' or 'none', got {projection!r}")
        self.logit_scale = nn.Parameter(torch.tensor(LOGIT_SCALE_INIT))

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        return self.visual(images)

    def encode_text(self, embeddings: torch.Tensor) -> torch.Tensor:
        return self.text_projection(embeddings.to(self.logit_scale.dtype))

    def forward(self, images: torch.Tensor, embeddings: torch.Tensor):
        image = F.normalize(self.encode_image(images), dim=-1)
        text = F.normalize(self.encode_text(embeddings), dim=-1)
        return image, text, self.logit_scale.exp()


def text_tower_state(clip: nn.Module) -> dict[str, torch.Tensor]:
    """The text tower of an open_clip model (``CLIP`` or ``CustomTextCLIP``): its parameters and
    buffers (token and positional embeddings, transformer, final norm, text projection, causal
    attention mask), i.e. everything but the image tower and the logit scale / bias."""
    entries = dict(clip.named_parameters())
    entries.update(clip.named_buffers())
    return {
        k: v
        for k, v in entries.items()
        if not k.startswith("visual.") and k not in ("logit_scale", "logit_bias")
    }


def uses_quick_gelu(clip: nn.Module) -> bool:
    """Whether an open_clip model's transformers use QuickGELU (OpenAI's weights do)."""
    return any(isinstance(m, QuickGELU) for m in clip.modules())


def load_pretrained_clip(text_encoder: str) -> nn.Module:
    """The open_clip model named ``openclip:<model>@<tag or checkpoint file>`` (config key
    ``text_encoder``), on the CPU, for :func:`init_text_tower`."""
    from cliptail.models.text_encoder import create_pretrained_clip, parse_openclip

    if not str(text_encoder).startswith("openclip:"):
        raise ValueError(
            f"text_tower 'clip_init' loads its text tower from text_encoder, which must name an "
            f"open_clip model ('openclip:<model>@<tag or checkpoint path>'), got {text_encoder!r}"
        )
    model_name, pretrained = parse_openclip(text_encoder)
    return create_pretrained_clip(model_name, pretrained, device="cpu").float().eval()


def pretrained_text_config(cfg: dict[str, Any], source: nn.Module) -> dict[str, Any]:
    """``cfg`` with the activation of the pre-trained ``source`` (QuickGELU for OpenAI weights), so
    the text tower initialised from it computes what it computed when it was trained."""
    return {**cfg, "quick_gelu": uses_quick_gelu(source)}


@torch.no_grad()
def init_text_tower(model: ClipModel, source: nn.Module, where: str = "text_encoder") -> list[str]:
    """Copy the text tower and text projection of the pre-trained open_clip ``source`` into
    ``model`` (``text_tower: clip_init``); the image tower and the logit scale keep their
    initialisation. Returns the copied names. Raises ``ValueError`` naming the entries when the
    two text towers differ (``where``: the config key that named ``source``)."""
    target = text_tower_state(model.clip)
    src = text_tower_state(source)
    missing = sorted(set(target) - set(src))
    extra = sorted(set(src) - set(target))
    shapes = [
        f"{k}: {tuple(src[k].shape)} vs {tuple(target[k].shape)}"
        for k in sorted(set(src) & set(target))
        if src[k].shape != target[k].shape
    ]
    if missing or extra or shapes:
        parts = []
        if missing:
            parts.append(f"entries missing from the pre-trained model: {missing[:8]}")
        if extra:
            parts.append(f"entries the trained model lacks: {extra[:8]}")
        if shapes:
            parts.append(f"shapes differ (pre-trained vs trained): {shapes[:8]}")
        raise ValueError(
            f"text_tower 'clip_init': the text tower of {where} does not fit the trained "
            f"model's (train.model): " + "; ".join(parts) + ". Use the same open_clip model "
            "config (train.model.name and its text overrides) as the text encoder"
        )
    if uses_quick_gelu(source) != uses_quick_gelu(model.clip):
        raise ValueError(
            f"text_tower 'clip_init': {where} uses "
            f"{'QuickGELU' if uses_quick_gelu(source) else 'GELU'} but the trained model does "
            "not; build the model from pretrained_text_config(cfg, source)"
        )
    for k, value in src.items():
        target[k].copy_(value.to(target[k].dtype))
    return sorted(src)


def tokenizer_for(cfg: dict[str, Any]):
    """open_clip's tokenizer for the text tower of ``cfg`` (the bundled BPE unless the config
    names a Hugging Face tokenizer), padding / truncating to the config's context length."""
    text_cfg = cfg.get("text_cfg", {})
    context_length = int(text_cfg.get("context_length", 77))
    if text_cfg.get("hf_tokenizer_name"):
        return HFTokenizer(text_cfg["hf_tokenizer_name"], context_length=context_length)
    return open_clip.SimpleTokenizer(context_length=context_length)
