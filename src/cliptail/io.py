"""Small, shared file helpers: atomic writes and the project's table formats.

Every writer here goes through :func:`atomic_path`: the content is written to a temporary file in
the destination directory, flushed and fsynced, then renamed over the destination. A crash never
leaves a half-written file that looks complete. Files that belong together (a manifest and its
frequency file) go through :func:`atomic_paths`: both are renamed only once both are complete.

Parquet tables are read through :func:`read_parquet` / :func:`open_parquet`, which turn pyarrow's
errors for a truncated or damaged file into a :class:`FileReadError` naming the file.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    import pyarrow.parquet as pq


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it over ``path`` if the block succeeds.

    The temporary file keeps ``path``'s suffix (or ``suffix``) so that libraries which infer the
    format from the extension behave the same. On error the temporary file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.",
        suffix=(suffix if suffix is not None else path.suffix) + ".tmp",
        dir=path.parent,
    )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp_path, 0o644)  # mkstemp creates 0600; results are meant to be shared
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def _temporary(path: Path) -> Path:
    """An empty temporary file next to ``path`` (same naming as :func:`atomic_path`)."""
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=path.suffix + ".tmp", dir=path.parent
    )
    os.close(fd)
    return Path(tmp)


@contextlib.contextmanager
def atomic_paths(*paths: str | os.PathLike) -> Iterator[tuple[Path, ...]]:
    """Yield one temporary path per destination; rename them all once the block succeeds.

    For files that must match each other (a manifest and its frequency file): nothing is renamed
    until every temporary is written and fsynced, and they are renamed in the order given (put the
    file that marks the pair complete last). On any failure, inside the block or while renaming,
    every temporary is removed and every destination keeps its old content (or stays absent).
    """
    dests = [Path(p) for p in paths]
    if len(set(dests)) != len(dests):
        raise ValueError(
            f"atomic_paths: the same destination given twice: {[str(p) for p in dests]}"
        )
    temps: list[Path] = []
    backups: dict[Path, Path | None] = {}  # destination -> hard link to its old content
    try:
        for dest in dests:
            dest.parent.mkdir(parents=True, exist_ok=True)
            temps.append(_temporary(dest))
        yield tuple(temps)
        for tmp in temps:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o644)
        for dest in dests:  # keep the old files reachable until every rename went through
            backup = None
            if dest.exists():
                backup = _temporary(dest)
                try:  # a hard link costs nothing; a copy where links are not supported
                    backup.unlink()
                    os.link(dest, backup)
                except OSError:
                    shutil.copy2(dest, backup)
            backups[dest] = backup
        renamed: list[Path] = []
        try:
            for tmp, dest in zip(temps, dests, strict=True):
                os.replace(tmp, dest)
                renamed.append(dest)
        except BaseException:
            for dest in reversed(renamed):
                backup = backups.pop(dest)
                if backup is None:
                    dest.unlink(missing_ok=True)
                else:
                    os.replace(backup, dest)
            raise
    finally:
        for leftover in [*temps, *(b for b in backups.values() if b is not None)]:
            leftover.unlink(missing_ok=True)


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def _json_default(obj):
    import numpy as np

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return None if np.isnan(obj) else float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")


def read_json(path: str | os.PathLike):
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def write_parquet(path: str | os.PathLike, df: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)


# --- reading parquet with errors that name the file ---------------------------------------------

#: What to do about a damaged file that a workflow step wrote.
REMAKE_HINT = "re-create it (delete it and rerun the step that writes it)"


class FileReadError(ValueError):
    """A file exists but cannot be read as it should be (truncated, damaged, wrong content).

    The message starts with the file's path, says what is wrong and what to do.
    """


def _is_read_error(exc: BaseException) -> bool:
    """Whether ``exc`` is pyarrow's (or the OS's) way of saying a file's bytes are unreadable;
    a missing file, a directory or a permission problem is not (it keeps its own error)."""
    import pyarrow as pa

    if isinstance(exc, (FileNotFoundError, IsADirectoryError, PermissionError)):
        return False
    return isinstance(exc, (pa.ArrowException, OSError))


def parquet_read_error(
    path: str | os.PathLike, exc: BaseException, hint: str = REMAKE_HINT
) -> FileReadError:
    """The :class:`FileReadError` for pyarrow's error ``exc`` while reading ``path``."""
    text = str(exc).strip()
    detail = text.splitlines()[0] if text else type(exc).__name__
    detail = re.sub(r"^Could not open Parquet input source '.*?': ", "", detail).rstrip(".")
    return FileReadError(f"{path}: truncated or corrupt parquet file ({detail}); {hint}")


def open_parquet(path: str | os.PathLike, *, hint: str = REMAKE_HINT, **options) -> pq.ParquetFile:
    """``pyarrow.parquet.ParquetFile(path, **options)``; a damaged file raises
    :class:`FileReadError` naming it and saying ``hint``."""
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path, **options)
    except Exception as exc:
        if _is_read_error(exc):
            raise parquet_read_error(path, exc, hint) from None
        raise


def read_parquet(
    path: str | os.PathLike, columns: Sequence[str] | None = None, *, hint: str = REMAKE_HINT
) -> pd.DataFrame:
    """``pandas.read_parquet(path, columns=columns)`` with errors that name the file: a damaged
    file raises :class:`FileReadError` (saying ``hint``), a missing column a ValueError listing
    the file's columns. A missing file raises pandas' FileNotFoundError as before."""
    import pyarrow.parquet as pq

    if Path(path).is_file():
        try:
            names = pq.read_schema(path).names
        except Exception as exc:
            if _is_read_error(exc):
                raise parquet_read_error(path, exc, hint) from None
            raise
        missing = [c for c in columns or () if c not in names]
        if missing:
            raise ValueError(f"{path}: no column(s) {missing}; its columns are {names[:20]}")
    try:
        return pd.read_parquet(path, columns=list(columns) if columns is not None else None)
    except Exception as exc:
        if _is_read_error(exc):
            raise parquet_read_error(path, exc, hint) from None
        raise


# --- frequency files: ``name<TAB>count``, no header, one line per class, class order ---------


def write_frequency(path: str | os.PathLike, names: Sequence[str], counts: Sequence[int]) -> None:
    """Write a frequency file in the authors' format (``name<TAB>count``, no header)."""
    if len(names) != len(counts):
        raise ValueError(f"{len(names)} names but {len(counts)} counts")
    lines = [f"{name}\t{int(count)}\n" for name, count in zip(names, counts, strict=True)]
    write_text(path, "".join(lines))


def read_frequency(path: str | os.PathLike) -> pd.DataFrame:
    """Read a frequency file into a frame with columns ``name`` and ``count`` (file order kept)."""
    names, counts = [], []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\n")
            if not line:
                continue
            name, sep, count = line.rpartition("\t")
            if not sep:
                raise ValueError(f"{path}:{lineno}: expected 'name<TAB>count', got {line!r}")
            try:
                counts.append(int(float(count)))
            except ValueError:
                raise ValueError(f"{path}:{lineno}: count {count!r} is not a number") from None
            names.append(name)
    return pd.DataFrame({"name": names, "count": pd.array(counts, dtype="int64")})


# --- classes.tsv: ``index<TAB>id<TAB>name`` with a header, class order -------------------------

CLASSES_COLUMNS = ["index", "id", "name"]


def write_classes(path: str | os.PathLike, ids: Sequence[str], names: Sequence[str]) -> None:
    df = pd.DataFrame({"index": range(len(ids)), "id": list(ids), "name": list(names)})
    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", index=False)


def read_classes(path: str | os.PathLike) -> pd.DataFrame:
    df = pd.read_csv(
        path, sep="\t", dtype={"index": "int64", "id": str, "name": str}, keep_default_na=False
    )
    if list(df.columns) != CLASSES_COLUMNS:
        raise ValueError(f"{path}: expected columns {CLASSES_COLUMNS}, got {list(df.columns)}")
    if not (df["index"].to_numpy() == range(len(df))).all():
        raise ValueError(f"{path}: 'index' must be 0..C-1 in order")
    return df
