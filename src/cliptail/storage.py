"""What to tell the user when a write fails for lack of space or permission.

:func:`storage_error` turns an ``OSError`` with errno ENOSPC, EDQUOT, EROFS or EACCES (also when
another exception wraps it) into one line that names the file and what to do, e.g.
``cannot write R/checkpoint.pt: No space left on device (free space on /data, then rerun)`` or
``cannot write R/checkpoint.pt: read-only file system (/data is mounted read-only; remount it
read-write or write the results elsewhere, then rerun)``. Jobs (:func:`cliptail.runlog.logged`)
and the ``cliptail`` command end their output with it.
"""

from __future__ import annotations

import contextlib
import errno
import getpass
import os
import re
from pathlib import Path

#: errno -> (what went wrong, what to do); ``{mount}``: the file system, ``{folder}``: the folder
STORAGE_ERRNOS: dict[int, tuple[str, str]] = {
    errno.ENOSPC: ("No space left on device", "free space on {mount}, then rerun"),
    errno.EDQUOT: (
        "disk quota exceeded",
        "free space on {mount} or ask for a larger quota, then rerun",
    ),
    errno.EROFS: (
        "read-only file system",
        "{mount} is mounted read-only; remount it read-write or write the results elsewhere, "
        "then rerun",
    ),
    errno.EACCES: (
        "permission denied",
        "{folder} is not writable by user {user}; fix its permissions, then rerun",
    ),
}


#: the temporary file of :func:`cliptail.io.atomic_path`: ``.<name>.<8 random characters>...tmp``
_TEMPORARY = re.compile(r"^\.(?P<name>.+?)\.[a-z0-9_]{8}(\.[^.]+)?\.tmp$")


def mount_point(path: str | os.PathLike) -> Path:
    """The mount point of the file system holding ``path`` (or its nearest existing parent)."""
    p = Path(os.path.abspath(path))
    while not p.exists() and p != p.parent:
        p = p.parent
    p = p.resolve()
    best = None
    with contextlib.suppress(OSError):
        with open("/proc/self/mountinfo", encoding="utf-8") as fh:
            for line in fh:
                fields = line.split()
                if len(fields) < 5:
                    continue
                mount = Path(_unescape(fields[4]))
                if (p == mount or mount in p.parents) and (
                    best is None or len(mount.parts) > len(best.parts)
                ):
                    best = mount
    if best is not None:
        return best
    while not os.path.ismount(p) and p != p.parent:
        p = p.parent
    return p


def _unescape(field: str) -> str:
    """A /proc/self/mountinfo path field (spaces and the like are octal escapes)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def _storage_oserror(exc: BaseException) -> OSError | None:
    """The first ENOSPC/EDQUOT/EROFS/EACCES ``OSError`` in ``exc``'s cause/context chain."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 10:
        if isinstance(current, OSError) and current.errno in STORAGE_ERRNOS:
            return current
        current = current.__cause__ or current.__context__
        seen += 1
    return None


def _file_being_written(exc: BaseException) -> str | None:
    """The destination a :mod:`cliptail.io` writer was writing when ``exc`` went through it.

    A failed ``write()`` on an open file raises an ``OSError`` that names no file; every writer
    in :mod:`cliptail.io` takes the destination as ``path``, so the innermost such frame of the
    traceback says which file it was.
    """
    found = None
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename.endswith(os.path.join("cliptail", "io.py")):
            path = tb.tb_frame.f_locals.get("path")
            if isinstance(path, str | os.PathLike):
                found = os.fspath(path)
        tb = tb.tb_next
    return found


def storage_error(exc: BaseException, what: str | None = None) -> str | None:
    """``cannot write <path>: <reason> (<what to do>)`` for a failed write, else ``None``.

    ``exc`` (or an exception it wraps) is an ``OSError`` with errno ENOSPC, EDQUOT, EROFS or
    EACCES; ``what`` replaces the file's name in the message (e.g. "the log file X").
    """
    err = _storage_oserror(exc)
    if err is None:
        return None
    reason, hint = STORAGE_ERRNOS[err.errno]
    filename = err.filename
    if filename is None:
        filename = _file_being_written(err) or _file_being_written(exc)
    if filename is None:
        target = what or "a file (the error does not say which)"
        hint = hint.format(
            mount="the disk of the job's outputs", folder="the output folder", user=_user()
        )
        return f"cannot write {target}: {reason} ({hint})"
    path = Path(os.fsdecode(filename))
    temporary = _TEMPORARY.match(path.name)
    if temporary:  # name the file being written, not its hidden temporary file
        path = path.with_name(temporary.group("name"))
    verb = "write"
    if err.errno == errno.EACCES and path.is_file() and not os.access(path, os.R_OK):
        verb, hint = (
            "read",
            "{path} is not readable by user {user}; fix its permissions, then rerun",
        )
    hint = hint.format(mount=mount_point(path), folder=path.parent, path=path, user=_user())
    return f"cannot {verb} {what or path}: {reason} ({hint})"


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())
