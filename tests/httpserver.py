"""A local HTTP file server for download tests: serves a directory on 127.0.0.1.

It answers ``Range: bytes=a-b`` requests with ``206 Partial Content`` (so resume can be tested)
and can inject faults per path, a fixed number of times:

- ``drop_after=N``: announce the full length, send N bytes, then close the connection;
- ``corrupt=True``: flip one byte of the body (length unchanged);
- ``status=503``: answer with that HTTP status and no body;
- ``ignore_range=True``: answer a range request with the whole file and status 200;
- ``no_length=True``: send no Content-Length (HTTP/1.1, the body ends when the connection closes;
  with ``drop_after=N`` it closes after N bytes);
- ``chunked=True``: send the body with chunked transfer encoding (with ``drop_after=N`` the
  connection closes after N bytes, mid-chunk, without the terminating chunk);
- ``stall_after=N``: send N bytes, then nothing for ``stall_seconds``, then close the connection.

Every request is recorded in ``server.requests`` as ``(path, range_header_or_None)``.
Use the ``http_server`` pytest fixture (tests/conftest.py): ``server = http_server(root)``.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import re
import threading
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")
_CHUNK = 65536  # chunk size of chunked responses


@dataclass
class Fault:
    """A misbehaviour applied to the next ``times`` requests of one path."""

    times: int = 1
    drop_after: int | None = None
    corrupt: bool = False
    status: int | None = None
    ignore_range: bool = False
    no_length: bool = False
    chunked: bool = False
    stall_after: int | None = None
    stall_seconds: float = 5.0


class _Handler(http.server.SimpleHTTPRequestHandler):
    server: _Server

    def log_message(self, format, *args):  # noqa: A002 - silence the access log
        pass

    def do_GET(self):  # noqa: N802 - http.server naming
        rel = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip("/")
        range_header = self.headers.get("Range")
        self.server.owner.requests.append((rel, range_header))
        fault = self.server.owner.take_fault(rel)
        path = Path(self.server.owner.root, rel)
        if fault is not None and fault.status is not None:
            self.send_response(fault.status)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if not path.is_file():
            self.send_error(404, "not found")
            return
        data = path.read_bytes()
        if fault is not None and fault.corrupt and data:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        start, end = 0, len(data) - 1
        match = _RANGE.match(range_header or "")
        partial = match is not None and not (fault is not None and fault.ignore_range)
        if partial:
            start = int(match.group(1))
            end = int(match.group(2)) if match.group(2) else len(data) - 1
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            end = min(end, len(data) - 1)
        body = data[start : end + 1]
        fault = fault or Fault(times=0)
        if fault.no_length or fault.chunked:
            self.protocol_version = "HTTP/1.1"
        self.send_response(206 if partial else 200)
        if partial:
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.send_header("Accept-Ranges", "bytes")
        if fault.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif not fault.no_length:
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "application/octet-stream")
        if fault.no_length or fault.chunked:
            self.send_header("Connection", "close")
        self.end_headers()
        limit = fault.drop_after if fault.drop_after is not None else fault.stall_after
        with contextlib.suppress(OSError):
            self._write_body(body, limit, fault.chunked)
            self.wfile.flush()
            if fault.stall_after is not None:
                self.server.owner.closing.wait(fault.stall_seconds)
        if limit is not None or fault.no_length or fault.chunked:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(2)

    def _write_body(self, body: bytes, limit: int | None, chunked: bool) -> None:
        """Send ``body`` (its first ``limit`` bytes only, when given), chunked if asked."""
        if not chunked:
            self.wfile.write(body if limit is None else body[:limit])
            return
        for at in range(0, len(body), _CHUNK):
            if limit is not None and at >= limit:
                return
            piece = body[at : at + _CHUNK]
            self.wfile.write(b"%x\r\n" % len(piece))
            if limit is not None and at + len(piece) > limit:
                self.wfile.write(piece[: limit - at])  # stop mid-chunk
                return
            self.wfile.write(piece + b"\r\n")
        if limit is None:
            self.wfile.write(b"0\r\n\r\n")


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    owner: FileServer


class FileServer:
    """Serve ``root`` on an ephemeral 127.0.0.1 port until :meth:`close`."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.requests: list[tuple[str, str | None]] = []
        self._faults: dict[str, Fault] = {}
        self._lock = threading.Lock()
        self.closing = threading.Event()  # ends stalls when the server closes
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def url(self, rel: str) -> str:
        return self.base_url + urllib.parse.quote(rel)

    def add_fault(self, rel: str, fault: Fault) -> None:
        with self._lock:
            self._faults[rel] = fault

    def take_fault(self, rel: str) -> Fault | None:
        with self._lock:
            fault = self._faults.get(rel)
            if fault is None or fault.times <= 0:
                return None
            fault.times -= 1
            return fault

    def requests_for(self, rel: str) -> list[str | None]:
        """Range headers of the requests made for ``rel`` (None = whole file)."""
        return [r for p, r in self.requests if p == rel]

    def close(self) -> None:
        self.closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
