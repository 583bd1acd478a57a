"""Kill and resume through Snakemake: the training job of a smoke CLIP run is killed (SIGKILL)
twice at random points of its training, plain ``snakemake`` reruns continue from the resume
state, and the final weights and evaluation records equal those of an uninterrupted run
(benchmarks/kill_resume.py with two kills)."""

from __future__ import annotations

import pytest

from benchmarks.kill_resume import run

pytestmark = pytest.mark.slow


def test_two_kills_end_identical_to_an_uninterrupted_run(tmp_path):
    lines: list[str] = []
    result = run(kills=2, seed=1, workdir=tmp_path, out=lines.append)
    report = "\n".join(lines)
    assert len(result.kills) == 2 and all(k.landed for k in result.kills), report
    assert result.kills[0].resumed_from == 0, report
    assert result.final_resumed_from is not None and result.final_resumed_from >= 1, report
    assert result.checks and all(result.checks.values()), report
    assert result.weights in ("byte-identical", "tensor-identical"), report
    assert result.identical and report.endswith("verdict: identical after 2 kills"), report
