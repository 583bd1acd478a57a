"""Writing a finished figure: ``<stem>.png`` (150 dpi, for the report) and ``<stem>.pdf``."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from cliptail.io import atomic_path

PNG_DPI = 150


def save(fig: Figure, stem: str | os.PathLike) -> tuple[Path, Path]:
    """Write ``stem.png`` and ``stem.pdf`` atomically, close ``fig``, return both paths.

    Each file is written to a temporary name and renamed over the destination, so an interrupted
    save never leaves a half-written figure. The PDF carries no creation date, so the same
    figure gives the same bytes on every run.
    """
    stem = Path(stem)
    png, pdf = Path(f"{stem}.png"), Path(f"{stem}.pdf")
    try:
        with atomic_path(png) as tmp:
            fig.savefig(tmp, format="png", dpi=PNG_DPI)
        with atomic_path(pdf) as tmp:
            fig.savefig(tmp, format="pdf", metadata={"CreationDate": None})
    finally:
        plt.close(fig)
    return png, pdf
