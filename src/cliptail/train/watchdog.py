"""Stop a training job when the Snakemake process that started it is gone.

Snakemake stops its jobs when it is interrupted or terminated, but a ``kill -9`` of Snakemake (or
a crash, or the terminal's session ending) leaves them running: a training job would go on for
hours, holding its cores and GPUs, and write outputs that no Snakemake records. :func:`watch`,
called at the start of a training job, finds the top-most Snakemake process among the job's
ancestors on this machine (walking the parent chain through ``/proc/<pid>/stat``; Snakemake may
run a job through per-job ``python -m snakemake --target-jobs ...`` processes between itself and
the script) and remembers its pid and start time. A daemon thread checks every
``interval`` seconds (2 by default) that this process still exists (a zombie, or a new process
that reuses the pid with a different start time, counts as gone); when it is gone, the job logs

    the Snakemake process <pid> that started this job is gone; stopping (resume state kept: the
    next run resumes from the last finished epoch)

terminates its own child processes (torchrun and its workers, data-loader workers: SIGTERM, then
SIGKILL after a few seconds) and exits at once with status 1 (``os._exit``: the resume state of
the last finished epoch stays; the epoch in progress is lost). A job whose Snakemake died while
the job was starting (no Snakemake ancestor left, re-parented to pid 1) stops at once.

Nothing is watched when no ancestor is Snakemake (a standalone run), nor in a Snakemake job on a
cluster node (its Snakemake runs with ``--mode remote`` under a SLURM step): there the job lives
and dies with its SLURM allocation, and ``scancel`` is the way to stop it. Linux only (``/proc``);
elsewhere nothing is watched.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger("cliptail.train")

PROC = Path("/proc")
NOT_SNAKEMAKE = "not started by Snakemake"
GONE_MESSAGE = (
    "the Snakemake process {pid} that started this job is gone; stopping (resume state kept: "
    "the next run resumes from the last finished epoch)"
)


@dataclass(frozen=True)
class Process:
    """What ``/proc/<pid>/stat`` and ``/proc/<pid>/cmdline`` say about one process."""

    pid: int
    ppid: int
    start: int  # clock ticks after boot: with the pid, identifies the process
    state: str  # R, S, D, Z (zombie), ...
    name: str
    args: tuple[str, ...]

    @property
    def running(self) -> bool:
        return self.state not in ("Z", "X", "x")


def read_process(pid: int, proc: Path = PROC) -> Process | None:
    """The process ``pid``, or ``None`` when there is none (or it cannot be read)."""
    try:
        stat = (proc / str(pid) / "stat").read_text(encoding="utf-8", errors="replace")
        cmdline = (proc / str(pid) / "cmdline").read_bytes()
    except OSError:
        return None
    # "pid (name) state ppid ... starttime ...": the name may hold spaces and parentheses
    left, right = stat.find("("), stat.rfind(")")
    fields = stat[right + 2 :].split()
    try:
        return Process(
            pid=pid,
            ppid=int(fields[1]),
            start=int(fields[19]),
            state=fields[0],
            name=stat[left + 1 : right],
            args=tuple(a.decode(errors="replace") for a in cmdline.split(b"\0") if a),
        )
    except (IndexError, ValueError):
        return None


def is_snakemake(args: tuple[str, ...] | list[str]) -> bool:
    """Whether a command line runs Snakemake (``snakemake ...``, ``python [opts] .../snakemake
    ...`` or ``python [opts] -m snakemake ...``)."""
    if not args:
        return False
    if os.path.basename(args[0]) == "snakemake":
        return True
    if not os.path.basename(args[0]).startswith("python"):
        return False
    i = 1
    while i < len(args) and args[i].startswith("-"):
        if args[i] == "-c":
            return False
        if args[i] == "-m":
            return i + 1 < len(args) and args[i + 1] == "snakemake"
        i += 2 if args[i] in ("-X", "-W") else 1  # these two take a value
    return i < len(args) and os.path.basename(args[i]) == "snakemake"


def is_remote_job(args: tuple[str, ...] | list[str]) -> bool:
    """Whether a Snakemake command line is a job on a cluster node (``--mode remote``)."""
    args = list(args)
    if "--mode=remote" in args:
        return True
    return any(a == "--mode" and b == "remote" for a, b in zip(args, args[1:], strict=False))


def ancestors(pid: int | None = None, proc: Path = PROC) -> list[Process]:
    """The parent chain of ``pid`` (default: this process), nearest first, pid 1 included (in a
    container, pid 1 may be the Snakemake job itself)."""
    chain: list[Process] = []
    me = read_process(os.getpid() if pid is None else pid, proc)
    current = me.ppid if me is not None else 0
    seen: set[int] = set()
    while current >= 1 and current not in seen:
        seen.add(current)
        info = read_process(current, proc)
        if info is None:
            break
        chain.append(info)
        current = info.ppid
    return chain


def snakemake_ancestor(chain: list[Process]) -> tuple[Process | None, str]:
    """The Snakemake process to watch in a parent chain (nearest first), and why (not) one."""
    found = [i for i, p in enumerate(chain) if is_snakemake(p.args)]
    if not found:
        return None, NOT_SNAKEMAKE
    top = chain[found[-1]]
    if is_remote_job(top.args) or any(p.name == "slurmstepd" for p in chain[: found[-1]]):
        return None, "a Snakemake job on a cluster node: stop it with scancel"
    return top, f"Snakemake process {top.pid}"


def descendants(pid: int, proc: Path = PROC) -> list[int]:
    """The pids of every live descendant of ``pid`` (children first)."""
    children: dict[int, list[int]] = {}
    with contextlib.suppress(OSError):
        for entry in proc.iterdir():
            if entry.name.isdigit():
                info = read_process(int(entry.name), proc)
                if info is not None and info.running:
                    children.setdefault(info.ppid, []).append(info.pid)
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(0), []):
            found.append(child)
            queue.append(child)
    return found


def terminate_descendants(grace: float = 5.0, proc: Path = PROC) -> None:
    """SIGTERM every descendant of this process, SIGKILL those left after ``grace`` seconds."""
    pids = descendants(os.getpid(), proc)
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not any((p := read_process(pid, proc)) is not None and p.running for pid in pids):
            return
        time.sleep(0.1)
    for pid in descendants(os.getpid(), proc) + pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


class Watchdog:
    """A daemon thread that stops this process when ``target`` is gone (see the module)."""

    def __init__(self, target: Process, interval: float = 2.0, proc: Path = PROC):
        self.target, self.interval, self.proc = target, interval, proc
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="snakemake-watchdog", daemon=True)

    def start(self) -> Watchdog:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def target_alive(self) -> bool:
        now = read_process(self.target.pid, self.proc)
        return now is not None and now.start == self.target.start and now.running

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            if not self.target_alive():
                self._exit()

    def _exit(self) -> None:
        _stop(GONE_MESSAGE.format(pid=self.target.pid), self.proc)


def _stop(message: str, proc: Path = PROC) -> None:
    """Log ``message``, stop this process's children, exit with status 1 (no cleanup)."""
    logger.error(message)
    for handler in logging.getLogger().handlers + logger.handlers:
        with contextlib.suppress(Exception):
            handler.flush()
    terminate_descendants(proc=proc)
    os._exit(1)


def watch(
    interval: float = 2.0, *, started_by_snakemake: bool = False, proc: Path = PROC
) -> Watchdog | None:
    """Start watching the Snakemake process that started this job; ``None`` when there is none
    to watch (standalone, a cluster node, or no ``/proc``).

    ``started_by_snakemake``: the caller is a Snakemake job (a ``script:`` with its
    ``snakemake`` object). If such a job has no Snakemake ancestor left and has been re-parented
    to pid 1, Snakemake died while the job was starting: it stops at once.
    """
    if not (proc / str(os.getpid()) / "stat").exists():
        return None
    chain = ancestors(proc=proc)
    target, why = snakemake_ancestor(chain)
    if target is None:
        if started_by_snakemake and why == NOT_SNAKEMAKE and os.getppid() == 1:
            _stop(GONE_MESSAGE.format(pid="(pid unknown: this job's parent has exited)"), proc)
        logger.debug("no Snakemake process to watch (%s)", why)
        return None
    return Watchdog(target, interval, proc).start()
