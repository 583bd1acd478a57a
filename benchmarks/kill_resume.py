"""Kill and resume: a training job killed (SIGKILL) again and again ends as if never interrupted.

In a temporary copy of the project, with the smoke preset and an overlay that gives the smoke
CLIP run (trainable text tower) ``--epochs`` epochs (resume is per epoch, so the one epoch of the
smoke preset would leave nothing to resume), the script

1. runs ``snakemake --cores 2 results/eval/<run>/val.parquet`` once without interruption (the
   reference: the training job and its evaluation, after the jobs they need);
2. in a copy of that workspace without the run's outputs, resume state and logs, starts the same
   plain ``snakemake`` command ``--kills`` times; each time it waits until the training job has
   started training (the job log's ``training from epoch 0`` / ``resuming from epoch N`` line)
   and finished its first epoch (the ``epoch N+1/E`` line, logged just before the resume state
   is written), waits a random delay (seeded; uniform between 0 and 1 times the reference's
   epoch time, so that kills land anywhere in the next epoch or in the resume-state write),
   sends SIGKILL to the ``workflow/scripts/train.py`` process and lets Snakemake exit (it
   reports the job as failed and removes its outputs); the next plain ``snakemake`` continues
   from the resume state;
3. runs ``snakemake`` once more to completion and compares with the reference: the final weights
   (``checkpoint.pt`` bytes, and every tensor of its state dict), the evaluation records
   (``val.parquet`` and ``val.json`` bytes), ``train.jsonl`` without its timings
   (``time_s``, ``images_per_s``) and resume events, and ``run.json`` without its timings and
   ``resumed_from`` (which must list the epochs the run resumed from).

It prints one row per kill (the delay after the attempt's first epoch, the epoch that attempt
resumed from, the epoch of the resume state it left, the attempt's seconds from ``snakemake``
start to exit) and the verdict. An attempt advances the run by one or two epochs (none when the
kill lands in the first state write), so the default ``--epochs`` is 2 x ``--kills`` + 2: the
run is still training at the last kill.

    PYTHONPATH=src .venv/bin/python benchmarks/kill_resume.py [--kills 10] [--seed 0]
        [--epochs N] [--workdir DIR] [--keep]

``run(kills, seed, workdir)`` does the same from Python (tests/reliability/test_kill_resume.py).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: the repository's tests package is needed
    sys.path.insert(0, str(ROOT))

from tests.workflow.workspace import SNAKEMAKE, copy_project, env_for  # noqa: E402

SMOKE_CONFIG = "config/presets/smoke.yaml"
OUTPUT_FILES = ("checkpoint.pt", "train.jsonl", "run.json")
OVERLAY = "kill_resume.yaml"
#: what a retrained run may change in train.jsonl / run.json: timings and the resume record
TIMING_KEYS = ("time_s", "images_per_s", "wall_time_s")
STARTED = re.compile(r": (?:training from epoch (0) of \d+|resuming from epoch (\d+) of \d+)")


def smoke_clip_run(work: Path) -> str:
    """The smoke preset's first CLIP run with a trainable text tower (no caption embeddings)."""
    from cliptail import config as cfg
    from cliptail.study import build_plan

    config = cfg.deep_merge(
        cfg.load_yaml(work / "config/config.yaml"), cfg.load_yaml(work / SMOKE_CONFIG)
    )
    config = cfg.validate(config, work / "config/schema/config.schema.yaml")
    runs = build_plan(config).runs.values()
    return next(r.name for r in runs if r.method == "clip" and not r.frozen_text)


def train_processes(snakemake_pid: int) -> list[int]:
    """The pids of the processes below ``snakemake_pid`` that run workflow/scripts/train.py (as
    Snakemake's copy ``.snakemake/scripts/tmp*.train.py``)."""
    from cliptail.train.watchdog import descendants, read_process

    found = []
    for pid in descendants(snakemake_pid):
        info = read_process(pid)
        if info is not None and info.running and any(a.endswith("train.py") for a in info.args):
            found.append(pid)
    return found


@dataclass
class Kill:
    delay_s: float  # after the attempt's first finished epoch
    resumed_from: int  # the epoch the killed attempt started at
    state_epoch: int | None  # the epoch of the resume state it left (None: none)
    attempt_s: float  # snakemake start to exit
    landed: bool = True  # False: the job had finished before the kill


@dataclass
class Result:
    run: str
    epochs: int
    kills: list[Kill] = field(default_factory=list)
    reference_s: float = 0.0
    final_s: float = 0.0
    final_resumed_from: int | None = None
    checks: dict[str, bool] = field(default_factory=dict)
    weights: str = ""  # "byte-identical", "tensor-identical" or "different"

    @property
    def identical(self) -> bool:
        return all(self.checks.values()) and self.weights != "different"


def _snakemake(work: Path, target: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [SNAKEMAKE, "--cores", "2", target, "--configfile", SMOKE_CONFIG, OVERLAY],
        cwd=work,
        env=env_for(work),
        stdout=kwargs.pop("stdout", subprocess.PIPE),
        stderr=subprocess.STDOUT,
        text=True,
        **kwargs,
    )


def _run_to_end(work: Path, target: str, timeout: float = 1200) -> tuple[float, str]:
    start = time.monotonic()
    proc = _snakemake(work, target)
    out, _ = proc.communicate(timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"snakemake {target} failed ({proc.returncode}):\n{out[-4000:]}")
    return time.monotonic() - start, out


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _state_epoch(work: Path, run: str) -> int | None:
    import torch

    for name in ("state.pt", "state.prev.pt"):
        for path in (work / "results/resume" / run).glob(f"*/{name}"):
            try:
                return int(torch.load(path, map_location="cpu", weights_only=False)["epoch"])
            except Exception:  # a damaged state: the next attempt reports it
                continue
    return None


def _jsonl_without_timings(path: Path) -> list[dict[str, Any]]:
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    return [
        {k: v for k, v in line.items() if k not in TIMING_KEYS}
        for line in lines
        if line["event"] != "resume"
    ]


def _run_json_without_timings(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    return {k: v for k, v in data.items() if k not in (*TIMING_KEYS, "resumed_from")}


def _snapshot(work: Path, run: str) -> dict[str, Any]:
    import torch

    runs, evals = work / "results/runs" / run, work / "results/eval" / run
    return {
        "checkpoint_sha256": _sha256(runs / "checkpoint.pt"),
        "state_dict": torch.load(runs / "checkpoint.pt", weights_only=False)["state_dict"],
        "train_jsonl": _jsonl_without_timings(runs / "train.jsonl"),
        "run_json": _run_json_without_timings(runs / "run.json"),
        "resumed_from": json.loads((runs / "run.json").read_text())["resumed_from"],
        "val_parquet": _sha256(evals / "val.parquet"),
        "val_json": _sha256(evals / "val.json"),
        "epoch_s": [
            line["time_s"]
            for line in map(json.loads, (runs / "train.jsonl").read_text().splitlines())
            if line["event"] == "epoch"
        ],
    }


def _fresh_copy(reference: Path, dest: Path, run: str) -> Path:
    """The reference workspace without the run's outputs, resume state, logs and benchmarks."""
    shutil.copytree(reference, dest, symlinks=True)
    for rel in (
        f"results/runs/{run}",
        f"results/eval/{run}",
        f"results/resume/{run}",
        f"results/logs/train/{run}.log",
        f"results/logs/evaluate/{run}.log",
        f"results/benchmarks/train/{run}.tsv",
        f"results/benchmarks/evaluate/{run}.tsv",
    ):
        path = dest / rel
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    return dest


def _kill_once(
    work: Path, run: str, target: str, delay_fraction: float, epoch_s: float, timeout: float
) -> Kill:
    log = work / f"results/logs/train/{run}.log"
    log.unlink(missing_ok=True)  # the previous attempt's log (kept by the caller)
    start = time.monotonic()
    with open(work / "snakemake.out", "w") as out:
        proc = _snakemake(work, target, stdout=out)
    try:
        deadline = start + timeout
        trainer, started = None, None
        while started is None:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"snakemake exited ({proc.returncode}) before training started:\n"
                    + (work / "snakemake.out").read_text()[-4000:]
                )
            if time.monotonic() > deadline:
                raise RuntimeError("the training job did not start training in time")
            if trainer is None:
                found = train_processes(proc.pid)
                trainer = found[0] if found else None
            if trainer is not None and log.exists():
                match = STARTED.search(log.read_text(errors="replace"))
                if match:
                    started = int(match.group(1) or match.group(2))
            time.sleep(0.05)
        first_epoch = re.compile(rf": epoch {started + 1}/\d+ loss")
        while not first_epoch.search(log.read_text(errors="replace")):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the training job did not finish epoch {started + 1}:\n"
                    + log.read_text(errors="replace")[-3000:]
                )
            time.sleep(0.02)
        delay = delay_fraction * epoch_s
        time.sleep(delay)
        landed = trainer in train_processes(proc.pid)
        if landed:
            os.kill(trainer, signal.SIGKILL)
        proc.wait(timeout=max(60.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return Kill(
        delay_s=delay,
        resumed_from=started,
        state_epoch=_state_epoch(work, run),
        attempt_s=time.monotonic() - start,
        landed=landed and proc.returncode != 0,
    )


def run(
    kills: int = 10,
    seed: int = 0,
    workdir: str | os.PathLike | None = None,
    *,
    epochs: int | None = None,
    out=print,
    attempt_timeout: float = 300,
) -> Result:
    """Run the benchmark in ``workdir`` (a new temporary folder if ``None``); see the module."""
    workdir = Path(workdir or tempfile.mkdtemp(prefix="cliptail-kill-resume-"))
    epochs = epochs if epochs is not None else 2 * kills + 2
    reference = copy_project(workdir / "reference")
    (reference / OVERLAY).write_text(f"train:\n  clip:\n    optim:\n      epochs: {epochs}\n")
    run_name = smoke_clip_run(reference)
    target = f"results/eval/{run_name}/val.parquet"
    result = Result(run=run_name, epochs=epochs)
    out(f"run {run_name}, {epochs} epochs, {kills} kills, seed {seed}, in {workdir}")

    result.reference_s, _ = _run_to_end(reference, target)
    expected = _snapshot(reference, run_name)
    epoch_s = sum(expected["epoch_s"]) / len(expected["epoch_s"])
    out(
        f"reference (uninterrupted, with the jobs it needs): {result.reference_s:.1f} s, "
        f"{epoch_s:.2f} s per epoch"
    )

    work = _fresh_copy(reference, workdir / "killed", run_name)
    attempts = workdir / "attempt_logs"
    attempts.mkdir(exist_ok=True)
    rng = random.Random(seed)
    out(f"{'kill':>4} {'delay_s':>8} {'resumed_from':>12} {'state_epoch':>11} {'seconds':>8}")
    for k in range(1, kills + 1):
        kill = _kill_once(work, run_name, target, rng.uniform(0.0, 1.0), epoch_s, attempt_timeout)
        log = work / f"results/logs/train/{run_name}.log"
        if log.exists():
            shutil.copy2(log, attempts / f"kill{k:02d}.log")
        result.kills.append(kill)
        note = "" if kill.landed else "  (finished before the kill)"
        out(
            f"{k:>4} {kill.delay_s:8.2f} {kill.resumed_from:>12} "
            f"{'-' if kill.state_epoch is None else kill.state_epoch:>11} "
            f"{kill.attempt_s:8.1f}{note}"
        )
        if not kill.landed:
            break

    (work / f"results/logs/train/{run_name}.log").unlink(missing_ok=True)
    result.final_s, _ = _run_to_end(work, target)
    started = STARTED.search((work / f"results/logs/train/{run_name}.log").read_text())
    result.final_resumed_from = int(started.group(1) or started.group(2)) if started else None
    got = _snapshot(work, run_name)
    out(f"final run: resumed from epoch {result.final_resumed_from}, {result.final_s:.1f} s")

    same_tensors = got["state_dict"].keys() == expected["state_dict"].keys() and all(
        _tensors_equal(got["state_dict"][k], v) for k, v in expected["state_dict"].items()
    )
    if got["checkpoint_sha256"] == expected["checkpoint_sha256"]:
        result.weights = "byte-identical"
    else:
        result.weights = "tensor-identical" if same_tensors else "different"
    # the epochs of the resume states the final weights descend from: an attempt killed before
    # it saved a state leaves no trace, and the next one resumes from the same epoch
    resumed = sorted(({k.resumed_from for k in result.kills} | {result.final_resumed_from}) - {0})
    leftovers = [
        str(p.relative_to(work))
        for folder in (work / "results/runs" / run_name, work / "results/resume" / run_name)
        for p in folder.rglob("*")
        if p.is_file()
    ]
    result.checks = {
        "weights (every tensor)": same_tensors,
        "val.parquet bytes": got["val_parquet"] == expected["val_parquet"],
        "val.json bytes": got["val_json"] == expected["val_json"],
        "train.jsonl (without timings and resume events)": (
            got["train_jsonl"] == expected["train_jsonl"]
        ),
        "run.json (without timings and resumed_from)": got["run_json"] == expected["run_json"],
        "run.json resumed_from = the epochs resumed from": got["resumed_from"] == resumed,
        "nothing left but the outputs (no temporaries, no resume state)": sorted(leftovers)
        == sorted(f"results/runs/{run_name}/{name}" for name in OUTPUT_FILES),
        "every kill landed while training": all(k.landed for k in result.kills)
        and len(result.kills) == kills,
    }
    for name, ok in result.checks.items():
        out(f"  {'ok  ' if ok else 'FAIL'} {name}")
    out(f"final weights: {result.weights} to the uninterrupted run's")
    out(
        "verdict: "
        + (
            f"identical after {len(result.kills)} kills"
            if result.identical
            else "DIFFERENT from the uninterrupted run"
        )
    )
    return result


def _tensors_equal(a, b) -> bool:
    import torch

    return isinstance(a, torch.Tensor) and torch.equal(a, b)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=10, help="how many times to kill (10)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the kill delays (0)")
    parser.add_argument("--epochs", type=int, help="epochs of the CLIP run (2 x kills + 2)")
    parser.add_argument("--workdir", help="where to work (default: a new temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="kill-resume-"))
    try:
        result = run(args.kills, args.seed, workdir, epochs=args.epochs)
    finally:
        if not args.workdir and not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0 if result.identical else 1


if __name__ == "__main__":
    raise SystemExit(main())
