"""Small, shared file helpers: atomic writes and the project's table formats.

Every writer here goes through :func:`atomic_path`: the content is written to a temporary file in
the destination directory, flushed and fsynced, then renamed over the destination. A crash never
leaves a half-written file that looks complete.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd


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
