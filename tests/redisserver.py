"""A real redis-server (Debian's package) on loopback, for the rate limits' shared counters.

Started once per session in a temp dir, with nothing persisted; tests/conftest.py imports the fixture.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

import pytest

from tests.s3server import free_port

_START_TIMEOUT_S = 10.0


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(7) == b"+PONG\r\n"
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """`redis://127.0.0.1:<port>` of a server this session started; stopped at the end."""
    server = shutil.which("redis-server")
    assert server, "redis-server is not installed (scripts/test installs Debian's redis-server)"
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="redis-") as folder:
        proc = subprocess.Popen([server, "--bind", "127.0.0.1", "--port", str(port), "--dir", folder,
                                 "--save", "", "--appendonly", "no"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + _START_TIMEOUT_S
            while not _answers(port):
                assert proc.poll() is None and time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(timeout=10)
