"""DINO's multi-crop augmentation, batched on CPU tensors and seeded like the other crops.

Each image gives 2 global crops (``global_size``, area fraction ``global_scale``) and
``local_crops`` local crops (``local_size``, ``local_scale``), each a RandomResizedCrop (aspect
ratio 3/4 to 4/3, bicubic; torchvision's box algorithm, :func:`cliptail.data.images.crop_boxes`)
followed by DINO's photometric pipeline, in DINO's order:

1. horizontal flip, p = 0.5;
2. colour jitter, p = 0.8: brightness 0.4, contrast 0.4, saturation 0.2, hue 0.1, in a random
   order per crop (torchvision's ``ColorJitter``: factors uniform in [0.6, 1.4], [0.6, 1.4],
   [0.8, 1.2], hue shift in [-0.1, 0.1] turns; the same formulas as
   ``torchvision.transforms.functional.adjust_*``, hue through HSV);
3. grayscale, p = 0.2 (ITU-R 601 luma, 3 channels);
4. Gaussian blur, p = 1.0 / 0.1 for the first / second global crop and 0.5 for local crops;
   sigma uniform in [0.1, 2.0] pixels at a 224 px global crop, scaled with ``global_size / 224``
   for smaller images (DINO blurs local crops with the same pixel sigma as global ones, and so
   does this); separable kernel of radius ceil(3 sigma_max), reflect padding;
5. solarisation (values >= 128/255 inverted), p = 0.2 on the second global crop only;
6. normalisation with the OpenAI mean / std (as every other cliptail transform).

All of these run batched: per-crop random factors become per-sample tensors, the random order
of the jitter is applied as 4 x 4 masked passes (each sample goes through each of its operations
once), blur is a grouped convolution with one kernel per sample. Nothing is skipped from DINO's
recipe; the differences are numerical only: the blur is an exact Gaussian where DINO used PIL's
box-filter approximation, and values are floats clamped to [0, 1] between operations instead of
8-bit images.

Randomness: :meth:`MultiCropTransform.noise` draws every uniform that fixes a batch's crops and
augmentations (``[n, crops, 40 + 14]``: 10 box attempts x 4, then :data:`FIELDS`), so the result
is a pure function of the caller's generator; :class:`cliptail.train.data.EpochBatches` draws it
per global batch from ``default_rng([seed, epoch, step, 1])`` and gives each process its rows.

Array batches (the synthetic world's uint8 [B, H, W, 3]) are cropped and resized by batched
matrix products (the bicubic matrices of :mod:`cliptail.data.images`); PIL images (file trees,
webdataset shards, opened but not decoded) are decoded once per image, at the reduced JPEG size
that still gives every one of its crops its full resolution, and each crop is resized from that
decode with ``Image.resize(box=...)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from cliptail.data.images import (
    ATTEMPTS,
    OPENAI_DATASET_MEAN,
    OPENAI_DATASET_STD,
    _bicubic_matrix,
    crop_boxes,
    draft_request,
)

#: The uniforms of each crop after its box noise, in this order.
FIELDS = (
    "flip",
    "jitter",
    "brightness",
    "contrast",
    "saturation",
    "hue",
    "order0",
    "order1",
    "order2",
    "order3",
    "grayscale",
    "blur",
    "sigma",
    "solarize",
)
_F = {name: k for k, name in enumerate(FIELDS)}
BOX_FIELDS = ATTEMPTS * 4
LUMA = (0.2989, 0.587, 0.114)  # torchvision's rgb_to_grayscale weights


@dataclass(frozen=True)
class MultiCropTransform:
    """DINO multi-crop: ``__call__(images, noise)`` -> list of ``2 + local_crops`` normalised
    float tensors [B, 3, size, size]: the 2 global crops, then the local crops."""

    global_size: int
    local_size: int
    local_crops: int = 6
    global_scale: tuple[float, float] = (0.14, 1.0)
    local_scale: tuple[float, float] = (0.05, 0.14)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    jitter: tuple[float, float, float, float] = (0.4, 0.4, 0.2, 0.1)
    jitter_p: float = 0.8
    grayscale_p: float = 0.2
    blur_p: tuple[float, float, float] = (1.0, 0.1, 0.5)  # global 1, global 2, local
    solarize_p: tuple[float, float, float] = (0.0, 0.2, 0.0)
    blur_sigma: tuple[float, float] = (0.1, 2.0)  # pixels at a 224 px global crop
    mean: tuple[float, float, float] = OPENAI_DATASET_MEAN
    std: tuple[float, float, float] = OPENAI_DATASET_STD

    @property
    def num_crops(self) -> int:
        return 2 + self.local_crops

    def size(self, crop: int) -> int:
        return self.global_size if crop < 2 else self.local_size

    def scale(self, crop: int) -> tuple[float, float]:
        return self.global_scale if crop < 2 else self.local_scale

    def probabilities(self, crop: int) -> tuple[float, float]:
        """(blur, solarisation) probabilities of crop ``crop``."""
        k = min(crop, 2)
        return self.blur_p[k], self.solarize_p[k]

    def sigma_range(self) -> tuple[float, float]:
        f = self.global_size / 224
        return self.blur_sigma[0] * f, self.blur_sigma[1] * f

    def noise(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """The uniforms [n, crops, 40 + 14] that fix the crops of ``n`` images."""
        return rng.random((n, self.num_crops, BOX_FIELDS + len(FIELDS)))

    def boxes(self, height: np.ndarray, width: np.ndarray, noise: np.ndarray) -> np.ndarray:
        """Crop boxes (i, j, h, w) [n, crops, 4] of images of ``height`` x ``width`` [n]."""
        n = len(height)
        return np.stack(
            [
                crop_boxes(
                    height,
                    width,
                    noise[:, c, :BOX_FIELDS].reshape(n, ATTEMPTS, 4),
                    self.scale(c),
                    self.ratio,
                )
                for c in range(self.num_crops)
            ],
            axis=1,
        )

    def __call__(self, images: torch.Tensor | list, noise: np.ndarray) -> list[torch.Tensor]:
        if noise is None or noise.shape[1:] != (self.num_crops, BOX_FIELDS + len(FIELDS)):
            raise ValueError("multi-crop needs its noise (MultiCropTransform.noise)")
        if isinstance(images, torch.Tensor):
            crops = self._crop_tensor(images, noise)
        else:
            crops = self._crop_pil(images, noise)
        mean = torch.tensor(self.mean).view(1, 3, 1, 1)
        std = torch.tensor(self.std).view(1, 3, 1, 1)
        out = []
        for c, x in enumerate(crops):
            blur_p, solarize_p = self.probabilities(c)
            u = torch.from_numpy(noise[:, c, BOX_FIELDS:]).float()
            x = augment(x, u, self, blur_p, solarize_p)
            out.append((x - mean) / std)
        return out

    # --- crops ---------------------------------------------------------------------------------

    def _crop_tensor(self, images: torch.Tensor, noise: np.ndarray) -> list[torch.Tensor]:
        x = images.permute(0, 3, 1, 2).float().div_(255)
        n, _, H, W = x.shape
        boxes = torch.from_numpy(self.boxes(np.full(n, H), np.full(n, W), noise))
        crops = []
        for c in range(self.num_crops):
            size = self.size(c)
            rows = _bicubic_matrix(boxes[:, c, 0], boxes[:, c, 2], H, size).float()
            cols = _bicubic_matrix(boxes[:, c, 1], boxes[:, c, 3], W, size).float()
            crops.append((rows[:, None] @ x @ cols[:, None].transpose(-1, -2)).clamp_(0, 1))
        return crops

    def _crop_pil(self, images: list, noise: np.ndarray) -> list[torch.Tensor]:
        from PIL import Image
        from torchvision.transforms import functional as TF

        n = len(images)
        width = np.array([img.size[0] for img in images])  # headers: nothing decoded yet
        height = np.array([img.size[1] for img in images])
        boxes = self.boxes(height, width, noise)
        sizes = np.array([self.size(c) for c in range(self.num_crops)])
        crops = [torch.empty(n, 3, s, s, dtype=torch.uint8) for s in sizes]
        for k, img in enumerate(images):
            opened = bool(getattr(img, "tile", None))
            # decode once, at the smallest JPEG draft that keeps every crop's resolution
            short = boxes[k, :, 2:].min(axis=1)
            limit = int(np.argmin(short / sizes))
            requested = draft_request(
                int(width[k]), int(height[k]), int(short[limit]), int(sizes[limit])
            )
            drafted = img.draft("RGB", requested)
            f = 1.0 if drafted is None else drafted[1][2] / width[k]
            rgb = img.convert("RGB") if img.mode != "RGB" else img
            for c in range(self.num_crops):
                i, j, h, w = boxes[k, c].tolist()
                box = (j * f, i * f, (j + w) * f, (i + h) * f)
                crop = rgb.resize((int(sizes[c]),) * 2, Image.BICUBIC, box=box)
                crops[c][k] = TF.pil_to_tensor(crop)
            if opened:
                img.close()
        return [x.float().div_(255) for x in crops]


# --- photometric augmentation ------------------------------------------------------------------


def grayscale(x: torch.Tensor) -> torch.Tensor:
    """Luma [n, 1, H, W] of RGB values [n, 3, H, W] (torchvision's ``rgb_to_grayscale``)."""
    r, g, b = x.unbind(1)
    return (LUMA[0] * r + LUMA[1] * g + LUMA[2] * b).unsqueeze(1)


def _per_sample(f: torch.Tensor) -> torch.Tensor:
    return f.view(-1, 1, 1, 1)


def adjust_brightness(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    return (x * _per_sample(f)).clamp_(0, 1)


def adjust_contrast(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    mean = grayscale(x).mean(dim=(1, 2, 3), keepdim=True)
    f = _per_sample(f)
    return (f * x + (1 - f) * mean).clamp_(0, 1)


def adjust_saturation(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    f = _per_sample(f)
    return (f * x + (1 - f) * grayscale(x)).clamp_(0, 1)


def adjust_hue(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Rotate the hue by ``shift`` turns per sample (RGB -> HSV -> RGB, as torchvision)."""
    r, g, b = x.unbind(1)
    maxc = x.amax(dim=1)
    minc = x.amin(dim=1)
    equal = maxc == minc
    chroma = maxc - minc
    ones = torch.ones_like(maxc)
    s = chroma / torch.where(equal, ones, maxc)
    divisor = torch.where(equal, ones, chroma)
    rc, gc, bc = (maxc - r) / divisor, (maxc - g) / divisor, (maxc - b) / divisor
    is_r = maxc == r
    is_g = (maxc == g) & ~is_r
    h = torch.where(is_r, bc - gc, torch.where(is_g, 2.0 + rc - bc, 4.0 + gc - rc))
    h = torch.fmod(h / 6.0 + 1.0, 1.0)
    h = torch.remainder(h + shift.view(-1, 1, 1), 1.0)
    # HSV -> RGB: channel n in (5, 3, 1) is v - v s clamp(min(k, 4 - k), 0, 1), k = (n + 6 h) % 6
    v = maxc
    out = []
    for n in (5.0, 3.0, 1.0):
        k = torch.remainder(n + 6.0 * h, 6.0)
        out.append(v - v * s * torch.clamp(torch.minimum(k, 4.0 - k), 0.0, 1.0))
    return torch.stack(out, dim=1).clamp_(0, 1)


JITTER_OPS = (adjust_brightness, adjust_contrast, adjust_saturation, adjust_hue)


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor, radius: int) -> torch.Tensor:
    """Separable Gaussian blur of [n, 3, H, W] with one ``sigma`` per sample (pixels), taps
    ``-radius..radius``, reflect padding (replicate where the image is too small for it)."""
    n, c, H, W = x.shape
    taps = torch.arange(-radius, radius + 1, dtype=x.dtype)
    kernel = torch.exp(-(taps[None] ** 2) / (2 * sigma[:, None].to(x.dtype) ** 2))
    kernel = (kernel / kernel.sum(dim=1, keepdim=True)).repeat_interleave(c, dim=0)
    mode = "reflect" if radius < min(H, W) else "replicate"
    y = F.pad(x, (radius, radius, radius, radius), mode=mode).reshape(1, n * c, H + 2 * radius, -1)
    y = F.conv2d(y, kernel.view(n * c, 1, -1, 1), groups=n * c)
    y = F.conv2d(y, kernel.view(n * c, 1, 1, -1), groups=n * c)
    return y.reshape(n, c, H, W)


def _apply(x: torch.Tensor, mask: torch.Tensor, fn, *args: torch.Tensor) -> torch.Tensor:
    """``x`` with ``fn`` applied to the samples of ``mask`` (per-sample ``args`` selected too)."""
    if bool(mask.any()):
        idx = mask.nonzero().squeeze(1)
        x[idx] = fn(x[idx], *(a[idx] for a in args))
    return x


def augment(
    x: torch.Tensor,
    u: torch.Tensor,
    transform: MultiCropTransform,
    blur_p: float,
    solarize_p: float,
) -> torch.Tensor:
    """DINO's photometric pipeline (module docstring) on crops [n, 3, S, S] in [0, 1], driven by
    the uniforms ``u`` [n, 14] (:data:`FIELDS`)."""
    x = x.contiguous()
    x = _apply(x, u[:, _F["flip"]] < 0.5, lambda t: t.flip(-1))
    b, c, s, h = transform.jitter
    factors = (
        1 - b + 2 * b * u[:, _F["brightness"]],
        1 - c + 2 * c * u[:, _F["contrast"]],
        1 - s + 2 * s * u[:, _F["saturation"]],
        -h + 2 * h * u[:, _F["hue"]],
    )
    jittered = u[:, _F["jitter"]] < transform.jitter_p
    order = torch.argsort(u[:, _F["order0"] : _F["order3"] + 1], dim=1)  # a random permutation
    for position in range(4):
        for op, (fn, factor) in enumerate(zip(JITTER_OPS, factors, strict=True)):
            x = _apply(x, jittered & (order[:, position] == op), fn, factor)
    x = _apply(
        x, u[:, _F["grayscale"]] < transform.grayscale_p, lambda t: grayscale(t).expand_as(t)
    )
    lo, hi = transform.sigma_range()
    sigma = lo + (hi - lo) * u[:, _F["sigma"]]
    radius = max(1, math.ceil(3 * hi))
    x = _apply(x, u[:, _F["blur"]] < blur_p, lambda t, sg: gaussian_blur(t, sg, radius), sigma)
    threshold = 128 / 255
    x = _apply(
        x, u[:, _F["solarize"]] < solarize_p, lambda t: torch.where(t >= threshold, 1 - t, t)
    )
    return x
