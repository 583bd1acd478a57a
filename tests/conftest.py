"""Fixtures shared by the tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.httpserver import FileServer
from tests.workflow.workspace import SMOKE, copy_project, snakemake


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


@pytest.fixture(scope="session")
def finished_smoke(tmp_path_factory) -> Path:
    """The smoke study run once to the end in a copy of the repository (do not modify it)."""
    work = copy_project(tmp_path_factory.mktemp("smoke") / "cliptail")
    snakemake(work, *SMOKE)
    return work


@pytest.fixture
def workspace(finished_smoke, tmp_path) -> Path:
    """A private copy of the finished smoke workspace, free to change."""
    dest = tmp_path / "cliptail"
    shutil.copytree(finished_smoke, dest, symlinks=True)
    return dest
