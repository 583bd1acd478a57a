"""Procedural, vectorised rendering of concept instances into small RGB images.

Coordinates: an image spans ``[-1, 1]^2`` (x to the right, y downwards); pixel centres sit at
``(j + 0.5) / S * 2 - 1``. An object of radius ``scale`` centred at ``(cx, cy)`` and rotated by
``theta`` is made of ``parts`` copies of the concept's shape laid out in object-local units
(:data:`PART_LAYOUTS`); each part carries the concept's pattern in its accent colour. Shapes and
patterns are signed-distance functions in part-local units (circumradius about 1), so edges are
anti-aliased: coverage ``= clip(0.5 - sdf * pixels_per_unit, 0, 1)``.

An image is: background (palette colour + linear gradient + one low-frequency wave) ->
distractor shapes (clutter) -> the object -> the style's photometric transform
``0.5 + contrast * (x - 0.5) + tint`` -> optional blur / 2x2 block averaging -> Gaussian pixel
noise -> ``uint8``. Per-image nuisances are drawn by :func:`sample_instances`; their spread grows
with ``diversity`` and their statistics depend on the source's :class:`RenderStyle`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from cliptail.data.synthetic.concepts import ACCENT_RGB, COLORS, accent_of

# named background colours (linear RGB); captions say "on a slate background"
BACKGROUNDS: tuple[tuple[str, tuple[float, float, float]], ...] = (
    ("grey", (0.50, 0.50, 0.50)),
    ("beige", (0.78, 0.72, 0.60)),
    ("cream", (0.90, 0.87, 0.78)),
    ("slate", (0.35, 0.40, 0.48)),
    ("olive", (0.45, 0.47, 0.30)),
    ("sand", (0.76, 0.65, 0.45)),
    ("charcoal", (0.20, 0.20, 0.22)),
    ("navy", (0.14, 0.17, 0.34)),
    ("mint", (0.60, 0.82, 0.70)),
    ("lilac", (0.72, 0.64, 0.84)),
    ("rust", (0.62, 0.30, 0.18)),
    ("sky", (0.55, 0.72, 0.92)),
)
_BACKGROUND_RGB = np.array([rgb for _, rgb in BACKGROUNDS], dtype=np.float32)

# object-local centres of the parts and the part radius, by number of parts
PART_LAYOUTS: dict[int, tuple[tuple[tuple[float, float], ...], float]] = {
    1: (((0.0, 0.0),), 1.0),
    2: (((-0.5, 0.0), (0.5, 0.0)), 0.48),
    3: (((-0.5, 0.29), (0.5, 0.29), (0.0, -0.58)), 0.44),
    4: (((-0.48, -0.48), (0.48, -0.48), (-0.48, 0.48), (0.48, 0.48)), 0.42),
}
MAX_PARTS = len(PART_LAYOUTS)
MAX_DISTRACTORS = 4
BASE_SCALE = 0.55  # median object radius, in half-image units
DISTRACTOR_SCALE = (0.12, 0.26)


@dataclass(frozen=True)
class RenderStyle:
    """Rendering statistics of one source. Styles interpolate linearly field by field."""

    background_weights: tuple[float, ...]  # relative frequency of each BACKGROUNDS entry
    background_texture: float  # amplitude of background gradient and wave
    tint: tuple[float, float, float]  # mean colour cast added to the image
    tint_spread: float  # per-image std of the colour cast
    contrast: float  # gain around mid-grey
    noise: float  # std of per-pixel Gaussian noise
    clutter_gain: float  # multiplies the world's mean number of distractors
    scale_shift: float  # added to the log object radius
    blur: float  # mixing weight of a 3x3 box blur
    blockiness: float  # mixing weight of 2x2 block averaging (compression-like)

    def towards(self, other: RenderStyle, amount: float) -> RenderStyle:
        """The style ``self + amount * (other - self)``."""
        values = {}
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if isinstance(a, tuple):
                values[f.name] = tuple(x + amount * (y - x) for x, y in zip(a, b, strict=True))
            else:
                values[f.name] = a + amount * (b - a)
        return RenderStyle(**values)


# curated (ImageNet-Captions-like): muted backgrounds, clean photometry
CURATED_STYLE = RenderStyle(
    background_weights=(3, 2, 2, 2, 1, 1, 1, 0.5, 0.3, 0.3, 0.3, 0.3),
    background_texture=0.08,
    tint=(0.0, 0.0, 0.0),
    tint_spread=0.02,
    contrast=1.0,
    noise=0.03,
    clutter_gain=1.0,
    scale_shift=0.0,
    blur=0.0,
    blockiness=0.0,
)
# web (LAION-like) at full shift: saturated/dark backgrounds, warm cast, more contrast and
# clutter, larger objects, compression-like blockiness
WEB_STYLE = RenderStyle(
    background_weights=(0.3, 0.3, 1, 0.3, 0.3, 0.5, 2, 2, 2, 2, 2, 2),
    background_texture=0.18,
    tint=(0.07, 0.02, -0.06),
    tint_spread=0.06,
    contrast=1.25,
    noise=0.06,
    clutter_gain=2.0,
    scale_shift=0.12,
    blur=0.0,
    blockiness=0.6,
)
# v2 (ImageNetV2-like) at full shift: same concepts, other backgrounds, smaller and softer objects
V2_STYLE = RenderStyle(
    background_weights=(0.5, 1, 0.5, 2, 3, 3, 2, 1, 0.3, 0.3, 1, 0.3),
    background_texture=0.12,
    tint=(-0.02, 0.0, 0.04),
    tint_spread=0.04,
    contrast=0.85,
    noise=0.045,
    clutter_gain=1.6,
    scale_shift=-0.15,
    blur=0.35,
    blockiness=0.0,
)


@dataclass
class Instances:
    """Everything drawn for a batch of ``B`` images (arrays over the batch)."""

    label: np.ndarray  # [B] concept index
    shape: np.ndarray  # [B] shape index
    color: np.ndarray  # [B] colour index
    pattern: np.ndarray  # [B] pattern index
    parts: np.ndarray  # [B] number of parts
    cx: np.ndarray  # [B] object centre
    cy: np.ndarray
    scale: np.ndarray  # [B] object radius (half-image units)
    theta: np.ndarray  # [B] rotation (radians)
    body_rgb: np.ndarray  # [B, 3] jittered body colour
    accent_rgb: np.ndarray  # [B, 3] jittered accent colour
    background: np.ndarray  # [B] BACKGROUNDS index
    background_rgb: np.ndarray  # [B, 3]
    gradient: np.ndarray  # [B, 2]: direction angle, amplitude
    wave: np.ndarray  # [B, 4]: direction angle, cycles across the image, phase, amplitude
    tint: np.ndarray  # [B, 3]
    num_distractors: np.ndarray  # [B]
    distractor_shape: np.ndarray  # [B, MAX_DISTRACTORS]
    distractor_color: np.ndarray  # [B, MAX_DISTRACTORS]
    distractor_xy: np.ndarray  # [B, MAX_DISTRACTORS, 2]
    distractor_scale: np.ndarray  # [B, MAX_DISTRACTORS]
    distractor_theta: np.ndarray  # [B, MAX_DISTRACTORS]


def sample_instances(
    labels: np.ndarray,
    attributes: np.ndarray,
    *,
    style: RenderStyle,
    diversity: float,
    clutter: float,
    num_shapes: int,
    num_colors: int,
    rng: np.random.Generator,
) -> Instances:
    """Draw the per-image nuisances of images of concepts ``labels``.

    ``attributes[c] = (shape, colour, pattern, parts)`` of concept ``c``. With ``d = diversity``:
    log-radius ~ N(scale_shift, 0.04 + 0.22 d); centre ~ N(0, 0.03 + 0.25 d) per axis, clipped
    to keep the object in frame; rotation ~ U(+-pi (0.05 + 0.95 d)); brightness ~
    exp N(0, 0.04 + 0.16 d) and per-channel colour jitter ~ N(0, 0.02 + 0.08 d); background
    weights are sharpened to ``w ** (1 + 3 (1 - d))`` (few backgrounds at low diversity) and the
    background texture amplitude is scaled by ``0.3 + 0.7 d``. Distractor count ~
    Poisson(clutter * clutter_gain), capped at MAX_DISTRACTORS.
    """
    d = float(diversity)
    n = len(labels)
    attrs = attributes[labels]
    scale = BASE_SCALE * np.exp(style.scale_shift + rng.normal(0.0, 0.04 + 0.22 * d, n))
    scale = np.clip(scale, 0.28, 0.9)
    limit = np.maximum(0.0, 0.95 - scale)
    cx = np.clip(rng.normal(0.0, 0.03 + 0.25 * d, n), -limit, limit)
    cy = np.clip(rng.normal(0.0, 0.03 + 0.25 * d, n), -limit, limit)
    theta = rng.uniform(-1.0, 1.0, n) * np.pi * (0.05 + 0.95 * d)

    body = np.array([rgb for _, rgb in COLORS], dtype=np.float64)[attrs[:, 1]]
    accent = np.array([ACCENT_RGB[accent_of(c)] for c in attrs[:, 1]], dtype=np.float64).reshape(
        n, 3
    )
    brightness = np.exp(rng.normal(0.0, 0.04 + 0.16 * d, (n, 1)))
    body = body * brightness + rng.normal(0.0, 0.02 + 0.08 * d, (n, 3))
    accent = accent + rng.normal(0.0, 0.02 + 0.04 * d, (n, 3))

    weights = np.asarray(style.background_weights, dtype=np.float64) ** (1.0 + 3.0 * (1.0 - d))
    background = rng.choice(len(BACKGROUNDS), size=n, p=weights / weights.sum())
    background_rgb = _BACKGROUND_RGB[background] + rng.normal(0.0, 0.02 + 0.06 * d, (n, 3))
    texture = style.background_texture * (0.3 + 0.7 * d)
    gradient = np.stack([rng.uniform(0, 2 * np.pi, n), texture * rng.uniform(0, 1, n)], axis=1)
    wave = np.stack(
        [
            rng.uniform(0, 2 * np.pi, n),
            rng.uniform(0.5, 3.0, n),
            rng.uniform(0, 2 * np.pi, n),
            texture * rng.uniform(0, 1, n),
        ],
        axis=1,
    )
    tint = np.asarray(style.tint) + rng.normal(0.0, style.tint_spread, (n, 3))

    num_distractors = np.minimum(rng.poisson(clutter * style.clutter_gain, n), MAX_DISTRACTORS)
    k = MAX_DISTRACTORS
    f32 = np.float32
    return Instances(
        label=np.asarray(labels, dtype=np.int64),
        shape=attrs[:, 0],
        color=attrs[:, 1],
        pattern=attrs[:, 2],
        parts=attrs[:, 3],
        cx=cx.astype(f32),
        cy=cy.astype(f32),
        scale=scale.astype(f32),
        theta=theta.astype(f32),
        body_rgb=body.astype(f32),
        accent_rgb=accent.astype(f32),
        background=background,
        background_rgb=background_rgb.astype(f32),
        gradient=gradient.astype(f32),
        wave=wave.astype(f32),
        tint=tint.astype(f32),
        num_distractors=num_distractors,
        distractor_shape=rng.integers(0, num_shapes, (n, k)),
        distractor_color=rng.integers(0, num_colors, (n, k)),
        distractor_xy=rng.uniform(-0.85, 0.85, (n, k, 2)).astype(f32),
        distractor_scale=rng.uniform(*DISTRACTOR_SCALE, (n, k)).astype(f32),
        distractor_theta=rng.uniform(-np.pi, np.pi, (n, k)).astype(f32),
    )


# --- signed distance functions (part-local units) -------------------------------------------


def _polygon(u: np.ndarray, v: np.ndarray, sides: int, apothem: float, phase: float) -> np.ndarray:
    dist = None
    for k in range(sides):
        angle = phase + 2 * np.pi * k / sides
        t = u * np.float32(np.cos(angle)) + v * np.float32(np.sin(angle))
        dist = t if dist is None else np.maximum(dist, t)
    return dist - np.float32(apothem)


def _box(u: np.ndarray, v: np.ndarray, half_w: float, half_h: float) -> np.ndarray:
    return np.maximum(np.abs(u) - half_w, np.abs(v) - half_h)


def _shape_sdf(shape: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Signed distance (negative inside) to shape ``shape`` (index into SHAPES)."""
    r = np.hypot(u, v)
    if shape == 0:  # disc
        return r - 0.9
    if shape == 1:  # square
        return _polygon(u, v, 4, 0.72, 0.0)
    if shape == 2:  # triangle, apex up
        return _polygon(u, v, 3, 0.5, np.pi / 2)
    if shape == 3:  # ring
        return np.abs(r - 0.7) - 0.24
    if shape == 4:  # cross
        return np.minimum(_box(u, v, 0.92, 0.3), _box(u, v, 0.3, 0.92))
    if shape == 5:  # five-pointed star, a point up
        phi = np.arctan2(v, u)
        return (r - (0.58 + 0.36 * np.cos(5 * (phi + np.pi / 2)))) * 0.55
    if shape == 6:  # diamond (tall rhombus)
        return (np.abs(u) / 0.62 + np.abs(v) - 1.0) * 0.53
    if shape == 7:  # hexagon
        return _polygon(u, v, 6, 0.85, 0.0)
    if shape == 8:  # crescent: disc minus an offset disc
        return np.maximum(r - 0.92, 0.72 - np.hypot(u - 0.42, v))
    if shape == 9:  # bar
        return _box(u, v, 0.95, 0.3)
    raise ValueError(f"no shape with index {shape}")


def _grouped_sdf(shapes: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    out = np.empty_like(u)
    for shape in np.unique(shapes):
        rows = shapes == shape
        out[rows] = _shape_sdf(int(shape), u[rows], v[rows])
    return out


def _stripe_alpha(s: np.ndarray, cycles: float, pixels_per_unit: np.ndarray) -> np.ndarray:
    """Anti-aliased indicator of ``s > 0`` for ``s = sin(2 pi cycles t)``."""
    return np.clip(0.5 + s * pixels_per_unit / (2 * np.pi * cycles), 0.0, 1.0)


def _pattern_alpha(
    pattern: int, u: np.ndarray, v: np.ndarray, sdf: np.ndarray, ppu: np.ndarray
) -> np.ndarray:
    """Accent coverage in [0, 1] of pattern ``pattern`` (index into PATTERNS)."""
    if pattern == 0:  # plain
        return np.zeros_like(u)
    if pattern == 1:  # stripes
        return _stripe_alpha(np.sin(2 * np.pi * 1.2 * u), 1.2, ppu)
    if pattern == 2:  # dots on a square lattice of period 0.8
        du = u / 0.8 - np.round(u / 0.8)
        dv = v / 0.8 - np.round(v / 0.8)
        return np.clip(0.5 - (np.hypot(du, dv) * 0.8 - 0.24) * ppu, 0.0, 1.0)
    if pattern == 3:  # checks of side 0.5
        return _stripe_alpha(np.sin(2 * np.pi * u) * np.sin(2 * np.pi * v), 1.0, ppu)
    if pattern == 4:  # concentric bands
        return _stripe_alpha(np.sin(2 * np.pi * 1.2 * np.hypot(u, v)), 1.2, ppu)
    if pattern == 5:  # rim along the outline
        return np.clip(0.5 + (sdf + 0.22) * ppu, 0.0, 1.0)
    if pattern == 6:  # zigzag stripes
        tri = 2 * np.abs(v * 1.2 - np.floor(v * 1.2 + 0.5))
        return _stripe_alpha(np.sin(2 * np.pi * (u + 0.35 * tri)), 1.0, ppu)
    raise ValueError(f"no pattern with index {pattern}")


# --- compositing -----------------------------------------------------------------------------


def _local(x: np.ndarray, y: np.ndarray, cx, cy, theta, scale):
    """Object-local coordinates of pixel grids for a batch (all arguments [n] or [n,1,1])."""
    c, s = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
    dx, dy = x - cx[:, None, None], y - cy[:, None, None]
    sc = scale[:, None, None]
    return (c * dx + s * dy) / sc, (-s * dx + c * dy) / sc


def _paint(image: np.ndarray, rows: np.ndarray, coverage: np.ndarray, color: np.ndarray) -> None:
    """``image[rows] = image[rows] * (1 - coverage) + color * coverage``.

    ``color`` is one colour per row ([n, 3]) or per pixel ([n, S, S, 3]).
    """
    cov = coverage[..., None]
    col = color[:, None, None, :] if color.ndim == 2 else color
    image[rows] = image[rows] * (1.0 - cov) + col * cov


def _background(inst: Instances, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    g_dir, g_amp = inst.gradient[:, 0, None, None], inst.gradient[:, 1, None, None]
    w_dir, w_cyc = inst.wave[:, 0, None, None], inst.wave[:, 1, None, None]
    w_phase, w_amp = inst.wave[:, 2, None, None], inst.wave[:, 3, None, None]
    shade = g_amp * (np.cos(g_dir) * x + np.sin(g_dir) * y)
    shade = shade + w_amp * np.sin(
        np.pi * w_cyc * (np.cos(w_dir) * x + np.sin(w_dir) * y) + w_phase
    )
    return inst.background_rgb[:, None, None, :] + shade[..., None]


def _draw_distractors(
    image: np.ndarray, inst: Instances, x: np.ndarray, y: np.ndarray, size: int
) -> None:
    colors = np.array([rgb for _, rgb in COLORS], dtype=np.float32)
    for k in range(MAX_DISTRACTORS):
        rows = np.flatnonzero(inst.num_distractors > k)
        if rows.size == 0:
            continue
        scale = inst.distractor_scale[rows, k]
        u, v = _local(
            x,
            y,
            inst.distractor_xy[rows, k, 0],
            inst.distractor_xy[rows, k, 1],
            inst.distractor_theta[rows, k],
            scale,
        )
        sdf = _grouped_sdf(inst.distractor_shape[rows, k], u, v)
        ppu = (np.float32(size / 2) * scale)[:, None, None]
        _paint(
            image, rows, np.clip(0.5 - sdf * ppu, 0.0, 1.0), colors[inst.distractor_color[rows, k]]
        )


def _draw_object(
    image: np.ndarray, inst: Instances, x: np.ndarray, y: np.ndarray, size: int
) -> None:
    body, accent = inst.body_rgb, inst.accent_rgb
    for parts, (centres, radius) in PART_LAYOUTS.items():
        group = np.flatnonzero(inst.parts == parts)
        if group.size == 0:
            continue
        u_obj, v_obj = _local(
            x, y, inst.cx[group], inst.cy[group], inst.theta[group], inst.scale[group]
        )
        ppu = (np.float32(size / 2 * radius) * inst.scale[group])[:, None, None]
        for ox, oy in centres:
            u = (u_obj - np.float32(ox)) / np.float32(radius)
            v = (v_obj - np.float32(oy)) / np.float32(radius)
            sdf = _grouped_sdf(inst.shape[group], u, v)
            alpha = np.zeros_like(u)
            for pattern in np.unique(inst.pattern[group]):
                sel = inst.pattern[group] == pattern
                alpha[sel] = _pattern_alpha(int(pattern), u[sel], v[sel], sdf[sel], ppu[sel])
            a = alpha[..., None]
            color = body[group, None, None, :] * (1.0 - a) + accent[group, None, None, :] * a
            _paint(image, group, np.clip(0.5 - sdf * ppu, 0.0, 1.0), color)


def _box_blur(image: np.ndarray) -> np.ndarray:
    padded = np.pad(image, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
    size = image.shape[1]
    total = np.zeros_like(image)
    for dy in range(3):
        for dx in range(3):
            total += padded[:, dy : dy + size, dx : dx + size]
    return total / 9.0


def _block_average(image: np.ndarray) -> np.ndarray:
    """Each 2x2 pixel block replaced by its mean (a trailing odd row/column is kept)."""
    he, we = image.shape[1] - image.shape[1] % 2, image.shape[2] - image.shape[2] % 2
    out = image.copy()
    blocks = (
        image[:, 0:he:2, 0:we:2]
        + image[:, 1:he:2, 0:we:2]
        + image[:, 0:he:2, 1:we:2]
        + image[:, 1:he:2, 1:we:2]
    ) * np.float32(0.25)
    for dy in (0, 1):
        for dx in (0, 1):
            out[:, dy:he:2, dx:we:2] = blocks
    return out


def render(inst: Instances, style: RenderStyle, size: int, rng: np.random.Generator) -> np.ndarray:
    """Render a batch of instances into ``uint8`` images of shape [B, size, size, 3]."""
    centres = (np.arange(size, dtype=np.float32) + 0.5) / size * 2 - 1
    x = centres[None, None, :]
    y = centres[None, :, None]
    image = _background(inst, x, y)
    _draw_distractors(image, inst, x, y, size)
    _draw_object(image, inst, x, y, size)
    image -= np.float32(0.5)
    image *= np.float32(style.contrast)
    image += np.float32(0.5) + inst.tint[:, None, None, :]
    if style.blur > 0:
        blur = np.float32(style.blur)
        image = (1 - blur) * image + blur * _box_blur(image)
    if style.blockiness > 0:
        block = np.float32(style.blockiness)
        image = (1 - block) * image + block * _block_average(image)
    image += np.float32(style.noise) * rng.standard_normal(image.shape, dtype=np.float32)
    image *= np.float32(255.0)
    return np.clip(np.rint(image, out=image), 0, 255, out=image).astype(np.uint8)
