"""Point labels that keep out of each other's way: a small deterministic repel.

:func:`place_labels` runs once a figure's layout is final and moves each label (a matplotlib
``Annotation`` with offset-points coordinates) to a free position near its point: not on another
label, not on a marker or note, inside its panel, crossing fit lines as little as possible.
Offsets are in points, so the placement holds at any dpi, and the same figure always gets the
same placement.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.text import Annotation, Text

#: Scatter marker size (points^2) that the markers of labelled points are drawn with.
MARKER_SIZE = 22

#: Directions (degrees) tried around a point, in order of preference: the diagonals (upper
#: right first), then right, left, up, down, then the directions in between.
_DIRECTIONS = (45, -45, 135, -135, 0, 180, 90, -90)
_DIRECTIONS += (22.5, -22.5, 157.5, -157.5, 67.5, -67.5, 112.5, -112.5)
#: Distance (points) of the first ring of candidate positions, the step between rings, and the
#: number of rings.
_RING_START, _RING_STEP, _RINGS = 2.5, 4.0, 10
#: The first ring (counted from 0) whose labels get a thin leader line to their point.
_LEADER_FROM = 3


def _candidates() -> list[list[tuple[float, float, str, str]]]:
    """Per ring (nearest first): (dx, dy, ha, va) in points, preferred direction first."""
    rings = []
    for ring in range(_RINGS):
        dist = _RING_START + _RING_STEP * ring
        out = []
        for angle in _DIRECTIONS:
            ux, uy = np.cos(np.radians(angle)), np.sin(np.radians(angle))
            ha = "left" if ux > 0.3 else "right" if ux < -0.3 else "center"
            va = "bottom" if uy > 0.3 else "top" if uy < -0.3 else "center"
            out.append((round(dist * ux, 3), round(dist * uy, 3), ha, va))
        rings.append(out)
    return rings


def _overlap(a: np.ndarray, boxes: np.ndarray) -> float:
    """Total overlap area of box ``a`` (x0, y0, x1, y1) with each row of ``boxes``."""
    if not len(boxes):
        return 0.0
    w = np.minimum(a[2], boxes[:, 2]) - np.maximum(a[0], boxes[:, 0])
    h = np.minimum(a[3], boxes[:, 3]) - np.maximum(a[1], boxes[:, 1])
    return float((np.clip(w, 0, None) * np.clip(h, 0, None)).sum())


def _outside(a: np.ndarray, frame: np.ndarray) -> float:
    """Area of box ``a`` outside ``frame``."""
    inside = _overlap(a, frame[None, :])
    return float((a[2] - a[0]) * (a[3] - a[1]) - inside)


def _text_box(ann: Annotation, renderer) -> np.ndarray:
    ann.update_positions(renderer)
    bb = Text.get_window_extent(ann, renderer)  # the text only, without a leader line
    return np.array([bb.x0, bb.y0, bb.x1, bb.y1])


def _samples(xy: np.ndarray) -> list[np.ndarray]:
    """Points along the segments of the polyline ``xy`` (display coordinates)."""
    t = np.linspace(0.0, 1.0, 40)
    return [
        np.column_stack([x0 + (x1 - x0) * t, y0 + (y1 - y0) * t])
        for (x0, y0), (x1, y1) in zip(xy[:-1], xy[1:], strict=True)
        if np.isfinite([x0, y0, x1, y1]).all()
    ]


def _obstacles(ax, renderer, labels: Sequence[Annotation]) -> tuple[np.ndarray, np.ndarray]:
    """Hard obstacles (markers, notes) as boxes and soft ones (fit lines, error bars) as
    sampled points. Error-bar caps (lines without a line style) are no obstacle."""
    radius = np.sqrt(MARKER_SIZE) / 2 * ax.figure.dpi / 72 + 1.0
    boxes = []
    samples = [np.zeros((0, 2))]
    for collection in ax.collections:
        if isinstance(collection, LineCollection):  # error bars
            for segment in collection.get_segments():
                xy = np.asarray(segment, dtype=np.float64).reshape(-1, 2)
                samples += _samples(ax.transData.transform(xy)) if len(xy) > 1 else []
            continue
        for px, py in ax.transData.transform(collection.get_offsets()):
            boxes.append([px - radius, py - radius, px + radius, py + radius])
    for text in ax.texts:
        if text not in labels and text.get_visible() and text.get_text():
            bb = text.get_window_extent(renderer)
            boxes.append([bb.x0, bb.y0, bb.x1, bb.y1])
    for line in ax.lines:
        if line.get_linestyle() in ("None", "none", "", " "):
            continue
        samples += _samples(
            ax.transData.transform(np.column_stack(line.get_data()).astype(np.float64))
        )
    return np.array(boxes).reshape(-1, 4), np.concatenate(samples)


def place_labels(fig: Figure, panels: Sequence[tuple[Axes, Sequence[Annotation]]]) -> None:
    """Move each point label to a free position near its point.

    Deterministic greedy repel, run once the figure's layout is final: labels are placed in
    order; each tries offsets on rings of growing distance (:data:`_DIRECTIONS`, upper right
    first) and takes, on the nearest ring that has one, the position whose text box overlaps no
    placed label and no marker or note and lies inside the panel, preferring on that ring the
    one crossing the fit lines least. When no ring has such a position, the label takes the one
    with the least overlap (labels weigh most, then leaving the panel, then markers). A label
    placed from ring :data:`_LEADER_FROM` on gets a thin leader line to its point. Offsets are in
    points, so the placement holds at any dpi.
    """
    if not any(labels for _, labels in panels):
        return
    if not hasattr(fig.canvas, "get_renderer"):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(fig)
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    rings = _candidates()
    for ax, labels in panels:
        frame = ax.get_window_extent(renderer)
        frame = np.array([frame.x0, frame.y0, frame.x1, frame.y1])
        hard, soft = _obstacles(ax, renderer, labels)
        placed = np.zeros((0, 4))
        for ann in labels:
            dx, dy, ha, va, ring, box = _place_one(ann, renderer, rings, frame, hard, soft, placed)
            ann.xyann = (dx, dy)
            ann.set_horizontalalignment(ha)
            ann.set_verticalalignment(va)
            ann.arrow_patch.set_visible(ring >= _LEADER_FROM)
            placed = np.vstack([placed, box])


def _place_one(ann, renderer, rings, frame, hard, soft, placed) -> tuple:
    """(dx, dy, ha, va, ring, text box) of the position :func:`place_labels` picks for ``ann``."""
    best, best_cost = None, None
    for ring, candidates in enumerate(rings):
        ring_best, ring_cost = None, None
        for dx, dy, ha, va in candidates:
            ann.xyann = (dx, dy)
            ann.set_horizontalalignment(ha)
            ann.set_verticalalignment(va)
            box = _text_box(ann, renderer)
            inside = (
                (soft[:, 0] >= box[0])
                & (soft[:, 0] <= box[2])
                & (soft[:, 1] >= box[1])
                & (soft[:, 1] <= box[3])
            )
            cost = (
                _overlap(box, placed),
                _outside(box, frame),
                _overlap(box, hard),
                int(inside.sum()),
            )
            if ring_cost is None or cost < ring_cost:
                ring_best, ring_cost = (dx, dy, ha, va, ring, box), cost
            if cost == (0.0, 0.0, 0.0, 0):
                break
        if ring_cost[:3] == (0.0, 0.0, 0.0):
            return ring_best
        if best_cost is None or ring_cost < best_cost:
            best, best_cost = ring_best, ring_cost
    return best
