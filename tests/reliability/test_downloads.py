"""Download faults that used to pass unnoticed or be misreported: truncated bodies without a
length, incomplete chunked bodies, stalled transfers, and messages naming a missing ``.part``."""

from __future__ import annotations

import hashlib
import logging
import os
import runpy
import types
from pathlib import Path

import pytest

from cliptail.data.download import ChecksumError, DownloadError, download, part_path
from tests.httpserver import Fault

REPO = Path(__file__).resolve().parents[2]
PAYLOAD = os.urandom(3 * 65536 + 4321)
SIZE = len(PAYLOAD)
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()
BIG = os.urandom(4 * 1024 * 1024)  # 4,194,304 bytes
FAST = {"backoff": 0.0, "progress": False, "chunk_size": 4096}
UNVERIFIABLE = (
    "no length or sha256 to verify {dest} against; a truncated transfer cannot be detected"
)


@pytest.fixture
def served(tmp_path, http_server):
    root = tmp_path / "srv"
    root.mkdir()
    (root / "data.bin").write_bytes(PAYLOAD)
    (root / "big.bin").write_bytes(BIG)
    return http_server(root)


@pytest.fixture
def warnings(caplog):
    caplog.set_level(logging.WARNING, logger="cliptail.data.download")
    return caplog


# --- 1. truncation without a checksum ----------------------------------------------------------


def test_body_without_length_cut_short_resumes_when_a_size_is_given(served, tmp_path, warnings):
    """Fault: no Content-Length, connection closed after 70,000 bytes; the caller knows the size."""
    served.add_fault("data.bin", Fault(no_length=True, drop_after=70_000))
    url, dest = served.url("data.bin"), tmp_path / "data.bin"
    download(url, dest, None, size=SIZE, retries=2, **FAST)
    assert dest.read_bytes() == PAYLOAD
    assert served.requests_for("data.bin") == [None, "bytes=70000-"]
    assert (
        f"connection to {url} closed after 70,000 of {SIZE:,} bytes; resuming from 70,000 "
        f"(retry 1 of 2) in 0.0 s" in warnings.messages
    )
    assert not any("truncated transfer" in m for m in warnings.messages)


def test_body_without_length_cut_short_fails_when_retries_run_out(served, tmp_path):
    """Fault: no Content-Length, connection closed early, no retry left: an error, no file."""
    served.add_fault("data.bin", Fault(no_length=True, drop_after=70_000))
    url, dest = served.url("data.bin"), tmp_path / "data.bin"
    with pytest.raises(DownloadError) as err:
        download(url, dest, None, size=SIZE, retries=0, **FAST)
    assert str(err.value) == (
        f"download of {url} failed after 1 attempt(s): connection to {url} closed after 70,000 "
        f"of {SIZE:,} bytes. The partial file {part_path(dest)} (70,000 bytes) is kept; run the "
        f"same command again to resume."
    )
    assert not dest.exists() and part_path(dest).stat().st_size == 70_000


def test_resumed_body_without_length_is_checked_against_the_content_range_total(
    served, tmp_path, warnings
):
    """Fault: a 206 answer without Content-Length cut short; its Content-Range total tells."""
    dest = tmp_path / "data.bin"
    part_path(dest).write_bytes(PAYLOAD[:50_000])
    served.add_fault("data.bin", Fault(no_length=True, drop_after=30_000))
    url = served.url("data.bin")
    download(url, dest, None, retries=1, **FAST)
    assert dest.read_bytes() == PAYLOAD
    assert served.requests_for("data.bin") == ["bytes=50000-", "bytes=80000-"]
    assert (
        f"connection to {url} closed after 80,000 of {SIZE:,} bytes; resuming from 80,000 "
        f"(retry 1 of 1) in 0.0 s" in warnings.messages
    )


def test_announced_length_other_than_the_expected_size_fails_at_once(served, tmp_path):
    """Fault: the server's file is not the size the registry pins (another version)."""
    url, dest = served.url("data.bin"), tmp_path / "data.bin"
    with pytest.raises(DownloadError) as err:
        download(url, dest, None, size=SIZE + 1, retries=3, **FAST)
    assert str(err.value).startswith(
        f"{url} has {SIZE:,} bytes but {SIZE + 1:,} are expected for {dest}. Check that the URL"
    )
    assert served.requests_for("data.bin") == [None]
    assert not dest.exists() and not part_path(dest).exists()


def test_present_file_of_the_wrong_size_is_downloaded_again(served, tmp_path, warnings):
    """Fault: a file left at the destination with the wrong length and no checksum to tell."""
    dest = tmp_path / "data.bin"
    dest.write_bytes(PAYLOAD[:1000])
    download(served.url("data.bin"), dest, None, size=SIZE, **FAST)
    assert dest.read_bytes() == PAYLOAD
    assert (
        f"{dest}: present but its size 1,000 differs from the expected {SIZE:,} bytes; "
        "downloading it again" in warnings.messages
    )


def test_chunked_body_cut_mid_chunk_is_retried(served, tmp_path, warnings):
    """Fault: chunked transfer encoding, connection closed in the middle of the second chunk."""
    served.add_fault("data.bin", Fault(chunked=True, drop_after=100_000))
    url, dest = served.url("data.bin"), tmp_path / "data.bin"
    download(url, dest, None, retries=1, **FAST)
    assert dest.read_bytes() == PAYLOAD
    assert served.requests_for("data.bin") == [None, "bytes=100000-"]
    assert (
        f"connection to {url} closed after 100,000 bytes (incomplete chunked body); resuming "
        f"from 100,000 (retry 1 of 1) in 0.0 s" in warnings.messages
    )


def test_complete_chunked_body_is_placed_without_a_warning(served, tmp_path, warnings):
    """Fault-free chunked encoding: its end is signalled, so nothing is left unverifiable."""
    served.add_fault("data.bin", Fault(chunked=True))
    dest = tmp_path / "data.bin"
    download(served.url("data.bin"), dest, None, **FAST)
    assert dest.read_bytes() == PAYLOAD
    assert warnings.messages == []


def test_body_without_length_or_checksum_warns_that_truncation_is_undetectable(
    served, tmp_path, warnings
):
    """Fault: no Content-Length, closed after 70,000 bytes, and no size or sha256 to check."""
    served.add_fault("data.bin", Fault(no_length=True, drop_after=70_000))
    url, dest = served.url("data.bin"), tmp_path / "data.bin"
    download(url, dest, None, **FAST)
    records = [r for r in warnings.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in records] == [
        f"download of {url}: " + UNVERIFIABLE.format(dest=dest)
    ]


# --- 2. stalled transfers ------------------------------------------------------------------------


@pytest.mark.parametrize("sent", [1_048_576, 1_000_003])
def test_stalled_transfer_resumes_from_the_bytes_received(served, tmp_path, warnings, capsys, sent):
    """Fault: the server sends ``sent`` bytes then nothing for longer than the client timeout."""
    served.add_fault("big.bin", Fault(stall_after=sent, stall_seconds=10))
    url, dest = served.url("big.bin"), tmp_path / "big.bin"
    download(url, dest, None, retries=5, backoff=0.0, timeout=0.5, progress=True)
    assert dest.read_bytes() == BIG
    assert served.requests_for("big.bin") == [None, f"bytes={sent}-"]
    assert (
        f"connection to {url} stalled after {sent:,} of 4,194,304 bytes; resuming from {sent:,} "
        f"(retry 1 of 5) in 0.0 s" in warnings.messages
    )
    if sent == 1_048_576:
        assert "1.00M/4.00M" in capsys.readouterr().err  # the resumed bar starts at 1 MiB


# --- 3. messages name only a .part file that exists ---------------------------------------------


def test_checksum_mismatch_names_no_missing_partial_file(served, tmp_path):
    """Fault: wrong bytes (sha256 mismatch); the partial file is removed and not mentioned."""
    served.add_fault("data.bin", Fault(corrupt=True))
    dest = tmp_path / "data.bin"
    with pytest.raises(ChecksumError) as err:
        download(served.url("data.bin"), dest, DIGEST, **FAST)
    message = str(err.value)
    assert "The download was discarded." in message
    assert ".part" not in message and not part_path(dest).exists()


def test_client_error_before_any_byte_names_no_partial_file(served, tmp_path):
    """Fault: HTTP 404 on the first request; nothing was written, nothing is mentioned."""
    url, dest = served.url("missing.bin"), tmp_path / "missing.bin"
    with pytest.raises(DownloadError) as err:
        download(url, dest, None, **FAST)
    assert str(err.value) == (
        f"cannot download {url}: HTTP 404 not found. Check the URL (config) and that the file "
        f"is publicly available."
    )
    assert not part_path(dest).exists()


def test_retries_exhausted_without_a_byte_name_no_partial_file(served, tmp_path):
    """Fault: HTTP 503 on every attempt; no partial file exists, so none is named."""
    served.add_fault("data.bin", Fault(status=503, times=2))
    url, dest = served.url("data.bin"), tmp_path / "data.bin"
    with pytest.raises(DownloadError) as err:
        download(url, dest, None, retries=1, **FAST)
    assert str(err.value) == (
        f"download of {url} failed after 2 attempt(s): {url}: HTTP 503 Service Unavailable. "
        f"No bytes were kept; run the same command again to retry."
    )
    assert not part_path(dest).exists()


def test_partial_file_removed_on_a_bad_resume_is_not_named(served, tmp_path):
    """Fault: the server ignores the range (the partial file restarts) and drops at byte 0."""
    dest = tmp_path / "data.bin"
    part_path(dest).write_bytes(PAYLOAD[:5000])
    served.add_fault("data.bin", Fault(ignore_range=True, drop_after=0))
    url = served.url("data.bin")
    with pytest.raises(DownloadError) as err:
        download(url, dest, None, retries=0, **FAST)
    assert ".part" not in str(err.value) and "No bytes were kept" in str(err.value)
    assert not part_path(dest).exists()


# --- the workflow script passes the registry's size and sha256 on ------------------------------


class _Params(types.SimpleNamespace):
    def get(self, key, default=None):
        return getattr(self, key, default)


def test_workflow_script_passes_the_size_on(served, tmp_path):
    """Fault: no Content-Length and a truncated body; the rule's ``size`` param catches it."""
    served.add_fault("data.bin", Fault(no_length=True, drop_after=70_000))
    dest, log = tmp_path / "data.bin", tmp_path / "download.log"
    smk = types.SimpleNamespace(
        params=_Params(
            url=served.url("data.bin"),
            sha256=DIGEST,
            size=SIZE,
            download={"retries": 1, "backoff": 0.0, "progress": False},
        ),
        output=[str(dest)],
        log=[str(log)],
    )
    runpy.run_path(str(REPO / "workflow/scripts/download.py"), init_globals={"snakemake": smk})
    assert dest.read_bytes() == PAYLOAD
    assert served.requests_for("data.bin") == [None, "bytes=70000-"]
    text = log.read_text()
    assert f"closed after 70,000 of {SIZE:,} bytes; resuming from 70,000" in text
    assert f"{dest}: sha256 verified" in text
