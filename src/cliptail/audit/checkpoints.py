"""Released open_clip checkpoints of the audit, grouped by pre-training dataset.

A checkpoint is named by open_clip's (model, pretrained tag) pair and belongs to one
pre-training dataset: ``cc12m``, ``yfcc15m``, ``laion400m``, ``laion2b``, ``metaclip_400m``,
``metaclip_fullcc`` (MetaCLIP 2.5B) or ``openai`` (OpenAI's WIT-400M). The first six are the web
datasets whose concept frequencies the authors released (:data:`cliptail.factors.WEB_DATASETS`);
WIT was never released, so OpenAI's checkpoints get accuracies and neural-collapse statistics but
no frequency correlations.

:data:`DEFAULT_CHECKPOINTS` lists every open_clip checkpoint of those datasets whose towers
open_clip builds itself (modified ResNets and ViTs; ConvNeXt and EVA towers need timm), one entry
per distinct weight file, each under the model name whose activation matches its training
(QuickGELU for the OpenAI, YFCC-15M, CC-12M, LAION-400M ViT-B/32 and MetaCLIP weights): 27 web
checkpoints plus 9 OpenAI ones. The paper counts 41 checkpoints without listing them; open_clip
registers several weight files under two model names (with and without ``-quickgelu``), which
such a count would include twice.

Planning reads this module without importing open_clip (and torch): the download URL and the
activation are resolved in the jobs (:meth:`Checkpoint.download_url`,
:meth:`Checkpoint.resolve_quick_gelu`).

Weights: an entry's ``path`` (a local file) is used as it is; otherwise rule
``fetch_openclip_checkpoint`` downloads ``url`` (default: the file of the tag's Hugging Face
repository that open_clip itself loads, :func:`weight_url`) into
``resources/openclip/<name>.bin`` with cliptail's resumable downloader, checking ``sha256`` when
the entry pins one and the digest prefix that open_clip's release file names carry
(:func:`digest_prefix`). The model is then built by ``open_clip.create_model(model,
pretrained=<file>)``, the same route for downloaded and local files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cliptail import factors

#: Pre-training datasets (display names) and the controlled study's source built from each web
#: dataset: the study's vocabulary, kept in cliptail.factors.
PRETRAINING_DATASETS = factors.PRETRAINING_DATASETS
SL_SOURCE_OF = factors.SL_SOURCE_OF

#: (pre-training dataset, open_clip model, pretrained tag) of the default audit.
DEFAULT_CHECKPOINTS: tuple[tuple[str, str, str], ...] = (
    ("cc12m", "RN50-quickgelu", "cc12m"),
    ("yfcc15m", "RN50-quickgelu", "yfcc15m"),
    ("yfcc15m", "RN101-quickgelu", "yfcc15m"),
    *(
        ("laion400m", model, f"laion400m_e{epoch}")
        for model in ("ViT-B-32-quickgelu", "ViT-B-16", "ViT-B-16-plus-240", "ViT-L-14")
        for epoch in (31, 32)
    ),
    ("laion2b", "ViT-B-32", "laion2b_e16"),
    ("laion2b", "ViT-B-32", "laion2b_s34b_b79k"),
    ("laion2b", "ViT-B-16", "laion2b_s34b_b88k"),
    ("laion2b", "ViT-L-14", "laion2b_s32b_b82k"),
    ("laion2b", "ViT-H-14", "laion2b_s32b_b79k"),
    ("laion2b", "ViT-g-14", "laion2b_s12b_b42k"),
    ("laion2b", "ViT-g-14", "laion2b_s34b_b88k"),
    ("laion2b", "ViT-bigG-14", "laion2b_s39b_b160k"),
    ("metaclip_400m", "ViT-B-32-quickgelu", "metaclip_400m"),
    ("metaclip_400m", "ViT-B-16-quickgelu", "metaclip_400m"),
    ("metaclip_400m", "ViT-L-14-quickgelu", "metaclip_400m"),
    ("metaclip_fullcc", "ViT-B-32-quickgelu", "metaclip_fullcc"),
    ("metaclip_fullcc", "ViT-B-16-quickgelu", "metaclip_fullcc"),
    ("metaclip_fullcc", "ViT-L-14-quickgelu", "metaclip_fullcc"),
    ("metaclip_fullcc", "ViT-H-14-quickgelu", "metaclip_fullcc"),
    ("metaclip_fullcc", "ViT-bigG-14-quickgelu", "metaclip_fullcc"),
    *(
        ("openai", model, "openai")
        for model in (
            "RN50-quickgelu",
            "RN101-quickgelu",
            "RN50x4-quickgelu",
            "RN50x16-quickgelu",
            "RN50x64-quickgelu",
            "ViT-B-32-quickgelu",
            "ViT-B-16-quickgelu",
            "ViT-L-14-quickgelu",
            "ViT-L-14-336-quickgelu",
        )
    ),
)

#: Keys of one entry of ``audit.checkpoints``.
ENTRY_KEYS = ("dataset", "model", "pretrained", "name", "path", "url", "sha256", "quick_gelu")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_HF_WEIGHTS = "open_clip_pytorch_model.bin"
OPEN_CLIP_RELEASES = "https://github.com/mlfoundations/open_clip/releases/download/"


class CheckpointError(ValueError):
    """A bad ``audit.checkpoints`` entry."""


@dataclass(frozen=True)
class Checkpoint:
    """One released checkpoint of the audit."""

    name: str  # file-system name: results/audit/<name>/
    dataset: str  # pre-training dataset (key of PRETRAINING_DATASETS or a user's own)
    model: str  # open_clip model name
    pretrained: str | None  # open_clip pretrained tag (None for a user's own file)
    path: str | None = None  # a local weight file (no download)
    url: str | None = None  # where to download the weights (None: weight_url, in the job)
    sha256: str | None = None
    quick_gelu: bool | None = None  # None: as open_clip's registry says (resolve_quick_gelu)

    @property
    def weights(self) -> str:
        """The weight file the evaluation loads: ``path`` or the download's destination."""
        return self.path or f"resources/openclip/{self.name}.bin"

    @property
    def downloads(self) -> bool:
        return self.path is None

    def download_url(self) -> str:
        """``url``, or the tag's weight file (:func:`weight_url`; imports open_clip, so the
        download job resolves it, not the planning)."""
        if self.url:
            return self.url
        if not self.pretrained:
            raise CheckpointError(f"checkpoint {self.name!r}: no pretrained tag, path or url")
        return weight_url(self.model, self.pretrained)

    def resolve_quick_gelu(self) -> bool:
        """Whether to build the model with QuickGELU: the entry's ``quick_gelu``, else a
        ``-quickgelu`` model name or open_clip's registry entry of the tag."""
        if self.quick_gelu is not None:
            return self.quick_gelu
        if self.pretrained and self.path is None:
            return uses_quick_gelu(self.model, self.pretrained)
        return self.model.endswith("-quickgelu")

    def info(self) -> dict[str, Any]:
        """The checkpoint's columns of the audit table."""
        return {
            "checkpoint": self.name,
            "model": self.model,
            "pretrained": self.pretrained or "",
            "dataset": self.dataset,
            "dataset_name": PRETRAINING_DATASETS.get(self.dataset, self.dataset),
        }


def checkpoint_name(model: str, pretrained: str | None) -> str:
    """``<model>_<tag>``, e.g. ``RN50-quickgelu_yfcc15m``."""
    return f"{model}_{pretrained}" if pretrained else model


def _open_clip():
    from cliptail.models.configs import open_clip, register_model_configs

    register_model_configs()
    return open_clip


def pretrained_cfg(model: str, pretrained: str) -> dict[str, Any]:
    """open_clip's registry entry of (model, tag); a clear error when it has none."""
    cfg = _open_clip().get_pretrained_cfg(model, pretrained)
    if not cfg:
        raise CheckpointError(
            f"open_clip has no pretrained weights {pretrained!r} for model {model!r} "
            "(open_clip.list_pretrained() lists them); give the entry a `path` or a `url`"
        )
    return cfg


def weight_url(model: str, pretrained: str) -> str:
    """Download URL of (model, tag): open_clip's GitHub release file where it registers one
    (a state dict whose name carries its digest prefix), else the state dict in the tag's
    Hugging Face repository (what open_clip loads by default; for OpenAI's models a plain state
    dict rather than OpenAI's TorchScript archive). open_clip's registry points both LAION-400M
    epochs of ViT-B-16-plus-240 at the epoch-31 Hugging Face repository; their release files
    differ, which is one reason the release file comes first."""
    cfg = pretrained_cfg(model, pretrained)
    url, hub = cfg.get("url", ""), cfg.get("hf_hub", "")
    if url and url.startswith(OPEN_CLIP_RELEASES):
        return url
    if hub:
        repo, filename = _split_hub(hub)
        return f"https://huggingface.co/{repo}/resolve/main/{filename or _HF_WEIGHTS}"
    if url:
        return url
    raise CheckpointError(f"open_clip registers no download for {model!r} {pretrained!r}")


def _split_hub(hub: str) -> tuple[str, str]:
    """``org/repo/`` -> (``org/repo``, ``""``); ``org/repo/file.bin`` -> (``org/repo``, file)."""
    org, repo, *rest = hub.split("/")
    return f"{org}/{repo}", "/".join(p for p in rest if p)


def digest_prefix(url: str) -> str | None:
    """The sha256 (or its prefix) a release URL carries: OpenAI's URLs hold the full digest as a
    path segment, open_clip's GitHub release files end in ``-<8 hex digits>.pt`` (or ``.pth``)."""
    full = re.search(r"/([0-9a-f]{64})/", url)
    if full:
        return full.group(1)
    short = re.search(r"-([0-9a-f]{8})\.pth?$", url)
    return short.group(1) if short else None


def uses_quick_gelu(model: str, pretrained: str | None) -> bool:
    """Whether the tag's weights were trained with QuickGELU (open_clip's registry says so)."""
    if model.endswith("-quickgelu"):
        return True
    if not pretrained:
        return False
    return bool(pretrained_cfg(model, pretrained).get("quick_gelu", False))


def _entry(raw: Any, where: str) -> Checkpoint:
    if isinstance(raw, (list, tuple)) and len(raw) == 3:
        raw = dict(zip(("dataset", "model", "pretrained"), raw, strict=True))
    if not isinstance(raw, Mapping):
        raise CheckpointError(f"{where}: expected a mapping with dataset, model, pretrained")
    unknown = sorted(set(raw) - set(ENTRY_KEYS))
    if unknown:
        raise CheckpointError(f"{where}: unknown keys {unknown}; allowed: {list(ENTRY_KEYS)}")
    for key in ("dataset", "model"):
        if not raw.get(key):
            raise CheckpointError(f"{where}: `{key}` is required")
    model, tag = str(raw["model"]), raw.get("pretrained")
    tag = str(tag) if tag else None
    if tag is None and not raw.get("path") and not raw.get("url"):
        raise CheckpointError(f"{where}: give `pretrained` (an open_clip tag), `path` or `url`")
    name = str(raw.get("name") or checkpoint_name(model, tag))
    if not _NAME.match(name):
        raise CheckpointError(f"{where}: name {name!r} must be letters, digits, '_', '.', '-'")
    quick = raw.get("quick_gelu")
    url = raw.get("url")
    return Checkpoint(
        name=name,
        dataset=str(raw["dataset"]),
        model=model,
        pretrained=tag,
        path=str(raw["path"]) if raw.get("path") else None,
        url=str(url) if url else None,
        sha256=str(raw["sha256"]).lower() if raw.get("sha256") else None,
        quick_gelu=None if quick is None else bool(quick),
    )


def checkpoints(entries: Iterable[Any] | str = "default") -> list[Checkpoint]:
    """The checkpoints of ``audit.checkpoints``: ``"default"`` (:data:`DEFAULT_CHECKPOINTS`) or
    a list of entries, each a mapping (keys :data:`ENTRY_KEYS`; ``dataset`` and ``model``
    required, plus ``pretrained``, ``path`` or ``url``) or a ``[dataset, model, tag]`` triple.
    Names must be distinct."""
    if entries == "default":
        entries = DEFAULT_CHECKPOINTS
    if isinstance(entries, str):
        raise CheckpointError(f"audit.checkpoints: 'default' or a list, got {entries!r}")
    out = [_entry(raw, f"audit.checkpoints[{i}]") for i, raw in enumerate(entries)]
    seen: dict[str, int] = {}
    for i, ckpt in enumerate(out):
        if ckpt.name in seen:
            raise CheckpointError(
                f"audit.checkpoints[{i}]: name {ckpt.name!r} repeats entry {seen[ckpt.name]}; "
                "give one of them a distinct `name`"
            )
        seen[ckpt.name] = i
    return out


def verify_download(url: str, path: str) -> str:
    """Check a downloaded weight file against the digest its URL carries (:func:`digest_prefix`),
    record its sha256 next to it, and return the digest. A mismatch removes the file."""
    import os

    from cliptail.data.download import ChecksumError, write_sha256_sidecar

    digest = write_sha256_sidecar(path)
    expected = digest_prefix(url)
    if expected and not digest.startswith(expected):
        os.remove(path)
        os.remove(f"{path}.sha256")
        raise ChecksumError(
            f"{url}: downloaded file has sha256 {digest}, but its name says {expected}...; "
            "it was removed: run again, or check the entry's url"
        )
    return digest
