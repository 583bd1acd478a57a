"""Robust HTTP downloads: retries with backoff, resume, sha256 verification, atomic placement.

:func:`download` fetches ``url`` into ``dest`` as follows:

- bytes go to ``<dest>.part`` first; ``dest`` itself only ever appears by an atomic rename of a
  complete, verified file (fsync, then ``os.replace``), so a file at ``dest`` is always whole;
- an interrupted transfer (connection dropped, timeout, server error 5xx/429) is retried up to
  ``retries`` times, waiting ``backoff * 2**k`` seconds before retry ``k``; each retry resumes
  from the bytes already in ``<dest>.part`` with an HTTP ``Range: bytes=<n>-`` request
  (a server that ignores the range answers 200 and the file restarts from zero);
- the received length is checked against the announced length (a truncated body is an
  interrupted transfer, never a finished file; only a server that announces no length and just
  closes the connection can hide a truncation, which the sha256 then catches);
- with ``sha256`` given, the complete file's digest must match; on a mismatch after a resumed
  transfer the file is fetched once more from scratch (a resume may have stitched two versions);
  a mismatch on a fresh transfer raises :class:`ChecksumError` naming the URL, the file, the
  expected and the actual hash, and removes the partial file;
- an existing ``dest`` whose digest matches is kept without any request; one that does not match
  is downloaded again.

Client errors (404, 403, ...) are not retried: they raise :class:`DownloadError` at once.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import re
import time
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from cliptail import io

log = logging.getLogger(__name__)

CHUNK_SIZE = 1 << 20
USER_AGENT = "cliptail-downloader/1"
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class DownloadError(ValueError):
    """A file could not be downloaded (message says which, why, and what to do)."""


class ChecksumError(DownloadError):
    """A downloaded file's sha256 differs from the expected one."""


class _Interrupted(Exception):
    """A transfer stopped early in a way worth retrying."""


def sha256_file(path: str | os.PathLike, chunk_size: int = CHUNK_SIZE) -> str:
    """Hex sha256 digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk_size), b""):
            digest.update(block)
    return digest.hexdigest()


def part_path(dest: str | os.PathLike) -> Path:
    """Where the bytes of an unfinished download of ``dest`` are kept."""
    dest = Path(dest)
    return dest.with_name(dest.name + ".part")


def download(
    url: str,
    dest: str | os.PathLike,
    sha256: str | None = None,
    *,
    retries: int = 5,
    backoff: float = 2.0,
    timeout: float = 60.0,
    progress: bool = True,
    chunk_size: int = CHUNK_SIZE,
) -> Path:
    """Download ``url`` to ``dest`` (guarantees in the module docstring); return ``dest``."""
    dest = Path(dest)
    expected = sha256.lower() if sha256 else None
    if dest.is_file():
        if expected is None or sha256_file(dest) == expected:
            log.info("%s: present, not downloaded again", dest)
            return dest
        log.warning(
            "%s: present but its sha256 differs from %s; downloading it again", dest, expected
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = part_path(dest)
    fresh_retry_done = False
    attempt = 0
    while True:
        resumed = part.exists() and part.stat().st_size > 0
        try:
            _transfer(
                url,
                part,
                timeout=timeout,
                progress=progress,
                chunk_size=chunk_size,
                label=dest.name,
            )
        except _Interrupted as exc:
            if attempt >= retries:
                raise DownloadError(
                    f"download of {url} failed after {retries + 1} attempt(s): {exc}. The partial "
                    f"file {part} is kept; run the same command again to resume."
                ) from None
            wait = backoff * 2**attempt
            attempt += 1
            log.warning(
                "%s: %s; retry %d/%d in %.1f s (resuming at byte %d)",
                dest.name,
                exc,
                attempt,
                retries,
                wait,
                part.stat().st_size if part.exists() else 0,
            )
            time.sleep(wait)
            continue
        if expected is not None:
            actual = sha256_file(part)
            if actual != expected:
                part.unlink()
                if resumed and not fresh_retry_done:
                    fresh_retry_done = True
                    log.warning(
                        "%s: sha256 mismatch after a resumed transfer; downloading from scratch",
                        dest.name,
                    )
                    continue
                raise ChecksumError(
                    f"checksum mismatch for {dest} (from {url}): expected sha256 {expected}, got "
                    f"{actual}. The download was discarded. Check that the URL points at the "
                    f"intended file version (or update the pinned hash if the source changed "
                    f"on purpose)."
                )
        with open(part, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(part, dest)
        return dest


def _transfer(
    url: str, part: Path, *, timeout: float, progress: bool, chunk_size: int, label: str
) -> None:
    """Fetch the rest of ``url`` into ``part`` (resuming); raise ``_Interrupted`` if retryable."""
    offset = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:
            # Range not satisfiable: the partial file is already complete (or longer than the
            # source). Its checksum decides; without one, start again to be safe.
            total = _total_from_content_range(exc.headers.get("Content-Range"))
            if total is not None and total == offset:
                return
            part.unlink()
            raise _Interrupted(f"server refused resuming at byte {offset}") from None
        if exc.code >= 500 or exc.code in (408, 429):
            raise _Interrupted(f"HTTP {exc.code} {exc.reason}") from None
        raise DownloadError(
            f"cannot download {url}: HTTP {exc.code} {exc.reason}. Check the URL "
            f"(config) and that the file is publicly available."
        ) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise _Interrupted(f"connection failed ({reason})") from None
    with response:
        status = response.status
        if status == 206:
            start = _start_from_content_range(response.headers.get("Content-Range"))
            if start != offset:
                part.unlink(missing_ok=True)
                raise _Interrupted(f"server resumed at byte {start}, expected {offset}")
            mode = "ab"
            length = response.headers.get("Content-Length")
            total = offset + int(length) if length is not None else None
        else:
            offset, mode = 0, "wb"
            length = response.headers.get("Content-Length")
            total = int(length) if length is not None else None
        received = offset
        bar = tqdm(
            total=total,
            initial=offset,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=label,
            disable=not progress,
            leave=False,
        )
        try:
            with open(part, mode) as fh:
                while True:
                    try:
                        block = response.read(chunk_size)
                    except (
                        http.client.IncompleteRead,
                        ConnectionError,
                        TimeoutError,
                        OSError,
                    ) as exc:
                        raise _Interrupted(
                            f"connection lost after {received} bytes ({type(exc).__name__})"
                        ) from None
                    if not block:
                        break
                    fh.write(block)
                    received += len(block)
                    bar.update(len(block))
        finally:
            bar.close()
    if total is not None and received < total:
        raise _Interrupted(f"connection closed after {received} of {total} bytes")
    if total is not None and received > total:
        part.unlink()
        raise _Interrupted(f"received {received} bytes, more than the announced {total}")


def _start_from_content_range(value: str | None) -> int | None:
    match = _CONTENT_RANGE.match(value or "")
    return int(match.group(1)) if match else None


def _total_from_content_range(value: str | None) -> int | None:
    match = re.match(r"bytes \*/(\d+)", value or "")
    return int(match.group(1)) if match else None


def write_sha256_sidecar(path: str | os.PathLike) -> str:
    """Record the sha256 of ``path`` in ``<path>.sha256`` (``<hex>  <name>``); return the hex."""
    path = Path(path)
    digest = sha256_file(path)
    io.write_text(path.with_name(path.name + ".sha256"), f"{digest}  {path.name}\n")
    return digest
