"""DDP on CPU (gloo, 2 processes under torchrun): one step with world size 2 equals one step of a
single process on the same global batch (CLIP, SL with a subsampled vocabulary, and DINO with
subsampled prototypes and its Sinkhorn-Knopp teacher; SyncBN), and
a killed multi-process run resumes and ends bit-identical to an uninterrupted one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from cliptail import io
from cliptail.models.build import build_model, resolve_model_config
from cliptail.train import TrainSpec, train_run
from cliptail.train.launch import torchrun_command, train_distributed
from tests.fixtures.toy_data import write_toy_split

pytestmark = pytest.mark.slow

SRC = Path(__file__).resolve().parents[2] / "src"
ENV = {
    **os.environ,
    "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    "OMP_NUM_THREADS": "1",
}
MODEL = {"vision_width": 8, "text_width": 32, "text_heads": 1, "text_layers": 1, "embed_dim": 32}
ONE_STEP = {
    # AdamW with a large eps makes the update a smooth function of the gradient (-lr g / (|g| + 1)
    # after one step), so differences in the gradient show in the weights
    "clip": {
        "run": "clip",
        "method": "clip",
        "threads": 1,
        "device": "cpu",
        "sync_bn": True,
        "model": MODEL,
        "optim": {
            "epochs": 1,
            "batch_size": 64,
            "lr": 0.5,
            "eps": 1.0,
            "weight_decay": 0.0,
            "warmup_steps": 1,
        },
    },
    "sl": {
        "run": "sl",
        "method": "sl",
        "threads": 1,
        "device": "cpu",
        "sync_bn": True,
        "model": MODEL,
        "vocab": {"size": 5, "shard": 16},
        "optim": {"epochs": 1, "batch_size": 64, "lr": 0.5},
    },
    # the teacher's EMA step is small (momentum 0.9 here) but compared like every other update;
    # a head of DINO's width keeps the bottleneck's normalisation from dwarfing other updates
    "dino": {
        "run": "dino",
        "method": "dino",
        "threads": 1,
        "device": "cpu",
        "sync_bn": True,
        "model": MODEL,
        "dino": {
            "prototypes": 48,
            "subsample": 24,
            "head_hidden": 512,
            "bottleneck": 16,
            "local_crops": 2,
            "local_size": 16,
            "momentum": 0.9,
        },
        "optim": {"epochs": 1, "batch_size": 64, "lr": 0.5},
    },
}
RESUME = {
    "run": "ddp-resume",
    "method": "sl",
    "threads": 1,
    "device": "cpu",
    "sync_bn": True,
    "model": MODEL,
    "vocab": {"size": 5, "shard": 8},
    "optim": {"epochs": 4, "batch_size": 16},
}
# several runs in one launch: the process group is the caller's, train_run uses it as it is
WORKER = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    import torch.distributed as dist
    from cliptail.train import train_run
    root, specs = Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text())
    dist.init_process_group("gloo")
    for name, spec in specs.items():
        train_run(spec, manifest=root / "train.parquet", classes=root / "classes.tsv",
                  images_root=root, out_dir=root / "ddp" / name, progress=False)
    dist.destroy_process_group()
""")


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp")
    write_toy_split(root, "train", 64, 12)  # exactly one global batch of ONE_STEP
    return root


@pytest.fixture(scope="module")
def ddp_runs(toy):
    """The runs of ONE_STEP and RESUME trained by 2 processes (one torchrun launch)."""
    (toy / "worker.py").write_text(WORKER)
    io.write_json(toy / "specs.json", {**ONE_STEP, "resume": RESUME})
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nnodes",
        "1",
        "--nproc-per-node",
        "2",
        str(toy / "worker.py"),
        str(toy),
        str(toy / "specs.json"),
    ]
    result = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return toy / "ddp"


def paths(root, out):
    return dict(
        manifest=root / "train.parquet", classes=root / "classes.tsv", images_root=root, out_dir=out
    )


def descendants(pid: int) -> list[int]:
    """Ids of all processes below ``pid`` (torchrun starts its workers in sessions of their own,
    so killing torchrun's process group would leave them running)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        children = [p for p, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def initial_weights(spec: dict) -> dict[str, torch.Tensor]:
    s = TrainSpec.from_dict(spec).resolved()
    torch.manual_seed(s.seed)
    model = build_model(
        s.method,
        resolve_model_config(s),
        num_classes=12,
        text_tower=s.text_tower,
        dino=s.to_dict().get("dino"),
    )
    return model.state_dict()


def test_one_ddp_step_equals_one_step_on_the_global_batch(toy, ddp_runs, tmp_path):
    for name, spec in ONE_STEP.items():
        train_run(spec, progress=False, **paths(toy, tmp_path / "single" / name))
        single = torch.load(tmp_path / "single" / name / "checkpoint.pt", weights_only=False)
        ddp = torch.load(ddp_runs / name / "checkpoint.pt", weights_only=False)
        assert io.read_json(ddp_runs / name / "run.json")["world_size"] == 2
        start = initial_weights(spec)
        overall = max(
            (single["state_dict"][k] - w0).abs().max().item()
            for k, w0 in start.items()
            if torch.is_floating_point(w0)
        )
        moved = 0
        for key, w0 in start.items():
            a, b = single["state_dict"][key], ddp["state_dict"][key]
            if not torch.is_floating_point(w0):
                assert torch.equal(a, b), key
                continue
            da, db = a - w0, b - w0  # the update (or the change of a running statistic)
            scale = da.abs().max().item()
            moved += scale > 1e-3 * overall
            # tolerance: 0.1% of the tensor's largest update, 0.001% of the model's (for tensors
            # whose exact gradient is 0, e.g. attention key biases) and float32 rounding
            tol = 1e-3 * scale + 1e-5 * overall + 4 * torch.finfo(torch.float32).eps * w0.abs()
            assert torch.all((da - db).abs() <= tol), (name, key, (da - db).abs().max().item())
        assert moved > 20


def test_killed_ddp_run_resumes_bit_identical(toy, ddp_runs, tmp_path):
    spec = RESUME

    out, resume = tmp_path / "run", tmp_path / "resume"
    io.write_json(tmp_path / "spec.json", spec)
    cmd = torchrun_command(
        2, spec_file=tmp_path / "spec.json", resume_dir=resume, progress=False, **paths(toy, out)
    )
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 240
    while True:
        states = list(resume.glob("*/state.pt"))
        if states and torch.load(states[0], weights_only=False)["epoch"] >= 1:
            for pid in [*descendants(proc.pid), proc.pid]:  # the whole job dies at once
                os.kill(pid, signal.SIGKILL)
            proc.wait()
            break
        assert proc.poll() is None, proc.stdout.read().decode()
        assert time.time() < deadline, "no resume state appeared"
        time.sleep(0.02)
    saved = torch.load(next(resume.glob("*/state.pt")), weights_only=False)["epoch"]
    assert saved < spec["optim"]["epochs"] and not (out / "checkpoint.pt").exists()

    summary = train_distributed(spec, 2, progress=False, resume_dir=resume, **paths(toy, out))
    assert summary["resumed_from"] == [saved] and summary["world_size"] == 2
    lines = [json.loads(x) for x in (out / "train.jsonl").read_text().splitlines()]
    assert any(x["event"] == "resume" and x["epoch"] == saved for x in lines)
    a = torch.load(out / "checkpoint.pt", weights_only=False)["state_dict"]
    b = torch.load(ddp_runs / "resume" / "checkpoint.pt", weights_only=False)["state_dict"]
    for key in b:
        assert torch.equal(a[key], b[key]), key


def test_torchrun_command_shapes():
    one = torchrun_command(
        4,
        spec_file="s.json",
        manifest="m",
        classes="c",
        images_root="i",
        out_dir="o",
        resume_dir="r",
    )
    assert one[:3] == [sys.executable, "-m", "torch.distributed.run"]
    assert "--standalone" in one and one[one.index("--nproc-per-node") + 1] == "4"
    assert one[one.index("-m", 3) + 1] == "cliptail.train.launch"
    assert one[one.index("--resume-dir") + 1] == "r" and "--text-embeddings" not in one
    multi = torchrun_command(
        8,
        nnodes=2,
        rdzv_endpoint="node1:29400",
        run_id="x",
        spec_file="s.json",
        manifest="m",
        classes="c",
        images_root="i",
        out_dir="o",
    )
    assert (
        "--standalone" not in multi and multi[multi.index("--rdzv-endpoint") + 1] == "node1:29400"
    )
    with pytest.raises(ValueError, match="rdzv_endpoint"):
        torchrun_command(
            2, nnodes=2, spec_file="s", manifest="m", classes="c", images_root="i", out_dir="o"
        )
