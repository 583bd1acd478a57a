"""Planning time of the workflow: wall time of ``snakemake -n`` for the paper preset and the
default (mini) configuration, and the number of jobs each plans.

In a temporary copy of the project (the repository's files without the ignored ones: no
``.venv``, ``.snakemake``, results or resources, so nothing is up to date and every job is
planned), runs ``snakemake -n --cores 1 [--configfile <preset>]`` ``--repeat`` times per
configuration and prints each wall time, the median and the planned jobs (the total of
Snakemake's "Job stats" table). The copy's ``src`` is on ``PYTHONPATH`` and the virtual
environment first on ``PATH`` (tests/workflow/workspace.py ``env_for``).

Snakemake's SLURM executor plugin runs ``scontrol show config`` at every start, also for local
runs and dry runs; where the SLURM clients are installed but no controller answers, that call
waits before it fails. ``--scontrol fake`` (the default, as the workflow tests run) puts
``tests.cluster.fake_slurm.no_controller_bin()`` first on ``PATH``, whose ``scontrol`` fails at
once; ``--scontrol system`` leaves ``PATH`` as it is (the machine's own ``scontrol``, if any);
``both`` measures both. The output says which ``scontrol`` each row ran with.

    PYTHONPATH=src .venv/bin/python benchmarks/plan_time.py [--repeat 3] [--scontrol fake]
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: the repository's tests package is needed
    sys.path.insert(0, str(ROOT))

from tests.workflow.workspace import SNAKEMAKE, env_for  # noqa: E402

#: (name, extra Snakemake arguments)
CONFIGS = [
    ("paper preset", ["--configfile", "config/presets/paper.yaml"]),
    ("default (mini)", []),
]
#: top-level entries of the repository that are not part of the project (ignored or VCS data)
SKIP_TOP = {
    ".git",
    ".venv",
    ".snakemake",
    ".pytest_cache",
    ".hypothesis",
    ".benchmarks",
    ".ruff_cache",
    "dvc-remote",
    "build",
}
#: folders whose contents are ignored apart from these files
KEEP_ONLY = {"results": {".gitkeep", "README.md"}, "resources": {".gitkeep", "README.md"}}
#: the last row of Snakemake's "Job stats" table (rule names may hold digits: imagenetv2)
TOTAL = re.compile(r"^Job stats:.*?^total\s+(\d+)\s*$", re.MULTILINE | re.DOTALL)


def _ignore(folder: str, names: list[str]) -> set[str]:
    here = Path(folder).resolve()
    skipped = {n for n in names if n == "__pycache__" or n.endswith(".egg-info")}
    if here == ROOT:
        skipped |= SKIP_TOP & set(names)
    elif here.parent == ROOT and here.name in KEEP_ONLY:
        skipped |= set(names) - KEEP_ONLY[here.name]
    return skipped


def copy_project(dest: Path) -> Path:
    """The repository's project files (what a fresh clone holds) copied to ``dest``."""
    shutil.copytree(ROOT, dest, ignore=_ignore, symlinks=True)
    return dest


def dry_run(work: Path, extra: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds of one ``snakemake -n --cores 1`` and the number of jobs it plans."""
    cmd = [SNAKEMAKE, "-n", "--cores", "1", *extra]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n"
            f"{proc.stderr[-6000:]}"
        )
    text = proc.stdout + proc.stderr
    if "Nothing to be done" in text:
        return seconds, 0
    match = TOTAL.search(text)
    if match is None:
        raise RuntimeError(f"no job stats in Snakemake's output:\n{text[-3000:]}")
    return seconds, int(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scontrol", choices=["fake", "system", "both"], default="fake")
    parser.add_argument("--goal", type=float, default=15.0, help="seconds, paper preset")
    args = parser.parse_args()
    modes = ["fake", "system"] if args.scontrol == "both" else [args.scontrol]
    with tempfile.TemporaryDirectory(prefix="cliptail-plan-") as tmp:
        work = copy_project(Path(tmp) / "project")
        print(f"project copy: {work}\n")
        print("| configuration | scontrol | runs (s) | median (s) | planned jobs |")
        print("|---|---|---|---:|---:|")
        verdicts, notes = [], []
        for mode in modes:
            env = env_for(work, slurm=mode == "system")
            found = shutil.which("scontrol", path=env["PATH"])
            if mode == "fake":
                where = "fake (fails at once)"
            elif found:
                where = f"system ({found})"
                start = time.perf_counter()
                rc = subprocess.run(
                    [found, "show", "config"], env=env, capture_output=True
                ).returncode
                notes.append(
                    f"`{found} show config` alone: {time.perf_counter() - start:.1f} s "
                    f"(exit code {rc})"
                )
            else:
                where = "none on PATH"
            for name, extra in CONFIGS:
                runs = [dry_run(work, extra, env) for _ in range(args.repeat)]
                seconds = [s for s, _ in runs]
                jobs = {j for _, j in runs}
                median = statistics.median(seconds)
                print(
                    f"| {name} | {where} | {', '.join(f'{s:.1f}' for s in seconds)} | "
                    f"{median:.1f} | {'/'.join(map(str, sorted(jobs)))} |",
                    flush=True,
                )
                if name.startswith("paper"):
                    verdicts.append(
                        f"paper preset, {mode} scontrol: median {median:.1f} s "
                        f"({'meets' if median <= args.goal else 'misses'} the goal of "
                        f"<= {args.goal:g} s)"
                    )
        print()
        for line in verdicts + notes:
            print(line)


if __name__ == "__main__":
    main()
