# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the host read's tests."""

import os
import shutil
import tempfile

import pytest
from docker_api import Server


@pytest.fixture
def serve():
    """serve(handle) -> a Server on a socket in a short temporary directory (AF_UNIX paths
    have 107 bytes at most)."""
    directory = tempfile.mkdtemp(prefix="pg-", dir="/tmp" if os.path.isdir("/tmp") else None)
    servers = []

    def start(handle, name="docker.sock"):
        server = Server(os.path.join(directory, name), handle)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()
    shutil.rmtree(directory)
