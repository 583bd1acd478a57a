"""cliptail.data.download against a local HTTP server: resume, retries, checksums, atomic placement."""

from __future__ import annotations

import hashlib
import os

import pytest

from cliptail.data.download import (
    ChecksumError,
    DownloadError,
    download,
    part_path,
    sha256_file,
    write_sha256_sidecar,
)
from tests.httpserver import Fault

PAYLOAD = os.urandom(3 * 65536 + 123)
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()
FAST = {"backoff": 0.0, "progress": False, "chunk_size": 4096}


@pytest.fixture
def served(tmp_path, http_server):
    root = tmp_path / "srv"
    root.mkdir()
    (root / "data.bin").write_bytes(PAYLOAD)
    return http_server(root)


def test_sha256_file_known_answer(tmp_path):
    path = tmp_path / "abc"
    path.write_bytes(b"abc")
    assert sha256_file(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_plain_download_is_verified_and_placed(served, tmp_path):
    dest = tmp_path / "out" / "data.bin"
    assert download(served.url("data.bin"), dest, DIGEST, **FAST) == dest
    assert dest.read_bytes() == PAYLOAD
    assert not part_path(dest).exists()
    assert served.requests_for("data.bin") == [None]


def test_dropped_connection_resumes_with_range(served, tmp_path):
    served.add_fault("data.bin", Fault(drop_after=70000))
    dest = tmp_path / "data.bin"
    download(served.url("data.bin"), dest, DIGEST, retries=2, **FAST)
    assert dest.read_bytes() == PAYLOAD
    assert served.requests_for("data.bin") == [None, "bytes=70000-"]


def test_repeated_drops_resume_each_time(served, tmp_path):
    served.add_fault("data.bin", Fault(drop_after=50000, times=3))
    dest = tmp_path / "data.bin"
    download(served.url("data.bin"), dest, DIGEST, retries=3, **FAST)
    assert dest.read_bytes() == PAYLOAD
    assert served.requests_for("data.bin") == [
        None,
        "bytes=50000-",
        "bytes=100000-",
        "bytes=150000-",
    ]


def test_exhausted_retries_keep_partial_for_a_later_resume(served, tmp_path):
    served.add_fault("data.bin", Fault(drop_after=60000, times=2))
    dest = tmp_path / "data.bin"
    with pytest.raises(DownloadError, match="partial file .* is kept"):
        download(served.url("data.bin"), dest, DIGEST, retries=1, **FAST)
    assert not dest.exists()  # never looks complete
    assert part_path(dest).stat().st_size == 120000
    download(served.url("data.bin"), dest, DIGEST, retries=0, **FAST)
    assert dest.read_bytes() == PAYLOAD
    assert served.requests_for("data.bin")[-1] == "bytes=120000-"


def test_truncated_body_without_checksum_is_not_placed(served, tmp_path):
    served.add_fault("data.bin", Fault(drop_after=1000))
    dest = tmp_path / "data.bin"
    with pytest.raises(DownloadError, match="1,000 of"):
        download(served.url("data.bin"), dest, None, retries=0, **FAST)
    assert not dest.exists()


def test_wrong_bytes_fail_with_file_and_expected_hash(served, tmp_path):
    served.add_fault("data.bin", Fault(corrupt=True, times=10))
    dest = tmp_path / "data.bin"
    with pytest.raises(ChecksumError) as err:
        download(served.url("data.bin"), dest, DIGEST, **FAST)
    message = str(err.value)
    assert str(dest) in message and DIGEST in message
    actual = hashlib.sha256(bytes([PAYLOAD[0] ^ 0xFF]) + PAYLOAD[1:]).hexdigest()
    assert actual in message
    assert not dest.exists() and not part_path(dest).exists()
    assert len(served.requests_for("data.bin")) == 1  # a fresh transfer is not repeated


def test_stale_partial_file_is_detected_and_refetched(served, tmp_path):
    dest = tmp_path / "data.bin"
    part_path(dest).write_bytes(b"\0" * 9000)  # bytes of some other version
    download(served.url("data.bin"), dest, DIGEST, **FAST)
    assert dest.read_bytes() == PAYLOAD
    assert served.requests_for("data.bin") == ["bytes=9000-", None]


def test_server_ignoring_range_restarts_from_zero(served, tmp_path):
    dest = tmp_path / "data.bin"
    part_path(dest).write_bytes(PAYLOAD[:5000])
    served.add_fault("data.bin", Fault(ignore_range=True))
    download(served.url("data.bin"), dest, DIGEST, **FAST)
    assert dest.read_bytes() == PAYLOAD


def test_complete_partial_file_answered_416_is_finished(served, tmp_path):
    dest = tmp_path / "data.bin"
    part_path(dest).write_bytes(PAYLOAD)
    download(served.url("data.bin"), dest, DIGEST, **FAST)
    assert dest.read_bytes() == PAYLOAD
    assert served.requests_for("data.bin") == [f"bytes={len(PAYLOAD)}-"]


def test_server_errors_are_retried(served, tmp_path):
    served.add_fault("data.bin", Fault(status=503, times=2))
    dest = tmp_path / "data.bin"
    download(served.url("data.bin"), dest, DIGEST, retries=2, **FAST)
    assert dest.read_bytes() == PAYLOAD
    assert len(served.requests_for("data.bin")) == 3


def test_missing_file_fails_at_once(served, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404"):
        download(served.url("nope.bin"), tmp_path / "nope.bin", None, retries=5, **FAST)
    assert len(served.requests_for("nope.bin")) == 1
    assert not (tmp_path / "nope.bin").exists()


def test_unreachable_server_is_reported(tmp_path):
    with pytest.raises(DownloadError, match="connection failed"):
        download(
            "http://127.0.0.1:9/none",
            tmp_path / "x",
            None,
            retries=1,
            backoff=0,
            progress=False,
            timeout=2,
        )


def test_existing_good_file_is_kept_and_bad_one_replaced(served, tmp_path):
    dest = tmp_path / "data.bin"
    dest.write_bytes(PAYLOAD)
    download(served.url("data.bin"), dest, DIGEST, **FAST)
    assert served.requests_for("data.bin") == []
    dest.write_bytes(b"old version")
    download(served.url("data.bin"), dest, DIGEST, **FAST)
    assert dest.read_bytes() == PAYLOAD
    assert served.requests_for("data.bin") == [None]


def test_progress_bar_is_shown(served, tmp_path, capsys):
    download(served.url("data.bin"), tmp_path / "data.bin", DIGEST, backoff=0, progress=True)
    err = capsys.readouterr().err
    assert "data.bin" in err and "B/s" in err


def test_sha256_sidecar(tmp_path):
    path = tmp_path / "a.zip"
    path.write_bytes(PAYLOAD)
    assert write_sha256_sidecar(path) == DIGEST
    assert (tmp_path / "a.zip.sha256").read_text() == f"{DIGEST}  a.zip\n"
