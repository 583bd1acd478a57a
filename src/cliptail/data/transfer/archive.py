"""Safe extraction of the transfer datasets' archives (tar, tar.gz, tgz, zip) and md5 digests.

:func:`extract` unpacks one archive into a folder that the caller owns (a temporary folder that is
renamed into place only once the whole dataset has been read). Nothing may land outside it:

- tar members go through :mod:`tarfile`'s ``data`` filter (``..`` components, links pointing
  outside the folder, device files and set-uid bits are refused), and absolute member names are
  refused too (the filter would strip their leading slash: no dataset archive has them);
- zip members are checked the same way before anything is written (absolute paths, ``..``,
  drive letters, symbolic links stored as members are refused).

Either way a refused member raises :class:`UnsafeArchiveError` naming the archive and the member;
a damaged archive raises :class:`ArchiveError` saying to delete and download it again. The caller
removes its temporary folder, so a refused archive leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

CHUNK_SIZE = 1 << 20


class ArchiveError(ValueError):
    """An archive cannot be read (truncated, damaged, not an archive)."""


class UnsafeArchiveError(ArchiveError):
    """An archive member would be written outside the destination folder."""


def md5_file(path: str | os.PathLike, chunk_size: int = CHUNK_SIZE) -> str:
    """Hex md5 digest of a file (the checksum most datasets and torchvision publish)."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk_size), b""):
            digest.update(block)
    return digest.hexdigest()


def extract(archive: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Unpack ``archive`` (tar, tar.gz, tgz or zip) into the folder ``dest``; return ``dest``."""
    archive, dest = Path(archive), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    if archive.name.lower().endswith(".zip"):
        _extract_zip(archive, dest)
    else:
        _extract_tar(archive, dest)
    return dest


def _damaged(archive: Path, exc: BaseException) -> ArchiveError:
    return ArchiveError(
        f"{archive} cannot be extracted ({type(exc).__name__}: {exc}); delete it and download "
        "it again"
    )


def _strict_data_filter(member: tarfile.TarInfo, dest_path: str) -> tarfile.TarInfo | None:
    name = member.name.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise tarfile.AbsolutePathError(member)
    return tarfile.data_filter(member, dest_path)


def _extract_tar(archive: Path, dest: Path) -> None:
    try:
        with tarfile.open(archive, "r:*") as tar:
            tar.extractall(dest, filter=_strict_data_filter)
    except tarfile.FilterError as exc:
        member = getattr(exc, "tarinfo", None)
        name = member.name if member is not None else "?"
        raise UnsafeArchiveError(
            f"{archive}: member {name!r} is refused ({exc}); the archive is not the expected "
            "file, nothing of it is kept"
        ) from None
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise _damaged(archive, exc) from None


def _zip_target(archive: Path, dest: Path, info: zipfile.ZipInfo) -> Path:
    """Where a zip member goes under ``dest``; UnsafeArchiveError if outside or a link."""
    name = info.filename.replace("\\", "/")
    path = PurePosixPath(name)
    mode = info.external_attr >> 16
    problem = None
    if path.is_absolute() or (path.parts and ":" in path.parts[0]):
        problem = "absolute path"
    elif ".." in path.parts:
        problem = "path leaves the destination folder"
    elif stat.S_ISLNK(mode):
        problem = "symbolic link"
    if problem:
        raise UnsafeArchiveError(
            f"{archive}: member {info.filename!r} is refused ({problem}); the archive is not the "
            "expected file, nothing of it is kept"
        )
    return dest.joinpath(*path.parts)


def _extract_zip(archive: Path, dest: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as zf:
            members = [(info, _zip_target(archive, dest, info)) for info in zf.infolist()]
            for info, target in members:
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out, CHUNK_SIZE)
    except UnsafeArchiveError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise _damaged(archive, exc) from None
