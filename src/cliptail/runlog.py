"""Send a job's output to its log file, and report failures there with a clear last line.

A failure's last line is ``error: <message>``. When a write failed for lack of space or
permission (``OSError`` with errno ENOSPC, EDQUOT, EROFS or EACCES, also when another exception
wraps it) the message says which file and what to do (:func:`cliptail.storage.storage_error`), e.g. ``error: cannot write R/checkpoint.pt: No space
left on device (free space on /data, then rerun)``. When the log file itself cannot be opened,
:func:`logged` raises :class:`LogFileError`, whose message names it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

from cliptail.storage import storage_error


class LogFileError(OSError):
    """The job's log file cannot be opened; ``str()`` is the whole explanation."""

    def __str__(self) -> str:
        return str(self.strerror)


def _open_log(path: Path):
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return open(path, "w", buffering=1, encoding="utf-8")
    except OSError as exc:
        blocking = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        message = storage_error(exc, what=f"the log file {path}") or (
            f"cannot open the log file {path}: "
            + (f"{blocking} is not a folder" if blocking else str(exc.strerror or exc))
        )
        raise LogFileError(exc.errno or 0, message, str(path)) from exc


@contextlib.contextmanager
def logged(log_path: str | os.PathLike | None, name: str = "cliptail") -> Iterator[logging.Logger]:
    """Redirect stdout/stderr (progress bars included) to ``log_path`` for the duration.

    With ``log_path=None`` (standalone use) output stays on the terminal. Exceptions are written
    to the log with their traceback and an ``error: ...`` last line (see :func:`storage_error`)
    and re-raised, so the workflow fails and shows the log; when the log cannot take them (its
    disk is full too), they go to the terminal's stderr instead.
    """
    logger = logging.getLogger(name)
    if log_path is None:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        yield logger
        return
    path = Path(log_path)
    terminal = sys.stderr
    fh = _open_log(path)
    handler = logging.StreamHandler(fh)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    start = time.time()
    failed = False
    try:
        with contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):
            try:
                yield logger
            except BaseException as exc:
                failed = True
                report = "".join(traceback.format_exception(exc))
                report += f"error: {storage_error(exc) or exc}\n"
                try:
                    fh.write(report)
                    fh.flush()
                except OSError:
                    terminal.write(f"(could not write to the log file {path})\n{report}")
                    terminal.flush()
                raise
            logger.info("done in %.1f s", time.time() - start)
    finally:
        root.removeHandler(handler)
        if failed:  # the job's own error is the one to report, not a failed flush of its log
            with contextlib.suppress(OSError):
                fh.close()
        else:
            fh.close()
