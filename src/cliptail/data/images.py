"""Image stores behind one interface, and the train / eval transforms of docs/study.md section 3.

A manifest's ``image`` column holds keys; an :class:`ImageStore` turns keys into integer handles
once (:meth:`ImageStore.locate`) and handles into pixels per batch (:meth:`ImageStore.load`):

- :class:`ArrayImageStore` (the synthetic world): ``<root>/images/<split>.npy`` uint8 arrays
  [N, S, S, 3], opened memory-mapped; key ``"<split>/<row>"`` (row zero-padded to 7 digits).
- :class:`FileImageStore` (ImageNet-style trees): keys are image file paths relative to the root,
  opened with PIL.

- :class:`WebDatasetImageStore` (img2dataset output, e.g. LAIONet): keys ``"<shard>.tar/<key>"``
  relative to the shard folder, the sample ``<key>.jpg`` (or ``.jpeg``/``.png``/``.webp``) inside
  that tar; each shard is indexed once (member offsets) and samples are read by seeking.

:func:`open_image_store` picks the store from the root. Another store only has to implement
``locate`` and ``load``. The file and webdataset stores read each image's bytes and return it
opened but not decoded (``Image.open`` of the bytes: header read, no pixels, no open file), so
that the transform can choose the decoding size (see below).

Transforms (:class:`ImageTransform`) work on whole batches:

- train: RandomResizedCrop(size, scale=(0.9, 1.0), ratio=(3/4, 4/3), bicubic), no flip, then
  normalisation with the OpenAI mean / std. The crop of each image follows torchvision's
  algorithm (10 attempts, then a centre crop) driven by uniforms from :meth:`ImageTransform.noise`,
  so the crops are a pure function of the caller's random generator. On array batches crop +
  resize run vectorised as two batched matrix products that equal torchvision's crop followed by
  a bicubic tensor resize (values clamped to [0, 1]); PIL images are cropped and resized by
  ``Image.resize(box=...)``.
- eval: Resize(resize, bicubic, shorter side) + CenterCrop(size) + normalisation.

Reduced-size JPEG decoding (PIL images). PIL's ``Image.draft(mode, size)``, called on a JPEG
before it is decoded, makes the decoder downscale by 1/2, 1/4 or 1/8 in the DCT domain (the
largest of these that keeps the image at least ``size``), which costs a fraction of decoding
every pixel; other formats (PNG, WebP) ignore it. :meth:`ImageTransform.decode_plan` takes the
crop from the header size: train, the box of :func:`crop_boxes` in the original pixel
coordinates with the same noise as always; eval, the whole image. It then requests the smallest
decode at which the crop keeps at least ``size`` pixels on each side (eval: the shorter side at
least ``resize``; :func:`draft_request`). The box is mapped into the decoded image (``x / s`` at
scale 1/s: a float box, which ``Image.resize`` takes) and resized to ``size`` as before. The crop
statistics are therefore unchanged (the same region of the image for the same noise); only the
source of the bicubic resampling differs: the decoder's downscaled pixels instead of the
full-size ones (mean absolute difference 0.001 to 0.002 on [0, 1] values for photo-like
images, up to about 0.1 at single pixels of sharp edges). A crop must be at least twice ``size`` for a downscale, so at 224 px this needs images
of 450 px and more (shorter side, for the 0.9-1.0 CLIP crop): ImageNet's 500 x 375 images, or
img2dataset shards resized to 256 px, are decoded at full size. Images other than JPEG, and
JPEGs without a downscale, give exactly the pixels of a full decode. Every image is converted to
RGB after ``draft`` (greyscale, CMYK, palette, alpha). The transform processes one image at a
time and closes each image that it decoded (opened but not decoded on entry, as the stores return
them), so a batch never holds more than one full-size image; pass decoded images to keep them.
"""

from __future__ import annotations

import io
import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from cliptail.openclip import open_clip_data

_CONSTANTS = open_clip_data("constants")
OPENAI_DATASET_MEAN = _CONSTANTS.OPENAI_DATASET_MEAN
OPENAI_DATASET_STD = _CONSTANTS.OPENAI_DATASET_STD
ATTEMPTS = 10  # torchvision's RandomResizedCrop tries this many random boxes


class ImageStore(ABC):
    """Keys -> handles (once) -> pixels (per batch)."""

    root: Path

    @abstractmethod
    def locate(self, keys: Sequence[str]) -> np.ndarray:
        """int64 handles of ``keys``; raises ``ValueError`` naming the first key not found."""

    @abstractmethod
    def load(self, handles: np.ndarray) -> torch.Tensor | list:
        """The images of ``handles``: a uint8 tensor [B, H, W, 3] or a list of PIL images (opened,
        possibly not decoded yet: :class:`ImageTransform` decodes them at the size it needs)."""


class ArrayImageStore(ImageStore):
    """The synthetic world's ``images/<split>.npy`` arrays (memory-mapped, opened lazily so the
    store can be sent to data-loader worker processes)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        files = sorted((self.root / "images").glob("*.npy"))
        if not files:
            raise FileNotFoundError(f"{self.root}/images/ holds no <split>.npy image arrays")
        self.paths = {p.stem: p for p in files}
        self._arrays: dict[str, np.ndarray] | None = None
        self.lengths = {s: self._open(p).shape[0] for s, p in self.paths.items()}
        starts = np.cumsum([0] + list(self.lengths.values()))
        self.offsets = dict(zip(self.paths, starts[:-1].tolist(), strict=True))
        self._bounds = starts

    @staticmethod
    def _open(path: Path) -> np.ndarray:
        array = np.load(path, mmap_mode="r")
        if array.ndim != 4 or array.shape[-1] != 3 or array.dtype != np.uint8:
            raise ValueError(
                f"{path}: expected uint8 images [N, H, W, 3], got {array.dtype} {array.shape}"
            )
        return array

    def arrays(self) -> dict[str, np.ndarray]:
        if self._arrays is None:
            self._arrays = {s: self._open(p) for s, p in self.paths.items()}
        return self._arrays

    def __getstate__(self):
        return {**self.__dict__, "_arrays": None}

    def locate(self, keys: Sequence[str]) -> np.ndarray:
        parts = pd.Series(list(keys), dtype=object).str.rpartition("/")
        splits, rows = parts[0], pd.to_numeric(parts[2], errors="coerce")
        bad = ~splits.isin(list(self.paths)) | rows.isna()
        if bad.any():
            key = keys[int(np.flatnonzero(bad.to_numpy())[0])]
            raise ValueError(
                f"image key {key!r} is not '<split>/<row>' with a split in "
                f"{sorted(self.paths)} under {self.root}/images"
            )
        rows = rows.to_numpy(dtype=np.int64)
        lengths = splits.map(self.lengths).to_numpy(dtype=np.int64)
        if ((rows < 0) | (rows >= lengths)).any():
            key = keys[int(np.flatnonzero((rows < 0) | (rows >= lengths))[0])]
            raise ValueError(
                f"image key {key!r} is out of range of its array in {self.root}/images"
            )
        return splits.map(self.offsets).to_numpy(dtype=np.int64) + rows

    def load(self, handles: np.ndarray) -> torch.Tensor:
        handles = np.asarray(handles, dtype=np.int64)
        arrays = self.arrays()
        which = np.searchsorted(self._bounds, handles, side="right") - 1
        first = arrays[next(iter(arrays))]
        out = np.empty((len(handles),) + first.shape[1:], dtype=np.uint8)
        for k, array in enumerate(arrays.values()):
            sel = np.flatnonzero(which == k)
            if len(sel):
                rows = handles[sel] - self._bounds[k]
                order = np.argsort(rows, kind="stable")  # sorted reads are kinder to the page cache
                out[sel[order]] = array[rows[order]]
        return torch.from_numpy(out)


class FileImageStore(ImageStore):
    """Image files under a root (ImageNet-style trees), opened with PIL (not decoded)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"image root {self.root} does not exist")
        self.keys: list[str] = []

    def locate(self, keys: Sequence[str]) -> np.ndarray:
        start = len(self.keys)
        self.keys.extend(str(k) for k in keys)
        return np.arange(start, len(self.keys), dtype=np.int64)

    def load(self, handles: np.ndarray) -> list:
        from PIL import Image

        images = []
        for h in np.asarray(handles, dtype=np.int64):
            try:
                data = (self.root / self.keys[h]).read_bytes()
            except FileNotFoundError:
                raise FileNotFoundError(
                    f"image {self.keys[h]!r} not found under {self.root}"
                ) from None
            images.append(Image.open(io.BytesIO(data)))
        return images


class WebDatasetImageStore(ImageStore):
    """Webdataset shards ``<root>/<digits>.tar`` as img2dataset writes them.

    A key ``"00012.tar/000120034"`` names the sample ``000120034.<ext>`` of shard ``00012.tar``
    (the shard may be a path relative to ``root``, e.g. ``"../retrieval_shards/00000.tar/..."``:
    the =freq retrieval pool's images beside LAIONet's)
    (``<ext>`` one of :attr:`EXTENSIONS`). Shards are indexed lazily, once, when a key of theirs is
    located; :meth:`load` seeks to the member's data. Open files are not sent to worker processes.
    """

    EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")

    def __init__(self, root: str | Path):
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"shard folder {self.root} does not exist")
        self.shards: list[str] = []
        self._index: dict[str, dict[str, tuple[int, int]]] = {}
        self._shard: list[np.ndarray] = []
        self._offset: list[np.ndarray] = []
        self._size: list[np.ndarray] = []
        self._arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._files: dict[int, object] = {}

    def __getstate__(self):
        return {**self.__dict__, "_files": {}}

    def _index_shard(self, shard: str) -> dict[str, tuple[int, int]]:
        import tarfile

        if shard not in self._index:
            path = self.root / shard
            if not path.is_file():
                raise FileNotFoundError(f"shard {shard!r} not found in {self.root}")
            members: dict[str, tuple[int, int]] = {}
            try:
                with tarfile.open(path, "r:") as tar:
                    for m in tar:
                        stem, dot, ext = m.name.rpartition(".")
                        if m.isfile() and dot and f".{ext.lower()}" in self.EXTENSIONS:
                            members.setdefault(stem, (m.offset_data, m.size))
            except tarfile.TarError as exc:
                raise ValueError(f"{path}: not a readable tar shard ({exc})") from None
            self._index[shard] = members
            self.shards.append(shard)
        return self._index[shard]

    def locate(self, keys: Sequence[str]) -> np.ndarray:
        keys = [str(k) for k in keys]
        shard_of = {s: i for i, s in enumerate(self.shards)}
        ids = np.empty(len(keys), dtype=np.int64)
        offsets = np.empty(len(keys), dtype=np.int64)
        sizes = np.empty(len(keys), dtype=np.int64)
        for n, key in enumerate(keys):
            shard, sep, name = key.rpartition("/")
            if not sep or not shard.endswith(".tar") or not name:
                raise ValueError(
                    f"image key {key!r} is not '<shard>.tar/<key>' (webdataset shards "
                    f"in {self.root})"
                )
            members = self._index_shard(shard)
            if name not in members:
                raise ValueError(
                    f"image key {key!r}: no image sample {name!r} in {self.root / shard}"
                )
            if shard not in shard_of:
                shard_of[shard] = self.shards.index(shard)
            ids[n] = shard_of[shard]
            offsets[n], sizes[n] = members[name]
        start = sum(len(a) for a in self._shard)
        self._shard.append(ids)
        self._offset.append(offsets)
        self._size.append(sizes)
        self._arrays = None
        return np.arange(start, start + len(keys), dtype=np.int64)

    def _handles(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._arrays is None:
            self._arrays = tuple(
                np.concatenate(a) if a else np.empty(0, np.int64)
                for a in (self._shard, self._offset, self._size)
            )
        return self._arrays

    def read_bytes(self, handle: int) -> bytes:
        shard, offset, size = (int(a[handle]) for a in self._handles())
        fh = self._files.get(shard)
        if fh is None:
            fh = self._files[shard] = open(self.root / self.shards[shard], "rb")
        fh.seek(offset)
        return fh.read(size)

    def load(self, handles: np.ndarray) -> list:
        """Opened, not yet decoded PIL images (see :class:`FileImageStore`)."""
        from PIL import Image

        return [
            Image.open(io.BytesIO(self.read_bytes(int(h))))
            for h in np.asarray(handles, dtype=np.int64)
        ]


def is_webdataset_folder(root: str | Path) -> bool:
    """True when ``root`` holds img2dataset shards (``<digits>.tar``)."""
    root = Path(root)
    return root.is_dir() and any(p.stem.isdigit() for p in root.glob("*.tar"))


def open_image_store(root: str | Path) -> ImageStore:
    """:class:`ArrayImageStore` when ``root/images/*.npy`` exist, :class:`WebDatasetImageStore`
    when ``root`` holds ``<digits>.tar`` shards, else :class:`FileImageStore`."""
    root = Path(root)
    if (root / "images").is_dir() and any((root / "images").glob("*.npy")):
        return ArrayImageStore(root)
    if is_webdataset_folder(root):
        return WebDatasetImageStore(root)
    return FileImageStore(root)


# --- transforms ------------------------------------------------------------------------------


def crop_boxes(
    height: np.ndarray,
    width: np.ndarray,
    noise: np.ndarray,
    scale: tuple[float, float],
    ratio: tuple[float, float],
) -> np.ndarray:
    """torchvision RandomResizedCrop boxes (i, j, h, w) [B, 4] from uniforms ``noise`` [B, 10, 4].

    Attempt k uses ``noise[:, k]`` = (area fraction, log aspect ratio, row, column) as uniforms
    in [0, 1); the first attempt whose box fits is taken, else the centre-crop fallback.
    """
    height = np.asarray(height, dtype=np.float64)[:, None]
    width = np.asarray(width, dtype=np.float64)[:, None]
    area = height * width
    target = area * (scale[0] + noise[..., 0] * (scale[1] - scale[0]))
    log_r = math.log(ratio[0]) + noise[..., 1] * (math.log(ratio[1]) - math.log(ratio[0]))
    aspect = np.exp(log_r)
    w = np.round(np.sqrt(target * aspect))
    h = np.round(np.sqrt(target / aspect))
    ok = (w > 0) & (w <= width) & (h > 0) & (h <= height)
    i = np.floor(noise[..., 2] * (height - h + 1))
    j = np.floor(noise[..., 3] * (width - w + 1))
    first = np.argmax(ok, axis=1)
    rows = np.arange(len(first))
    box = np.stack([i[rows, first], j[rows, first], h[rows, first], w[rows, first]], axis=1)
    # fallback: the largest centred box with an aspect ratio inside ``ratio``
    H, W = height[:, 0], width[:, 0]
    in_ratio = W / H
    fw = np.where(
        in_ratio < min(ratio), W, np.where(in_ratio > max(ratio), np.round(H * max(ratio)), W)
    )
    fh = np.where(in_ratio < min(ratio), np.round(W / min(ratio)), H)
    fallback = np.stack([(H - fh) // 2, (W - fw) // 2, fh, fw], axis=1)
    return np.where(ok.any(axis=1)[:, None], box, fallback).astype(np.int64)


def _cubic(t: torch.Tensor, a: float = -0.75) -> torch.Tensor:
    """The cubic convolution kernel of PyTorch's / OpenCV's bicubic resampling (a = -0.75)."""
    t = t.abs()
    near = ((a + 2) * t - (a + 3)) * t * t + 1
    far = ((a * t - 5 * a) * t + 8 * a) * t - 4 * a
    return torch.where(t <= 1, near, torch.where(t < 2, far, torch.zeros_like(t)))


def _bicubic_matrix(start: torch.Tensor, length: torch.Tensor, full: int, out: int) -> torch.Tensor:
    """[B, out, full] matrices that crop ``[start, start + length)`` of a ``full``-long axis and
    resize it to ``out`` samples exactly like ``F.interpolate(crop, mode="bicubic",
    align_corners=False)``: source position ``start + (k + 0.5) * length / out - 0.5``, four taps
    with indices clamped to the crop."""
    start = start.double()[:, None, None]
    length = length.double()[:, None, None]
    k = torch.arange(out, dtype=torch.float64)[None, :, None]
    src = (k + 0.5) * length / out - 0.5
    base = src.floor()
    frac = src - base
    taps = torch.arange(-1, 3, dtype=torch.float64)[None, None, :]
    weights = _cubic(frac - taps)
    index = (base + taps).clamp(min=torch.zeros_like(length), max=length - 1) + start
    matrix = torch.zeros(start.shape[0], out, full, dtype=torch.float64)
    return matrix.scatter_add_(2, index.long(), weights)


@dataclass(frozen=True)
class ImageTransform:
    """Batched image preprocessing to normalised float tensors [B, 3, size, size].

    PIL images opened but not decoded (as the stores return them) are decoded at a reduced size
    where the crop allows it (see the module docstring) and closed once used."""

    size: int
    train: bool
    resize: int | None = None  # eval: shorter side before the centre crop (None = size)
    scale: tuple[float, float] = (0.9, 1.0)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    mean: tuple[float, float, float] = OPENAI_DATASET_MEAN
    std: tuple[float, float, float] = OPENAI_DATASET_STD

    def noise(self, n: int, rng: np.random.Generator) -> np.ndarray | None:
        """The uniforms that fix the random crops of ``n`` images (``None`` for eval)."""
        return rng.random((n, ATTEMPTS, 4)) if self.train else None

    def __call__(
        self, images: torch.Tensor | list, noise: np.ndarray | None = None
    ) -> torch.Tensor:
        if self.train and noise is None:
            raise ValueError("the train transform needs crop noise (ImageTransform.noise)")
        if isinstance(images, torch.Tensor):
            x = images.permute(0, 3, 1, 2).float().div_(255)
            x = self._crop_tensor(x, noise) if self.train else self._eval_tensor(x)
        else:
            # One image at a time, so that the work stays in the CPU caches: each is normalised
            # right away (on a whole batch the float passes are memory-bound and cost nearly as
            # much as the bicubic resize), and an image opened but not decoded on entry (as the
            # stores return them) is closed once resized, releasing its full-size pixels.
            x = torch.empty(len(images), 3, self.size, self.size, dtype=torch.float32)
            mean = torch.tensor(self.mean, dtype=x.dtype).view(3, 1, 1)
            std = torch.tensor(self.std, dtype=x.dtype).view(3, 1, 1)
            for k, img in enumerate(images):
                opened = bool(getattr(img, "tile", None))  # not decoded yet
                pixels = self._pil(img, None if noise is None else noise[k]).contiguous()
                x[k].copy_(pixels).div_(255).sub_(mean).div_(std)
                if opened:
                    img.close()
            return x
        return self._normalise(x)

    def _normalise(self, x: torch.Tensor) -> torch.Tensor:
        mean = torch.tensor(self.mean, dtype=x.dtype).view(1, 3, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype).view(1, 3, 1, 1)
        return (x - mean) / std

    def _crop_tensor(self, x: torch.Tensor, noise: np.ndarray) -> torch.Tensor:
        n, _, H, W = x.shape
        boxes = torch.from_numpy(
            crop_boxes(np.full(n, H), np.full(n, W), noise, self.scale, self.ratio)
        )
        rows = _bicubic_matrix(boxes[:, 0], boxes[:, 2], H, self.size).to(x.dtype)
        cols = _bicubic_matrix(boxes[:, 1], boxes[:, 3], W, self.size).to(x.dtype)
        out = rows[:, None] @ x @ cols[:, None].transpose(-1, -2)
        return out.clamp_(0, 1)

    def _eval_tensor(self, x: torch.Tensor) -> torch.Tensor:
        resize = self.resize or self.size
        H, W = x.shape[-2:]
        if min(H, W) != resize:
            short = min(H, W)
            new = (round(H * resize / short), round(W * resize / short))
            x = F.interpolate(
                x, size=new, mode="bicubic", antialias=True, align_corners=False
            ).clamp_(0, 1)
            H, W = new
        top, left = (H - self.size) // 2, (W - self.size) // 2
        return x[..., top : top + self.size, left : left + self.size]

    def decode_plan(
        self, width: int, height: int, noise: np.ndarray | None
    ) -> tuple[tuple[int, int, int, int] | None, tuple[int, int]]:
        """The crop box (i, j, h, w) of a ``width`` x ``height`` image in its original pixel
        coordinates (train; ``None`` for eval: the whole image) and the size to request from
        ``Image.draft`` (see :func:`draft_request`): the crop's shorter side (eval: the image's)
        must stay at least ``size`` (eval: ``resize``) pixels after the decoder's downscale."""
        if noise is None:
            return None, draft_request(width, height, min(width, height), self.resize or self.size)
        i, j, h, w = crop_boxes(
            np.array([height]), np.array([width]), noise[None], self.scale, self.ratio
        )[0].tolist()
        return (i, j, h, w), draft_request(width, height, min(h, w), self.size)

    def _pil(self, img, noise: np.ndarray | None) -> torch.Tensor:
        from PIL import Image
        from torchvision.transforms import functional as TF

        width, height = img.size  # the header's size: nothing is decoded yet
        box, requested = self.decode_plan(width, height, noise)
        drafted = img.draft("RGB", requested)  # None: not a JPEG, or decoded already
        f = 1.0 if drafted is None else drafted[1][2] / width  # original -> decoded coordinates
        if img.mode != "RGB":
            img = img.convert("RGB")
        if box is not None:
            i, j, h, w = box
            img = img.resize(
                (self.size, self.size), Image.BICUBIC, box=(j * f, i * f, (j + w) * f, (i + h) * f)
            )
        else:
            # torchvision's Resize(resize) output size, from the original size
            short = self.resize or self.size
            new = (
                (short, int(short * height / width))
                if width <= height
                else (int(short * width / height), short)
            )
            if new != (width, height) or f != 1.0:
                img = img.resize(new, Image.BICUBIC, box=(0, 0, width * f, height * f))
            img = TF.center_crop(img, self.size)
        return TF.pil_to_tensor(img)  # uint8 [3, size, size]


def draft_request(width: int, height: int, short: float, target: int) -> tuple[int, int]:
    """The size to pass to PIL's ``Image.draft`` for a ``width`` x ``height`` JPEG of which a
    region ``short`` pixels wide (its shorter side) must keep at least ``target`` pixels.

    ``draft`` decodes at 1/s, s the largest of 8, 4, 2, 1 with ``s <= min(width // request_w,
    height // request_h)``, to ``ceil(width / s)`` x ``ceil(height / s)`` pixels. The largest s
    with ``short / s >= target`` gives the smallest decode that keeps the region's ``target``
    pixels; requesting ``(width // s, height // s)`` makes ``draft`` choose exactly that s (both
    quotients then lie in [s, 2s)).
    """
    s = 8
    while s > 1 and short < target * s:
        s //= 2
    return width // s, height // s
