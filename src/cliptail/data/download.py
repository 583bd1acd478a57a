"""Robust HTTP downloads: retries with backoff, resume, length and sha256 checks, atomic placement.

:func:`download` fetches ``url`` into ``dest`` as follows:

- bytes go to ``<dest>.part`` first; ``dest`` itself only ever appears by an atomic rename of a
  complete, verified file (fsync, then ``os.replace``), so a file at ``dest`` is always whole;
- an interrupted transfer (connection dropped or stalled for ``timeout`` seconds, an incomplete
  chunked body, server error 5xx/408/429) is retried up to ``retries`` times, waiting
  ``backoff * 2**k`` seconds before retry ``k``; each retry resumes from the bytes already in
  ``<dest>.part`` with an HTTP ``Range: bytes=<n>-`` request (a server that ignores the range
  answers 200 and the file restarts from zero); every byte received before an interruption is
  kept, and the messages give the true counts;
- the received length is checked against the expected length, taken from the response
  (``Content-Length``, or the total of a ``206``'s ``Content-Range``) or else from ``size``
  (e.g. a size pinned in a registry): a short body is an interrupted transfer, never a finished
  file; a server announcing a length other than ``size`` is an error. A chunked body's end is
  signalled by the encoding itself. Only a body with none of these, ended by the server closing
  the connection, can hide a truncation: without ``sha256`` such a download is placed with a
  warning saying so;
- with ``sha256`` given, the complete file's digest must match; on a mismatch after a resumed
  transfer the file is fetched once more from scratch (a resume may have stitched two versions);
  a mismatch on a fresh transfer raises :class:`ChecksumError` naming the URL, the file, the
  expected and the actual hash, and removes the partial file;
- an existing ``dest`` whose size and digest match (those given) is kept without any request; one
  that does not match is downloaded again.

Client errors (404, 403, ...) are not retried: they raise :class:`DownloadError` at once.
Messages name ``<dest>.part`` only while it exists.
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
    size: int | None = None,
    retries: int = 5,
    backoff: float = 2.0,
    timeout: float = 60.0,
    progress: bool = True,
    chunk_size: int = CHUNK_SIZE,
) -> Path:
    """Download ``url`` to ``dest`` (guarantees in the module docstring); return ``dest``.

    ``sha256``: expected hex digest; ``size``: expected length in bytes (both optional);
    ``timeout``: seconds without data before a transfer counts as stalled.
    """
    dest = Path(dest)
    expected = sha256.lower() if sha256 else None
    if dest.is_file():
        problem = _mismatch(dest, expected, size)
        if problem is None:
            log.info("%s: present, not downloaded again", dest)
            return dest
        log.warning("%s: present but %s; downloading it again", dest, problem)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = part_path(dest)
    fresh_retry_done = False
    attempt = 0
    while True:
        resumed = _size_of(part) > 0
        try:
            framed = _transfer(
                url,
                part,
                dest,
                size=size,
                timeout=timeout,
                progress=progress,
                chunk_size=chunk_size,
            )
        except _Interrupted as exc:
            kept = _size_of(part)
            if kept == 0:
                part.unlink(missing_ok=True)
            if attempt >= retries:
                if kept:
                    advice = (
                        f"The partial file {part} ({kept:,} bytes) is kept; run the same command "
                        f"again to resume."
                    )
                else:
                    advice = "No bytes were kept; run the same command again to retry."
                raise DownloadError(
                    f"download of {url} failed after {retries + 1} attempt(s): {exc}. {advice}"
                ) from None
            wait = backoff * 2**attempt
            attempt += 1
            log.warning(
                "%s; %s (retry %d of %d) in %.1f s",
                exc,
                f"resuming from {kept:,}" if kept else "retrying from the start",
                attempt,
                retries,
                wait,
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
        elif not framed:
            log.warning(
                "download of %s: no length or sha256 to verify %s against; a truncated transfer "
                "cannot be detected",
                url,
                dest,
            )
        with open(part, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(part, dest)
        return dest


def _size_of(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _mismatch(path: Path, sha256: str | None, size: int | None) -> str | None:
    """Why the present file ``path`` is not the expected one (None: it is, as far as known)."""
    if size is not None and path.stat().st_size != size:
        return f"its size {path.stat().st_size:,} differs from the expected {size:,} bytes"
    if sha256 is not None and sha256_file(path) != sha256:
        return f"its sha256 differs from {sha256}"
    return None


def _bytes(received: int, total: int | None) -> str:
    return f"{received:,} of {total:,} bytes" if total is not None else f"{received:,} bytes"


def _transfer(
    url: str,
    part: Path,
    dest: Path,
    *,
    size: int | None,
    timeout: float,
    progress: bool,
    chunk_size: int,
) -> bool:
    """Fetch the rest of ``url`` into ``part`` (resuming); raise ``_Interrupted`` if retryable.

    Returns whether the end of the body was verifiable (a known length, or chunked encoding).
    """
    offset = _size_of(part)
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
            total = size if total is None else total
            if total is not None and total == offset:
                return True
            part.unlink()
            raise _Interrupted(f"{url}: server refused resuming at byte {offset:,}") from None
        if exc.code >= 500 or exc.code in (408, 429):
            raise _Interrupted(f"{url}: HTTP {exc.code} {exc.reason}") from None
        raise DownloadError(
            f"cannot download {url}: HTTP {exc.code} {exc.reason}. Check the URL "
            f"(config) and that the file is publicly available."
        ) from None
    except TimeoutError:
        raise _Interrupted(f"connection to {url} stalled before the response") from None
    except (OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", None) or exc
        if isinstance(reason, TimeoutError):
            raise _Interrupted(f"connection to {url} timed out") from None
        raise _Interrupted(f"{url}: connection failed ({reason})") from None
    with response:
        length = response.headers.get("Content-Length")
        length = int(length) if length is not None else None
        if response.status == 206:
            match = _CONTENT_RANGE.match(response.headers.get("Content-Range") or "")
            if match is None or int(match.group(1)) != offset:
                part.unlink(missing_ok=True)
                where = f"byte {int(match.group(1)):,}" if match else "an unknown byte"
                raise _Interrupted(f"{url}: server resumed at {where}, expected {offset:,}")
            mode = "ab"
            announced = int(match.group(3)) if match.group(3) != "*" else None
            body_end = int(match.group(2)) + 1
        else:
            offset, mode = 0, "wb"
            announced = length
            body_end = None
        if size is not None and announced is not None and announced != size:
            raise DownloadError(
                f"{url} has {announced:,} bytes but {size:,} are expected for {dest}. Check that "
                f"the URL points at the intended file version (or update the expected size if "
                f"the source changed on purpose)."
            )
        total = next((n for n in (announced, size, body_end) if n is not None), None)
        framed = total is not None or bool(response.chunked)
        received = offset
        bar = tqdm(
            total=total,
            initial=offset,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=dest.name,
            disable=not progress,
            leave=False,
        )
        try:
            with open(part, mode) as fh:
                while True:
                    # read1: whatever has arrived (one system call at most), so that no
                    # received byte is lost when the next read fails
                    try:
                        block = response.read1(chunk_size)
                    except TimeoutError:
                        raise _Interrupted(
                            f"connection to {url} stalled after {_bytes(received, total)}"
                        ) from None
                    except http.client.IncompleteRead:
                        raise _Interrupted(
                            f"connection to {url} closed after {_bytes(received, total)} "
                            f"(incomplete chunked body)"
                        ) from None
                    except (OSError, http.client.HTTPException) as exc:
                        raise _Interrupted(
                            f"connection to {url} lost after {_bytes(received, total)} "
                            f"({type(exc).__name__})"
                        ) from None
                    if not block:
                        break
                    fh.write(block)
                    received += len(block)
                    bar.update(len(block))
        finally:
            bar.close()
    if total is not None and received < total:
        raise _Interrupted(f"connection to {url} closed after {_bytes(received, total)}")
    if total is not None and received > total:
        part.unlink()
        raise _Interrupted(f"{url} sent {received:,} bytes, more than the expected {total:,}")
    return framed


def _total_from_content_range(value: str | None) -> int | None:
    match = re.match(r"bytes \*/(\d+)", value or "")
    return int(match.group(1)) if match else None


def write_sha256_sidecar(path: str | os.PathLike) -> str:
    """Record the sha256 of ``path`` in ``<path>.sha256`` (``<hex>  <name>``); return the hex."""
    path = Path(path)
    digest = sha256_file(path)
    io.write_text(path.with_name(path.name + ".sha256"), f"{digest}  {path.name}\n")
    return digest
