"""Training under faults: a damaged resume state, a full disk, a read-only output folder, a log
that cannot be opened, and a ``kill -9`` of Snakemake. Each fault ends in a clear message and
nothing stale, half-written or silently wrong is left behind.

The mounts (a small tmpfs, a read-only bind mount) need root; without it those tests skip and
the /dev/full injection and error-formatting tests still run.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import json
import os
import re
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

import pytest
import torch

from cliptail import io
from cliptail.cli import main as cli_main
from cliptail.runlog import LogFileError, logged
from cliptail.storage import storage_error
from cliptail.train import checkpoint as ckpt_io
from cliptail.train import train_run
from cliptail.train.watchdog import (
    GONE_MESSAGE,
    is_remote_job,
    is_snakemake,
    read_process,
    snakemake_ancestor,
)
from tests.fixtures.toy_data import tiny_sl_spec, toy_run_paths, write_toy_split

SPEC = tiny_sl_spec("faults", epochs=4)
NO_SPACE = "No space left on device"


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("faults")
    write_toy_split(root, "train", 640, 8, alpha=1.0)
    return root


@pytest.fixture(scope="module")
def reference(toy, tmp_path_factory):
    """The final weights of an uninterrupted run."""
    out = tmp_path_factory.mktemp("reference")
    train_run(SPEC, progress=False, **toy_run_paths(toy, out, None))
    return torch.load(out / "checkpoint.pt", weights_only=False)["state_dict"]


def _mount(*args: str) -> None:
    try:
        subprocess.run(["mount", *args], check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", None) or exc
        pytest.skip(f"mount is not permitted here: {detail}")


@pytest.fixture
def mounts(tmp_path):
    """``mounts.tmpfs(size)`` / ``mounts.read_only(src)``: mounted folders, unmounted after."""
    done: list[Path] = []

    class Mounts:
        @staticmethod
        def tmpfs(size: str) -> Path:
            where = tmp_path / f"tmpfs{len(done)}"
            where.mkdir()
            _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where))
            done.append(where)
            return where

        @staticmethod
        def read_only(source: Path) -> Path:
            where = tmp_path / f"ro{len(done)}"
            where.mkdir()
            _mount("--bind", "-o", "ro", str(source), str(where))
            done.append(where)
            try:
                (where / ".probe").write_text("x")
            except OSError as exc:
                assert exc.errno == errno.EROFS
            else:
                pytest.skip("a read-only bind mount is writable here")
            return where

    yield Mounts
    for where in reversed(done):
        subprocess.run(["umount", "-l", str(where)], check=False, capture_output=True)


class Interrupted(Exception):
    """Stands for a crash right after a resume state was written."""


def train_until(toy, out, resume, epoch: int, monkeypatch) -> Path:
    """Train until the state of ``epoch`` is written, then stop; returns the state file."""
    real = ckpt_io.save_state

    def save_then_stop(state, path):
        real(state, path)
        if state["epoch"] == epoch:
            raise Interrupted

    with monkeypatch.context() as m:
        m.setattr(ckpt_io, "save_state", save_then_stop)
        with pytest.raises(Interrupted):
            train_run(SPEC, progress=False, **toy_run_paths(toy, out, resume))
    (state,) = resume.glob(f"*/{ckpt_io.STATE_FILE}")
    assert torch.load(state, weights_only=False)["epoch"] == epoch
    return state


def assert_same_weights(out: Path, reference) -> None:
    weights = torch.load(out / "checkpoint.pt", weights_only=False)["state_dict"]
    assert weights.keys() == reference.keys()
    for key, value in reference.items():
        assert torch.equal(weights[key], value), key


def warnings_of(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]


# --- 1. a damaged resume state -----------------------------------------------------------------


def test_truncated_state_falls_back_to_the_previous_epoch(
    toy, reference, tmp_path, monkeypatch, caplog
):
    """Fault: state.pt truncated (half its bytes). The run warns, naming the file, moves it
    aside, resumes from state.prev.pt one epoch earlier and ends equal to an uninterrupted run."""
    out, resume = tmp_path / "run", tmp_path / "resume"
    state = train_until(toy, out, resume, 2, monkeypatch)
    previous = state.with_name(ckpt_io.PREVIOUS_STATE_FILE)
    assert torch.load(previous, weights_only=False)["epoch"] == 1
    data = state.read_bytes()
    state.write_bytes(data[: len(data) // 2])

    caplog.set_level("WARNING", logger="cliptail.train")
    summary = train_run(SPEC, progress=False, **toy_run_paths(toy, out, resume))
    first, second = warnings_of(caplog)
    assert first.startswith(f"resume state {state} is unreadable (")
    assert first.endswith(
        f"); moved to {state}{ckpt_io.UNREADABLE_SUFFIX}; "
        f"trying the previous epoch's state {previous}"
    )
    assert second == f"resuming from the previous epoch's state {previous} (epoch 1)"
    assert summary["resumed_from"] == [1]
    lines = [json.loads(x) for x in (out / "train.jsonl").read_text().splitlines()]
    assert [x["epoch"] for x in lines if x["event"] == "epoch"] == [1, 2, 3, 4]
    assert_same_weights(out, reference)
    assert not state.parent.exists()  # finished: the resume state, moved-aside file included


def test_garbage_state_without_a_previous_one_starts_afresh(
    toy, reference, tmp_path, monkeypatch, caplog
):
    """Fault: state.pt overwritten with garbage after epoch 1 (no previous state yet). The run
    warns that it starts afresh from epoch 0 and still ends equal to an uninterrupted run."""
    out, resume = tmp_path / "run", tmp_path / "resume"
    state = train_until(toy, out, resume, 1, monkeypatch)
    assert not state.with_name(ckpt_io.PREVIOUS_STATE_FILE).exists()
    state.write_bytes(b"\x00garbage, not a torch file" * 100)

    caplog.set_level("WARNING", logger="cliptail.train")
    summary = train_run(SPEC, progress=False, **toy_run_paths(toy, out, resume))
    (warning,) = warnings_of(caplog)
    assert warning.startswith(f"resume state {state} is unreadable (")
    assert warning.endswith(
        f"); moved to {state}{ckpt_io.UNREADABLE_SUFFIX}; the run starts afresh from epoch 0"
    )
    assert summary["resumed_from"] == []
    assert_same_weights(out, reference)


def test_state_with_missing_keys_and_bad_previous_state_start_afresh(
    toy, reference, tmp_path, monkeypatch, caplog
):
    """Fault: state.pt is a torch file but not a resume state (keys missing) and state.prev.pt
    is truncated. Both are reported and moved aside; the run starts afresh from epoch 0."""
    out, resume = tmp_path / "run", tmp_path / "resume"
    state = train_until(toy, out, resume, 3, monkeypatch)
    previous = state.with_name(ckpt_io.PREVIOUS_STATE_FILE)
    torch.save({"epoch": 3, "model": {}}, state)
    previous.write_bytes(previous.read_bytes()[:100])

    caplog.set_level("WARNING", logger="cliptail.train")
    state_found = ckpt_io.load_state(state)
    assert state_found is None
    first, second = warnings_of(caplog)
    assert first == (
        f"resume state {state} is unreadable (missing optimizer, scaler, rng, history, "
        f"wall_time_s, resumed_from); moved to {state}{ckpt_io.UNREADABLE_SUFFIX}; "
        f"trying the previous epoch's state {previous}"
    )
    assert second.startswith(f"resume state {previous} is unreadable (")
    assert second.endswith(
        f"); moved to {previous}{ckpt_io.UNREADABLE_SUFFIX}; the run starts afresh from epoch 0"
    )
    assert sorted(p.name for p in state.parent.iterdir()) == [
        "state.prev.pt.unreadable",
        "state.pt.unreadable",
    ]
    summary = train_run(SPEC, progress=False, **toy_run_paths(toy, out, resume))
    assert summary["resumed_from"] == []
    assert_same_weights(out, reference)


def test_missing_state_between_the_two_renames_resumes_from_the_previous(
    toy, reference, tmp_path, monkeypatch, caplog
):
    """Fault: a crash between moving state.pt to state.prev.pt and renaming the new state into
    place leaves only state.prev.pt. The run resumes from it (with a warning)."""
    out, resume = tmp_path / "run", tmp_path / "resume"
    state = train_until(toy, out, resume, 2, monkeypatch)
    state.unlink()
    caplog.set_level("WARNING", logger="cliptail.train")
    summary = train_run(SPEC, progress=False, **toy_run_paths(toy, out, resume))
    previous = state.with_name(ckpt_io.PREVIOUS_STATE_FILE)
    assert warnings_of(caplog) == [f"resuming from the previous epoch's state {previous} (epoch 1)"]
    assert summary["resumed_from"] == [1]
    assert_same_weights(out, reference)


# --- 2. a full disk while training -------------------------------------------------------------


def _no_temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


def test_full_disk_while_saving_the_resume_state(toy, tmp_path, mounts):
    """Fault: the resume state's disk is full (1 MiB tmpfs, a state takes 2.7 MB). The error is
    OSError(ENOSPC) naming state.pt, not torch's "unexpected pos"; no temporary file is left."""
    full = mounts.tmpfs("1m")
    with pytest.raises(OSError) as caught:
        train_run(SPEC, progress=False, **toy_run_paths(toy, tmp_path / "run", full))
    (key,) = [p.name for p in full.iterdir()]
    state = full / key / ckpt_io.STATE_FILE
    assert caught.value.errno == errno.ENOSPC
    assert str(caught.value) == f"[Errno 28] {NO_SPACE}: '{state}'"
    assert "unexpected pos" not in "".join(traceback.format_exception(caught.value))
    assert _no_temporaries(full) == [] and not state.exists()


def test_full_disk_while_writing_the_checkpoint(toy, tmp_path, mounts):
    """Fault: the output folder's disk fills up at the final checkpoint (1 MiB tmpfs, the
    checkpoint takes 1.4 MB): OSError(ENOSPC) naming checkpoint.pt, no half-written file."""
    full = mounts.tmpfs("1m")
    with pytest.raises(OSError) as caught:
        train_run(SPEC, progress=False, **toy_run_paths(toy, full, None))
    assert caught.value.errno == errno.ENOSPC
    assert str(caught.value) == f"[Errno 28] {NO_SPACE}: '{full / 'checkpoint.pt'}'"
    assert not (full / "checkpoint.pt").exists() and _no_temporaries(full) == []


def test_writes_to_dev_full_raise_enospc_and_keep_the_old_state(tmp_path, monkeypatch):
    """Fault: every byte written goes to /dev/full (a write-only device that is always full).
    The state write fails with OSError(ENOSPC) naming state.pt; the previous state.pt is kept
    as it was, nothing is rotated to state.prev.pt and no temporary file is left."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    state = tmp_path / "key" / ckpt_io.STATE_FILE
    good = {"epoch": 1, "payload": torch.arange(1000)}
    ckpt_io.save_state(good, state)

    def to_dev_full(file, mode="r", *args, **kwargs):
        if "w" in mode and str(file).endswith(".tmp"):
            return builtins.open("/dev/full", mode, *args, **kwargs)
        return builtins.open(file, mode, *args, **kwargs)

    monkeypatch.setattr(ckpt_io, "open", to_dev_full, raising=False)
    for save, target in ((ckpt_io.save_state, state), (ckpt_io.save_atomic, state)):
        with pytest.raises(OSError) as caught:
            save({"epoch": 2, "payload": torch.zeros(100_000)}, target)
        assert caught.value.errno == errno.ENOSPC
        assert str(caught.value) == f"[Errno 28] {NO_SPACE}: '{state}'"
    monkeypatch.undo()
    assert torch.load(state, weights_only=False)["epoch"] == 1
    assert sorted(p.name for p in state.parent.iterdir()) == [ckpt_io.STATE_FILE]


# --- 3. clear last lines for read-only or full output folders ----------------------------------


def last_line(log: Path) -> str:
    return log.read_text().splitlines()[-1]


def test_full_disk_gives_one_clear_last_line(tmp_path, mounts):
    """Fault: a job's output disk is full. The log keeps the traceback; its last line says which
    file could not be written and to free space on which file system."""
    full = mounts.tmpfs("256k")
    log = tmp_path / "job.log"
    with pytest.raises(OSError), logged(log):
        ckpt_io.save_atomic({"weights": torch.zeros(200_000)}, full / "checkpoint.pt")
    assert "Traceback (most recent call last)" in log.read_text()
    assert last_line(log) == (
        f"error: cannot write {full / 'checkpoint.pt'}: {NO_SPACE} "
        f"(free space on {full}, then rerun)"
    )
    # a plain write (the OSError of write() names no file): the cliptail.io destination
    with pytest.raises(OSError), logged(log):
        io.write_json(full / "table.json", list(range(100_000)))
    assert last_line(log) == (
        f"error: cannot write {full / 'table.json'}: {NO_SPACE} (free space on {full}, then rerun)"
    )
    assert _no_temporaries(full) == []


def test_read_only_folder_gives_one_clear_last_line(tmp_path, mounts):
    """Fault: the output folder is on a read-only file system (a read-only bind mount)."""
    source = tmp_path / "source"
    source.mkdir()
    ro = mounts.read_only(source)
    log = tmp_path / "job.log"
    with pytest.raises(OSError), logged(log):
        io.write_json(ro / "run.json", {"a": 1})
    assert last_line(log) == (
        f"error: cannot write {ro / 'run.json'}: read-only file system ({ro} is mounted "
        "read-only; remount it read-write or write the results elsewhere, then rerun)"
    )
    with pytest.raises(OSError), logged(log):
        ckpt_io.save_atomic({"a": 1}, ro / "runs" / "checkpoint.pt")
    assert last_line(log) == (
        f"error: cannot write {ro / 'runs' / 'checkpoint.pt'}: read-only file system ({ro} is "
        "mounted read-only; remount it read-write or write the results elsewhere, then rerun)"
    )


def test_log_on_a_read_only_folder_fails_naming_the_log(tmp_path, mounts):
    """Fault: the job's log file itself cannot be created (its folder is read-only)."""
    source = tmp_path / "source"
    source.mkdir()
    ro = mounts.read_only(source)
    log = ro / "logs" / "train" / "job.log"
    with pytest.raises(LogFileError) as caught, logged(log):
        pytest.fail("the job ran without its log")
    assert str(caught.value) == (
        f"cannot write the log file {log}: read-only file system ({ro} is mounted read-only; "
        "remount it read-write or write the results elsewhere, then rerun)"
    )
    assert caught.value.errno == errno.EROFS and caught.value.filename == str(log)


def test_log_that_cannot_be_opened_fails_naming_it(tmp_path):
    """Fault: the log's folder is a file (no mount needed: always runs)."""
    (tmp_path / "logs").write_text("a file where the log folder should be")
    log = tmp_path / "logs" / "job.log"
    with pytest.raises(LogFileError) as caught, logged(log):
        pytest.fail("the job ran without its log")
    assert str(caught.value) == f"cannot open the log file {log}: {log.parent} is not a folder"


def test_storage_errors_name_the_file_and_what_to_do(tmp_path):
    """Fault messages for each errno, also when the OSError is wrapped or names a temporary
    file (mount point: the file system holding the file; here that of tmp_path)."""
    from cliptail.storage import mount_point

    mount = mount_point(tmp_path)
    target = tmp_path / "out" / "x.parquet"
    temporary = tmp_path / "out" / ".x.parquet.k2j3h_g5.parquet.tmp"
    assert storage_error(OSError(errno.ENOSPC, NO_SPACE, str(temporary))) == (
        f"cannot write {target}: {NO_SPACE} (free space on {mount}, then rerun)"
    )
    quota = OSError(errno.EDQUOT, "Disk quota exceeded", str(target))
    assert storage_error(quota) == (
        f"cannot write {target}: disk quota exceeded (free space on {mount} or ask for a larger "
        "quota, then rerun)"
    )
    denied = PermissionError(errno.EACCES, "Permission denied", str(target))
    try:
        raise RuntimeError("writing the table failed") from denied
    except RuntimeError as wrapped:
        assert storage_error(wrapped) == (
            f"cannot write {target}: permission denied ({target.parent} is not writable by "
            f"user {_user()}; fix its permissions, then rerun)"
        )
    assert storage_error(OSError(errno.ENOENT, "No such file or directory", "x")) is None
    assert storage_error(ValueError("bad")) is None


def _user() -> str:
    import getpass

    return getpass.getuser()


def test_cli_reports_a_read_only_output_in_one_line(toy, tmp_path, mounts, capsys):
    """Fault: ``cliptail subset --out`` into a read-only folder: exit 1, one clear line."""
    source = tmp_path / "source"
    source.mkdir()
    ro = mounts.read_only(source)
    out = ro / "sub.parquet"
    assert (
        cli_main(
            ["subset", "--manifest", str(toy / "train.parquet"), "--n", "5", "--out", str(out)]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err == (
        f"cliptail subset: error: cannot write {ro / 'sub.freq.tsv'}: read-only file system ({ro} "
        "is mounted read-only; remount it read-write or write the results elsewhere, then rerun)\n"
    )


# --- 4. kill -9 of Snakemake -------------------------------------------------------------------


def test_snakemake_command_lines_are_recognised():
    """The watchdog's view of command lines and parent chains (no processes needed)."""
    assert is_snakemake(["/venv/bin/python3.11", "/venv/bin/snakemake", "--cores", "2"])
    assert is_snakemake(["python", "-u", "-X", "utf8", "-m", "snakemake", "--target-jobs", "x"])
    assert is_snakemake(["snakemake", "-n"])
    assert not is_snakemake(["python", "-c", "import snakemake"])
    assert not is_snakemake(["python", "/x/.snakemake/scripts/tmpab.train.py"])
    assert is_remote_job(["python", "-m", "snakemake", "--mode", "remote"])
    assert not is_remote_job(["python", "-m", "snakemake", "--mode", "subprocess"])

    def proc(pid, name, *args):
        from cliptail.train.watchdog import Process

        return Process(pid, pid - 1, 100 + pid, "S", name, tuple(args))

    main = proc(10, "snakemake", "python", "/venv/bin/snakemake", "--cores", "2")
    job = proc(20, "python", "python", "-m", "snakemake", "--target-jobs", "train:run=x")
    shell = proc(30, "bash", "bash", "-c", "python train.py")
    assert snakemake_ancestor([shell, job, main, proc(1, "init", "/sbin/init")])[0] == main
    assert snakemake_ancestor([shell, proc(2, "bash", "bash")]) == (
        None,
        "not started by Snakemake",
    )
    remote = proc(20, "python", "python", "-m", "snakemake", "--mode", "remote")
    target, why = snakemake_ancestor([shell, remote, proc(5, "slurmstepd", "slurmstepd")])
    assert target is None and "scancel" in why


WATCHED_JOB = """
import logging, subprocess, sys, time
from cliptail.train.watchdog import Watchdog, read_process

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
starter = subprocess.Popen(["sleep", "1.5"])  # stands for Snakemake: gone after 1.5 s
launcher = subprocess.Popen(  # stands for torchrun with a worker
    [sys.executable, "-c", "import subprocess, time; "
     "print(subprocess.Popen(['sleep', '120']).pid, flush=True); time.sleep(120)"],
    stdout=subprocess.PIPE, text=True,
)
worker = int(launcher.stdout.readline())
print(launcher.pid, worker, flush=True)
Watchdog(read_process(starter.pid), interval=0.2).start()
time.sleep(120)
"""


def test_a_job_whose_snakemake_is_gone_stops_its_children_too(tmp_path):
    """Fault: the watched Snakemake process disappears while the job runs child processes (as
    torchrun and its workers): the job logs why, terminates them and exits with status 1."""
    env = {**os.environ, "PYTHONPATH": str(Path(ckpt_io.__file__).parents[2])}
    start = time.monotonic()
    job = subprocess.run(
        [sys.executable, "-c", WATCHED_JOB],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert job.returncode == 1, job.stderr
    assert time.monotonic() - start < 30
    launcher, worker = map(int, job.stdout.split())
    starter = re.search(r"the Snakemake process (\d+) that", job.stderr)
    assert starter and f"ERROR {GONE_MESSAGE.format(pid=starter.group(1))}" in job.stderr
    deadline = time.monotonic() + 5
    while any((p := read_process(pid)) is not None and p.running for pid in (launcher, worker)):
        assert time.monotonic() < deadline, "the job's children outlived it"
        time.sleep(0.1)


@pytest.mark.slow
def test_training_stops_when_snakemake_is_killed(tmp_path):
    """Fault: ``kill -9`` of the Snakemake process while one of its training jobs runs. The job
    notices within a few seconds, logs why, exits, and keeps its resume state."""
    from benchmarks.kill_resume import SMOKE_CONFIG, smoke_clip_run, train_processes
    from tests.workflow.workspace import SNAKEMAKE, copy_project, env_for

    work = copy_project(tmp_path / "cliptail")
    (work / "long.yaml").write_text("train:\n  clip:\n    optim:\n      epochs: 60\n")
    run = smoke_clip_run(work)
    log = work / f"results/logs/train/{run}.log"
    with open(tmp_path / "snakemake.out", "w") as out:
        snakemake = subprocess.Popen(
            [SNAKEMAKE, "--cores", "2", f"results/runs/{run}/checkpoint.pt"]
            + ["--configfile", SMOKE_CONFIG, "long.yaml"],
            cwd=work,
            env=env_for(work),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    trainer = None
    try:
        deadline = time.monotonic() + 240
        armed = f"watching the Snakemake process {snakemake.pid} that started this job"
        while not (
            log.exists()
            and armed in log.read_text(errors="replace")
            and list((work / "results/resume" / run).glob("*/state.pt"))
        ):
            assert snakemake.poll() is None, (tmp_path / "snakemake.out").read_text()[-3000:]
            assert time.monotonic() < deadline, "the training job did not start"
            time.sleep(0.2)
        (trainer,) = train_processes(snakemake.pid)
        os.kill(snakemake.pid, signal.SIGKILL)
        snakemake.wait()
        killed = time.monotonic()
        while (p := read_process(trainer)) is not None and p.running:
            assert time.monotonic() - killed < 10, "the training job outlived Snakemake by 10 s"
            time.sleep(0.1)
        print(f"training stopped {time.monotonic() - killed:.1f} s after Snakemake was killed")
    finally:
        if snakemake.poll() is None:
            snakemake.kill()
            snakemake.wait()
        if trainer is not None:
            with contextlib.suppress(OSError):
                os.kill(trainer, signal.SIGKILL)
    text = log.read_text(errors="replace")
    assert GONE_MESSAGE.format(pid=snakemake.pid) in text
    assert list((work / "results/resume" / run).glob("*/state.pt"))  # resume state kept
    assert not (work / f"results/runs/{run}/checkpoint.pt").exists()
