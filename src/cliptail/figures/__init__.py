"""The paper's figures as pure functions: tidy tables / per-class records in, matplotlib Figure out.

:mod:`cliptail.figures.catalogue` lists every figure and table (id, output stem, caption, inputs,
drawing function) and plans the workflow's figure jobs; :mod:`cliptail.figures.render` draws one
job from its files. The drawing functions live in one module per figure family (``robustness``,
``distribution``, ``scale``, ``open_world``, ``neural_collapse``, ``trim_tail``,
``classifier_affinity``, ``per_class``, ``web_frequency``, ``transfer``, ``audit``) and read or
write no files;
:func:`save` writes ``<stem>.png`` and ``<stem>.pdf`` atomically.

Importing this package is cheap (no matplotlib): ``cliptail.figures.fig03`` and the other drawing
functions are imported on first use.
"""

from cliptail.figures.catalogue import BY_ID, CATALOGUE

#: Figure id -> caption, and -> output stem (``results/figures/<stem>.{png,pdf}``).
CAPTIONS = {e.id: e.caption for e in CATALOGUE}
STEMS = {e.id: e.stem for e in CATALOGUE}

_LAZY = {
    "save": "cliptail.figures.output:save",
    "select_tail_runs": "cliptail.figures.trim_tail:select_tail_runs",
    "fig09b": "cliptail.figures.trim_tail:fig09b",
    **{e.id: e.draw for e in CATALOGUE if e.id != "fig09b"},
}


def __getattr__(name: str):
    if name in _LAZY:
        from cliptail.figures.render import drawing_function

        return drawing_function(_LAZY[name])
    raise AttributeError(f"module 'cliptail.figures' has no attribute {name!r}")


__all__ = ["BY_ID", "CAPTIONS", "CATALOGUE", "STEMS", *sorted(_LAZY)]
