"""Send a job's output to its log file, and report failures there with a clear last line."""

from __future__ import annotations

import contextlib
import logging
import os
import time
import traceback
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def logged(log_path: str | os.PathLike | None, name: str = "cliptail") -> Iterator[logging.Logger]:
    """Redirect stdout/stderr (progress bars included) to ``log_path`` for the duration.

    With ``log_path=None`` (standalone use) output stays on the terminal. Exceptions are written
    to the log with their traceback and re-raised, so the workflow fails and shows the log.
    """
    logger = logging.getLogger(name)
    if log_path is None:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        yield logger
        return
    path = Path(log_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", buffering=1, encoding="utf-8") as fh:
        handler = logging.StreamHandler(fh)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        start = time.time()
        try:
            with contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):
                try:
                    yield logger
                except BaseException as exc:
                    traceback.print_exc(file=fh)
                    fh.write(f"error: {exc}\n")
                    raise
                logger.info("done in %.1f s", time.time() - start)
        finally:
            root.removeHandler(handler)
