"""cliptail reaches open_clip without the packages it never uses (cliptail.openclip)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from cliptail.openclip import DATA_MODULES, open_clip_data
from tests.fixtures.rules_harness import REPO


def _loaded_after(statement: str, modules: tuple[str, ...]) -> list[str]:
    """The ``modules`` a fresh interpreter holds after running ``statement``."""
    code = f"import sys\n{statement}\nprint(' '.join(m for m in {modules!r} if m in sys.modules))"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    return proc.stdout.split()


def test_training_and_evaluation_import_open_clip_without_transformers_or_timm():
    statement = (
        "import cliptail.train.loop, cliptail.evaluate.zeroshot, cliptail.models.text_encoder\n"
        "assert 'open_clip' in sys.modules"
    )
    assert _loaded_after(statement, ("transformers", "timm")) == []


def test_transformers_stays_importable_after_open_clip():
    statement = (
        "from cliptail.openclip import load_open_clip\n"
        "open_clip = load_open_clip()\n"
        "import transformers\n"
        "assert transformers.AutoModel is not None\n"
        "assert open_clip.hf_model.transformers is None"
    )
    assert _loaded_after(statement, ("transformers",)) == ["transformers"]


def test_curation_reads_the_templates_without_torch():
    statement = "import cliptail.curate.captions"
    assert _loaded_after(statement, ("torch", "open_clip")) == []


@pytest.mark.parametrize("name", DATA_MODULES)
def test_data_modules_match_the_package(name):
    import open_clip  # the package's own copy, for comparison

    ours = open_clip_data(name)
    theirs = getattr(open_clip, name)
    # in this process open_clip is imported, so the package's module itself is returned
    assert ours is theirs
    standalone = _loaded_after(
        f"from cliptail.openclip import open_clip_data\nm = open_clip_data({name!r})\n"
        "import open_clip\n"
        f"assert m is not getattr(open_clip, {name!r})\n"
        "names = [k for k in vars(m) if k.isupper()]\n"
        f"theirs = getattr(open_clip, {name!r})\n"
        "render = lambda v: [t('dog') for t in v] if v and callable(v[0]) else v\n"
        "assert names and all(render(getattr(m, k)) == render(getattr(theirs, k)) for k in names)",
        ("open_clip",),
    )
    assert standalone == ["open_clip"]


def test_unknown_data_module():
    with pytest.raises(ValueError, match="data modules"):
        open_clip_data("factory")


def test_configs_with_foreign_towers_are_refused():
    from cliptail.models.configs import model_config

    with pytest.raises(ValueError, match="Hugging Face or timm tower"):
        model_config("roberta-ViT-B-32")
    with pytest.raises(ValueError, match="Hugging Face or timm tower"):
        model_config("convnext_base")
    assert model_config("RN50")["embed_dim"] == 1024


def test_every_module_reaches_open_clip_through_cliptail_openclip():
    direct = re.compile(r"^\s*(import open_clip|from open_clip[\s.])", re.MULTILINE)
    offenders = [
        str(path.relative_to(REPO))
        for folder in ("src/cliptail", "workflow/scripts", "benchmarks")
        for path in (REPO / folder).rglob("*.py")
        if path.name != "openclip.py" and direct.search(path.read_text())
    ]
    assert offenders == []


def test_modules_the_workflow_reads_while_planning_load_no_torch():
    """rules/*.smk import these at every `snakemake` call: planning must stay fast."""
    statement = (
        "import cliptail.study, cliptail.layout, cliptail.figures.catalogue, "
        "cliptail.data.probe_tasks, cliptail.evaluate.transfer, cliptail.data.zeroshot_sets\n"
        "from cliptail.evaluate.transfer import prototype_columns\n"
        "prototype_columns({'dino': {'subsample': 64}})\n"
        # the open-source audit: 36 default checkpoints, their files and figure inputs
        "from cliptail.audit.plan import audit_plan\n"
        "from cliptail.figures.catalogue import representatives\n"
        "a = audit_plan({'audit': {'enabled': True, 'evalsets': ['imagenet_val'],"
        " 'concept_sets': ['cub']}})\n"
        "assert len(a.record_files()) == 72 and representatives(a)\n"
        "assert a.frequency_file(a.checkpoints[0].name, 'cub')"
    )
    assert _loaded_after(statement, ("torch", "matplotlib")) == []
