"""Bad configuration fails while Snakemake plans, before any job runs, naming the key.

One bad value per run factor (cliptail.factors.RUN_FACTORS; a new factor without a case here
fails the coverage test), given in a study's grid of a user's preset file and checked through the
real `snakemake -n` of the workflow.
"""

from __future__ import annotations

import shutil

import pytest
import yaml

from cliptail import factors
from tests.workflow.workspace import copy_project, snakemake

pytestmark = pytest.mark.slow

BAD_GRID_VALUE = {
    "source": ("laion", "'laion' is not one of"),
    "caption": ("poem", "'poem' is not one of"),
    "scale": (1.5, "1.5 is not a fraction in (0, 1]"),
    "classes": ("some", "'some' is not one of"),
    "trim_k": (2.5, "2.5 is not an integer >= 0"),
    "trim_ceil": (3, "3 is not one of [0, 1]"),
    "method": ("byol", "'byol' is not one of"),
    "text_tower": ("bert", "'bert' is not one of"),
    "head": ("fixed", "'fixed' is not one of"),
    "vocab_size": (0, "0 is neither 'full' nor an integer >= 1"),
    "vocab_weight": ("log", "'log' is not one of"),
    "seed": (-1, "-1 is not an integer >= 0"),
    "recipe": ("fast", "'fast'"),
}


def test_every_run_factor_has_a_bad_value_case():
    assert set(BAD_GRID_VALUE) == set(factors.RUN_FACTORS)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return copy_project(tmp_path_factory.mktemp("bad_config") / "cliptail")


@pytest.mark.parametrize("factor", sorted(BAD_GRID_VALUE))
def test_bad_grid_value_fails_planning_with_its_key(project, factor):
    """Fault: a grid value outside the factor's domain used to reach the jobs (or be ignored)."""
    value, message = BAD_GRID_VALUE[factor]
    method = "clip" if factor == "text_tower" else "sl"
    preset = {
        "preset": "probe",
        "studies": {"probe": {"runs": [{"method": method, "grid": {factor: [value]}}]}},
    }
    path = project / f"probe_{factor}.yaml"
    path.write_text(yaml.safe_dump(preset))
    proc = snakemake(project, "-n", "--configfile", path.name, check=False)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert f"studies.probe.runs[0].grid.{factor}[0]" in text, text[-2000:]
    assert message in text, text[-2000:]
    assert not (project / "results" / "data").exists()
    shutil.rmtree(project / ".snakemake", ignore_errors=True)
