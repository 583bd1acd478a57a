"""The paper's figures as pure functions: tidy tables / per-class records in, matplotlib Figure out.

No function here reads or writes files except :func:`save`, which writes ``<stem>.png`` and
``<stem>.pdf`` atomically. :data:`CAPTIONS` holds a one- or two-sentence caption per figure id
(used by the HTML report) and :data:`STEMS` the output file stem of each figure under
``results/figures/``.
"""

from cliptail.figures.distribution import CAPTION_FIG04A, CAPTION_FIG04B, fig04a, fig04b
from cliptail.figures.neural_collapse import CAPTION_FIG07A, fig07a
from cliptail.figures.open_world import CAPTION_FIG06, fig06
from cliptail.figures.output import save
from cliptail.figures.per_class import CAPTION_FIG11, CAPTION_FIG15, fig11, fig15
from cliptail.figures.robustness import CAPTION_FIG03, CAPTION_FIG19, fig03, fig19
from cliptail.figures.scale import CAPTION_FIG05, fig05
from cliptail.figures.trim_tail import (
    CAPTION_FIG08,
    CAPTION_FIG09B,
    fig08,
    fig09b,
    select_tail_runs,
)

#: Figure id (the function name) -> caption.
CAPTIONS = {
    "fig03": CAPTION_FIG03,
    "fig04a": CAPTION_FIG04A,
    "fig04b": CAPTION_FIG04B,
    "fig05": CAPTION_FIG05,
    "fig06": CAPTION_FIG06,
    "fig07a": CAPTION_FIG07A,
    "fig08": CAPTION_FIG08,
    "fig09b": CAPTION_FIG09B,
    "fig11": CAPTION_FIG11,
    "fig15": CAPTION_FIG15,
    "fig19": CAPTION_FIG19,
}

#: Figure id -> output stem (``results/figures/<stem>.{png,pdf}``).
STEMS = {
    "fig03": "fig03_descriptiveness_vocabulary",
    "fig04a": "fig04a_frequency_variants",
    "fig04b": "fig04b_distribution",
    "fig05": "fig05_scale",
    "fig06": "fig06_open_world",
    "fig07a": "fig07a_nc_correlations",
    "fig08": "fig08_trim_tail",
    "fig09b": "fig09b_tail_classes",
    "fig11": "fig11_pearson_spearman",
    "fig15": "fig15_binned",
    "fig19": "fig19_frozen_text",
}

__all__ = [
    "CAPTIONS",
    "STEMS",
    "fig03",
    "fig04a",
    "fig04b",
    "fig05",
    "fig06",
    "fig07a",
    "fig08",
    "fig09b",
    "fig11",
    "fig15",
    "fig19",
    "save",
    "select_tail_runs",
]
