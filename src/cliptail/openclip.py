"""open_clip as cliptail uses it, without paying for what cliptail never builds.

Importing ``open_clip`` also imports ``transformers`` (for Hugging Face text towers) and ``timm``
(for timm image towers) whenever they are installed, and with them wandb, sympy and more: about
4 s of every process's start on a laptop-class CPU, longer than many of the workflow's jobs run.
cliptail builds only open_clip's own towers (the modified ResNet, ViT and text transformer) and
reaches RoBERTa through ``transformers`` directly, so :func:`load_open_clip` imports open_clip
with both packages hidden. They stay importable afterwards (``import transformers`` works as
usual); only open_clip's Hugging Face and timm towers are unavailable, which
:func:`cliptail.models.configs.model_config` checks with a clear error.

:func:`open_clip_data` reads open_clip's data-only modules (normalisation constants, zero-shot
class names and templates) without importing open_clip, and so without torch: curation jobs
need the templates but not a model.

Every cliptail module reaches open_clip through this one (a unit test checks it).
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

#: Packages open_clip imports eagerly for towers cliptail never builds.
HIDDEN_AT_IMPORT = ("transformers", "timm")
#: open_clip modules without imports of their own (pure data).
DATA_MODULES = ("constants", "zero_shot_metadata")


def load_open_clip() -> ModuleType:
    """The ``open_clip`` package, imported (once per process) with :data:`HIDDEN_AT_IMPORT`
    hidden. If open_clip is already imported, that module is returned as it is."""
    if "open_clip" in sys.modules:
        return sys.modules["open_clip"]
    hidden = [name for name in HIDDEN_AT_IMPORT if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # makes `import <name>` raise ImportError inside open_clip
    try:
        import open_clip
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
    return open_clip


def open_clip_data(name: str) -> ModuleType:
    """open_clip's data module ``name`` (one of :data:`DATA_MODULES`), the package's own copy if
    open_clip is imported, else the module file executed on its own."""
    if name not in DATA_MODULES:
        raise ValueError(f"{name!r} is not one of open_clip's data modules {DATA_MODULES}")
    qualified = f"open_clip.{name}"
    if qualified in sys.modules:
        return sys.modules[qualified]
    alias = f"cliptail._open_clip_{name}"
    if alias in sys.modules:
        return sys.modules[alias]
    package = importlib.util.find_spec("open_clip")
    if package is None or not package.submodule_search_locations:
        raise ImportError("open_clip is not installed: pip install open_clip_torch")
    location = f"{list(package.submodule_search_locations)[0]}/{name}.py"
    spec = importlib.util.spec_from_file_location(alias, location)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[alias] = module
    return module
