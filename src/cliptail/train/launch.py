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

PATH_ARGS = ("manifest", "classes", "images_root", "out_dir", "text_embeddings",
             "class_embeddings", "resume_dir")


def launch_args(*, spec_file: str | os.PathLike, manifest: str | os.PathLike,
                classes: str | os.PathLike, images_root: str | os.PathLike,
                out_dir: str | os.PathLike, text_embeddings: str | os.PathLike | None = None,
                class_embeddings: str | os.PathLike | None = None,
                resume_dir: str | os.PathLike | None = None, progress: bool = True) -> list[str]:
    """The arguments of ``python -m cliptail.train.launch``."""
    args = ["--spec", str(spec_file)]
    values = {"manifest": manifest, "classes": classes, "images_root": images_root,
              "out_dir": out_dir, "text_embeddings": text_embeddings,
              "class_embeddings": class_embeddings, "resume_dir": resume_dir}
    for name, value in values.items():
        if value is not None:
            args += [f"--{name.replace('_', '-')}", str(value)]
    return args + ([] if progress else ["--no-progress"])


def torchrun_command(nproc_per_node: int, *, nnodes: int = 1, rdzv_endpoint: str | None = None,
                     run_id: str = "cliptail", python: str = sys.executable,
                     **launch_kwargs: Any) -> list[str]:
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
        cmd += ["--nnodes", str(nnodes), "--rdzv-backend", "c10d", "--rdzv-endpoint",
                rdzv_endpoint, "--rdzv-id", run_id]
    cmd += ["--nproc-per-node", str(nproc_per_node), "-m", "cliptail.train.launch"]
    return cmd + launch_args(**launch_kwargs)


def train_distributed(spec: dict[str, Any], nproc_per_node: int, *, manifest, classes,
                      images_root, out_dir, text_embeddings=None, class_embeddings=None,
                      resume_dir=None, progress: bool = True, nnodes: int = 1,
                      rdzv_endpoint: str | None = None) -> dict[str, Any]:
    """:func:`cliptail.train.train_run` on ``nproc_per_node`` processes (DDP) via torchrun.

    Returns the summary that process 0 wrote to ``out_dir/run.json``. Raises
    ``RuntimeError`` when a process fails (its output is on stderr).
    """
    with tempfile.TemporaryDirectory(prefix="cliptail-spec-") as tmp:
        spec_file = Path(tmp) / "spec.json"
        io.write_json(spec_file, spec)
        cmd = torchrun_command(nproc_per_node, nnodes=nnodes, rdzv_endpoint=rdzv_endpoint,
                               run_id=str(spec.get("run", "cliptail")), spec_file=spec_file,
                               manifest=manifest, classes=classes, images_root=images_root,
                               out_dir=out_dir, text_embeddings=text_embeddings,
                               class_embeddings=class_embeddings, resume_dir=resume_dir,
                               progress=progress)
        result = subprocess.run(cmd, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"distributed training failed (exit code {result.returncode}): "
                           f"{' '.join(cmd)}")
    return io.read_json(Path(out_dir) / "run.json")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cliptail.train.launch",
                                     description="Train one run (started once per process).")
    parser.add_argument("--spec", required=True, help="JSON file with the training spec")
    for name in PATH_ARGS:
        parser.add_argument(f"--{name.replace('_', '-')}",
                            required=name in ("manifest", "classes", "images_root", "out_dir"))
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    from cliptail.train import train_run

    spec = json.loads(Path(args.spec).read_text(encoding="utf-8"))
    rank = int(os.environ.get("RANK", os.environ.get("SLURM_PROCID", "0")))
    summary = train_run(spec, progress=not args.no_progress and rank == 0,
                        **{name: getattr(args, name) for name in PATH_ARGS})
    if rank == 0:
        logging.getLogger("cliptail.train").info("finished: %s", json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
