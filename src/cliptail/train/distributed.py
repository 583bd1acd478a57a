"""Process-group setup for data-parallel training (torchrun, or SLURM tasks without torchrun).

Ranks come from torchrun's ``RANK`` / ``LOCAL_RANK`` / ``WORLD_SIZE`` / ``LOCAL_WORLD_SIZE``, or,
when those are absent, from SLURM's ``SLURM_PROCID`` / ``SLURM_LOCALID`` / ``SLURM_NTASKS`` /
``SLURM_NTASKS_PER_NODE`` (one task per GPU, e.g. ``srun --ntasks-per-node=4``; the rendezvous
address is then the first host of ``SLURM_JOB_NODELIST`` unless ``MASTER_ADDR`` is set). Backend:
NCCL on GPUs, gloo on CPU. With one process nothing is initialised.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistEnv:
    rank: int
    local_rank: int
    world_size: int
    local_world_size: int
    device: torch.device
    initialised_here: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def _env_int(*names: str, default: int) -> int:
    for name in names:
        value = os.environ.get(name)
        if value:
            return int(value.split("(")[0].split(",")[0])
    return default


def process_ranks() -> tuple[int, int, int, int]:
    """(rank, local_rank, world_size, local_world_size) of this process."""
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:
        world = int(os.environ["WORLD_SIZE"])
        return (
            int(os.environ["RANK"]),
            _env_int("LOCAL_RANK", default=0),
            world,
            _env_int("LOCAL_WORLD_SIZE", default=world),
        )
    if "SLURM_PROCID" in os.environ and _env_int("SLURM_NTASKS", default=1) > 1:
        world = _env_int("SLURM_NTASKS", default=1)
        return (
            _env_int("SLURM_PROCID", default=0),
            _env_int("SLURM_LOCALID", default=0),
            world,
            _env_int("SLURM_NTASKS_PER_NODE", default=world),
        )
    return 0, 0, 1, 1


def _slurm_rendezvous() -> None:
    """Set MASTER_ADDR / MASTER_PORT for SLURM tasks started without torchrun."""
    if "MASTER_ADDR" not in os.environ:
        nodelist = os.environ.get("SLURM_JOB_NODELIST", "localhost")
        try:
            hosts = subprocess.run(
                ["scontrol", "show", "hostnames", nodelist],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.split()
        except (OSError, subprocess.CalledProcessError):
            hosts = [nodelist.split(",")[0]]
        os.environ["MASTER_ADDR"] = hosts[0] if hosts else "localhost"
    os.environ.setdefault("MASTER_PORT", str(29500 + _env_int("SLURM_JOB_ID", default=0) % 2000))


def select_device(preference: str, local_rank: int, local_world_size: int) -> torch.device:
    """The device of this process; with CUDA, checks that each local process gets its own GPU."""
    if preference == "cpu" or (preference == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise RuntimeError(
            "device 'cuda' was asked for but no CUDA device is visible; set "
            "device: cpu (or auto) or run on a GPU node"
        )
    visible = torch.cuda.device_count()
    if visible < local_world_size:
        raise RuntimeError(
            f"{local_world_size} training processes on this node but only "
            f"{visible} visible GPU(s) (CUDA_VISIBLE_DEVICES="
            f"{os.environ.get('CUDA_VISIBLE_DEVICES', 'unset')}); start one "
            f"process per GPU"
        )
    index = int(preference.split(":")[1]) if preference.startswith("cuda:") else local_rank
    torch.cuda.set_device(index)
    return torch.device("cuda", index)


def setup(device_preference: str = "auto") -> DistEnv:
    """Initialise the default process group when several processes train together."""
    rank, local_rank, world, local_world = process_ranks()
    device = select_device(device_preference, local_rank, local_world)
    initialised = False
    if world > 1 and not dist.is_initialized():
        if "RANK" not in os.environ:
            _slurm_rendezvous()
        dist.init_process_group(
            "nccl" if device.type == "cuda" else "gloo", rank=rank, world_size=world
        )
        initialised = True
    return DistEnv(rank, local_rank, world, local_world, device, initialised)


def teardown(env: DistEnv) -> None:
    if env.initialised_here and dist.is_initialized():
        dist.destroy_process_group()


def mean_over_ranks(value: float, env: DistEnv) -> float:
    """The mean of a per-process scalar over all processes (the value itself with one)."""
    if not env.distributed:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=env.device)
    dist.all_reduce(t)
    return float(t.item()) / env.world_size


def barrier(env: DistEnv) -> None:
    if env.distributed:
        dist.barrier()
