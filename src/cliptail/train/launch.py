"""Multi-process training: the torchrun entry point and the command that starts it.

One process per GPU (or, on CPU, per worker with gloo)::

    torchrun --standalone --nproc-per-node 4 -m cliptail.train.launch --spec run.json \\
        --manifest D/manifest.parquet --classes D/classes.tsv --images-root resources/world \\
        --out results/runs/R --resume-dir results/resume/R

:func:`torchrun_command` builds that command line (single node, or several nodes with a c10d
rendezvous); :func:`train_distributed` writes the spec to a file, runs the command and returns
the run's summary, so a workflow job with ``gpu > 1`` calls it instead of
:func:`cliptail.train.train_run`. On SLURM, ``srun`` can also start one task per GPU running
``python -m cliptail.train.launch`` directly (ranks then come from the SLURM variables). Every
process checks at start-up that it sees a GPU of its own (see
:func:`cliptail.train.distributed.select_device`).

A workflow job decides with :func:`training_processes` (one process per GPU of its ``gpu``
resource; torchrun only when that is more than one) after :func:`check_visible_gpus` has
confirmed that the job sees exactly the GPUs it asked for.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from cliptail import io

PATH_ARGS = (
    "manifest",
    "classes",
    "images_root",
    "out_dir",
    "text_embeddings",
    "class_embeddings",
    "resume_dir",
)


def check_visible_gpus(requested: int, visible: int | None = None) -> None:
    """Fail clearly unless a job that asked for ``requested`` GPUs sees exactly that many.

    ``visible`` defaults to ``torch.cuda.device_count()`` (which honours CUDA_VISIBLE_DEVICES,
    set by SLURM for ``--gpus``). A job with ``requested == 0`` trains on CPU and is not checked.
    """
    if requested < 0:
        raise ValueError(f"gpu resource must be >= 0, got {requested}")
    if requested == 0:
        return
    if visible is None:
        import torch

        visible = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if visible != requested:
        mask = os.environ.get("CUDA_VISIBLE_DEVICES", "unset")
        hint = (
            "no CUDA device is visible: run on a GPU node, or set the rule's gpu resource to 0 "
            "to train on CPU"
            if visible == 0
            else "restrict the job to its GPUs with CUDA_VISIBLE_DEVICES (SLURM does so for --gpus), "
            "or set the rule's gpu resource to the number of GPUs it should use"
        )
        raise RuntimeError(
            f"the job asked for {requested} GPU(s) (gpu resource) but sees {visible} "
            f"(CUDA_VISIBLE_DEVICES={mask}); {hint}"
        )


def training_processes(gpus: int) -> int:
    """How many training processes a job with ``gpus`` GPUs starts: one per GPU, one on CPU.

    More than one means DDP under torchrun (:func:`train_distributed`); one means an ordinary
    in-process :func:`cliptail.train.train_run`.
    """
    if gpus < 0:
        raise ValueError(f"gpu resource must be >= 0, got {gpus}")
    return max(1, gpus)


def launch_args(
    *,
    spec_file: str | os.PathLike,
    manifest: str | os.PathLike,
    classes: str | os.PathLike,
    images_root: str | os.PathLike,
    out_dir: str | os.PathLike,
    text_embeddings: str | os.PathLike | None = None,
    class_embeddings: str | os.PathLike | None = None,
    resume_dir: str | os.PathLike | None = None,
    progress: bool = True,
    class_subset=None,
) -> list[str]:
    """The arguments of ``python -m cliptail.train.launch``."""
    args = ["--spec", str(spec_file)]
    values = {
        "manifest": manifest,
        "classes": classes,
        "images_root": images_root,
        "out_dir": out_dir,
        "text_embeddings": text_embeddings,
        "class_embeddings": class_embeddings,
        "resume_dir": resume_dir,
    }
    for name, value in values.items():
        if value is not None:
            args += [f"--{name.replace('_', '-')}", str(value)]
    if class_subset is not None:
        args += ["--class-subset", ",".join(str(int(c)) for c in class_subset)]
    return args + ([] if progress else ["--no-progress"])


def torchrun_command(
    nproc_per_node: int,
    *,
    nnodes: int = 1,
    rdzv_endpoint: str | None = None,
    run_id: str = "cliptail",
    python: str = sys.executable,
    **launch_kwargs: Any,
) -> list[str]:
    """The torchrun command line for ``nproc_per_node`` processes on each of ``nnodes`` nodes.

    ``launch_kwargs`` are those of :func:`launch_args` (``spec_file``, ``manifest``, ...). One
    node uses ``--standalone``; several need ``rdzv_endpoint`` (``host:port`` of one of them) and
    the same command on every node.
    """
    if nproc_per_node < 1 or nnodes < 1:
        raise ValueError(f"nproc_per_node and nnodes must be >= 1, got {nproc_per_node}, {nnodes}")
    cmd = [python, "-m", "torch.distributed.run"]
    if nnodes == 1:
        cmd += ["--standalone", "--nnodes", "1"]
    else:
        if not rdzv_endpoint:
            raise ValueError("a multi-node run needs rdzv_endpoint='host:port' (one of its nodes)")
        cmd += [
            "--nnodes",
            str(nnodes),
            "--rdzv-backend",
            "c10d",
            "--rdzv-endpoint",
            rdzv_endpoint,
            "--rdzv-id",
            run_id,
        ]
    cmd += ["--nproc-per-node", str(nproc_per_node), "-m", "cliptail.train.launch"]
    return cmd + launch_args(**launch_kwargs)


def train_distributed(
    spec: dict[str, Any],
    nproc_per_node: int,
    *,
    manifest,
    classes,
    images_root,
    out_dir,
    text_embeddings=None,
    class_embeddings=None,
    resume_dir=None,
    progress: bool = True,
    class_subset=None,
    nnodes: int = 1,
    rdzv_endpoint: str | None = None,
    output=None,
) -> dict[str, Any]:
    """:func:`cliptail.train.train_run` on ``nproc_per_node`` processes (DDP) via torchrun.

    Returns the summary that process 0 wrote to ``out_dir/run.json``. The processes' output
    goes to ``output`` (an open file, e.g. the job's log) or else to this process's stdout and
    stderr. Raises ``RuntimeError`` when a process fails.
    """
    with tempfile.TemporaryDirectory(prefix="cliptail-spec-") as tmp:
        spec_file = Path(tmp) / "spec.json"
        io.write_json(spec_file, spec)
        cmd = torchrun_command(
            nproc_per_node,
            nnodes=nnodes,
            rdzv_endpoint=rdzv_endpoint,
            run_id=str(spec.get("run", "cliptail")),
            spec_file=spec_file,
            manifest=manifest,
            classes=classes,
            images_root=images_root,
            out_dir=out_dir,
            text_embeddings=text_embeddings,
            class_embeddings=class_embeddings,
            resume_dir=resume_dir,
            progress=progress,
            class_subset=class_subset,
        )
        if output is not None:
            output.flush()  # what the caller wrote so far comes before the processes' output
        result = subprocess.run(
            cmd, check=False, stdout=output, stderr=None if output is None else subprocess.STDOUT
        )
    if result.returncode != 0:
        raise RuntimeError(
            f"distributed training failed (exit code {result.returncode}): {' '.join(cmd)}"
        )
    return io.read_json(Path(out_dir) / "run.json")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cliptail.train.launch",
        description="Train one run (started once per process).",
    )
    parser.add_argument("--spec", required=True, help="JSON file with the training spec")
    for name in PATH_ARGS:
        parser.add_argument(
            f"--{name.replace('_', '-')}",
            required=name in ("manifest", "classes", "images_root", "out_dir"),
        )
    parser.add_argument(
        "--class-subset", help="comma-separated class indices to train over (SL, 100-way)"
    )
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    from cliptail.train import train_run

    spec = json.loads(Path(args.spec).read_text(encoding="utf-8"))
    rank = int(os.environ.get("RANK", os.environ.get("SLURM_PROCID", "0")))
    summary = train_run(
        spec,
        progress=not args.no_progress and rank == 0,
        class_subset=(
            [int(c) for c in args.class_subset.split(",")] if args.class_subset else None
        ),
        **{name: getattr(args, name) for name in PATH_ARGS},
    )
    if rank == 0:
        logging.getLogger("cliptail.train").info("finished: %s", json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
