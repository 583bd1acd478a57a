"""Fixtures shared by the unit tests."""

from __future__ import annotations

import pytest

from tests.httpserver import FileServer


@pytest.fixture
def http_server():
    """Factory: ``http_server(directory)`` serves it on 127.0.0.1 (Range support, fault injection)."""
    servers: list[FileServer] = []

    def start(root) -> FileServer:
        server = FileServer(root)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()
