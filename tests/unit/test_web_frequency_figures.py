"""Fig. 1a, 21, 13 and Table 1 (frequency part) from the authors' released frequency files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cliptail import io
from cliptail.data.metadata import released_frequency_file
from cliptail.figures import web_frequency as wf
from cliptail.figures.output import save
from tests.fixtures.real_sources import RELEASED_METADATA

ROOT = Path(__file__).resolve().parents[2]
# the authors' released metadata shipped in the package (freqs/ is all these tests need)
METADATA = RELEASED_METADATA
FREQS = METADATA / "freqs"
pytestmark = pytest.mark.skipif(
    not FREQS.is_dir(), reason=f"the authors' metadata is not at {METADATA}"
)


def released(concepts: str) -> pd.DataFrame:
    return wf.read_frequency_table(
        {d: FREQS / released_frequency_file(d, concepts) for d in wf.WEB_DATASETS}
    )


@pytest.fixture(scope="module")
def imagenet() -> pd.DataFrame:
    return released("imagenet")


def test_every_released_file_exists_and_aligns():
    for concepts in wf.CONCEPT_SETS:
        table = released(concepts)
        assert list(table.columns) == list(wf.WEB_DATASETS)
        assert (table.to_numpy() >= 0).all() and table.index.is_unique
        ori = io.read_frequency(FREQS / f"class_frequency_metaclip_400m_{concepts}_ori.txt")
        assert table.index.tolist() == ori["name"].tolist()  # class order from an _ori file
        assert table["metaclip_400m"].tolist() == ori["count"].tolist()


def test_sorted_files_are_put_back_in_class_order():
    """A count-sorted file aligned by name equals the class-order file of the same counts."""
    by_name = wf.frequency_table(
        {
            "ori": io.read_frequency(FREQS / "class_frequency_laion2b_imagenet_ori.txt"),
            "sorted": io.read_frequency(FREQS / "class_frequency_laion2b_imagenet.txt"),
        }
    )
    assert by_name["ori"].equals(by_name["sorted"].rename("ori"))
    with pytest.raises(ValueError, match="classes differ"):
        wf.frequency_table(
            {
                "a": pd.DataFrame({"name": ["x", "y"], "count": [1, 2]}),
                "b": pd.DataFrame({"name": ["x", "z"], "count": [1, 2]}),
            }
        )


def test_spearman_values_printed_in_the_paper(imagenet):
    rho = wf.spearman_matrix(imagenet)
    assert rho.loc["cc12m", "yfcc15m"] == pytest.approx(0.82, abs=0.005)
    assert rho.loc["laion400m", "laion2b"] == pytest.approx(0.99, abs=0.005)
    assert np.allclose(rho.to_numpy(), rho.to_numpy().T) and np.allclose(np.diag(rho), 1.0)


def test_table01_yfcc_rare_classes():
    """Paper: 29 YFCC-15M classes below 10; 20 below 5, 6 at 1, 2 at 0."""
    table = wf.table01_rare_classes(
        wf.read_frequency_table({"yfcc15m": FREQS / "class_frequency_yfcc15m_imagenet_ori.txt"})
    )
    assert list(table.columns) == wf.TABLE01_COLUMNS
    assert len(table) == 29
    assert (table["frequency"] < 5).sum() == 20
    assert (table["frequency"] == 1).sum() == 6 and (table["frequency"] == 0).sum() == 2
    assert table.iloc[0].tolist() == [194, "Dandie Dinmont Terrier", 0]
    assert table["frequency"].is_monotonic_increasing


def test_smoothing_is_a_gaussian_filter():
    assert np.allclose(wf.smoothed(np.full(100, 7.0)), 7.0)
    impulse = np.zeros(41)
    impulse[20] = 1.0
    weights = np.exp(-(np.arange(-12, 13) ** 2) / (2 * 3.0**2))
    assert np.allclose(wf.smoothed(impulse)[8:33], weights / weights.sum())


def test_fig01a_panels_rank_and_zero_handling(imagenet):
    fig = wf.fig01a(imagenet)
    axes = fig.get_axes()
    assert len(axes) == 3 and all(ax.get_yscale() == "log" for ax in axes)
    lines = {line.get_gid(): line for ax in axes for line in ax.get_lines()}
    assert len(lines) == 12
    laion = lines["raw:laion400m"].get_ydata()
    assert laion[0] == imagenet["laion400m"].max() and (np.diff(laion) <= 0).all()
    assert len(lines["raw:yfcc15m"].get_xdata()) == 998  # two zero classes cannot be drawn
    labels = [t.get_text() for t in axes[0].get_legend().get_texts()]
    assert labels == ["CC-12M (4 zero)", "YFCC-15M (2 zero)"]
    with pytest.raises(ValueError, match="not in the table"):
        wf.fig01a(imagenet.drop(columns="laion2b"))


def test_fig21_and_fig13_layout(imagenet, tmp_path):
    fig = wf.fig21(imagenet)  # 3 dataset pairs x 5 bands of 200 ranks
    assert len(fig.get_axes()) == 15 and all(ax.get_yscale() == "linear" for ax in fig.get_axes())
    band = [line for line in fig.get_axes()[1].get_lines() if line.get_gid() == "band200:cc12m"][0]
    assert band.get_xdata()[0] == 201 and len(band.get_xdata()) == 200
    fig = wf.fig13({c: released(c) for c in ("imagenet", "cub", "dtd")})
    visible = [ax for ax in fig.get_axes() if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["ImageNet", "CUB", "DTD"]
    annotations = [t.get_text() for t in visible[0].texts]
    assert len(annotations) == 21 and "0.82" in annotations and "0.99" in annotations
    png, pdf = save(fig, tmp_path / "fig13")
    assert png.stat().st_size > 10_000 and pdf.read_bytes().startswith(b"%PDF")


def test_figure_script_draws_a_catalogue_table_standalone(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "workflow/scripts/figure.py"),
            "table01",
            "--metadata",
            str(METADATA),
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(tmp_path / "table01_yfcc_rare_classes.csv")
    assert list(table.columns) == wf.TABLE01_COLUMNS and len(table) == 29
