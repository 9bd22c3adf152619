"""gunicorn as the Procfile's web process runs it (gunicorn.conf.py: its worker class, its logs), on a free
loopback port, for the tests that need the real server rather than Flask's test client."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from app.config import ROOT
from tests.s3server import free_port

GUNICORN = Path(sys.executable).parent / "gunicorn"
_START_TIMEOUT_S = 120.0


@dataclass
class WebServer:
    port: int
    process: subprocess.Popen
    stderr: str = ""  # gunicorn's and the app's log lines, once the server has stopped


@contextmanager
def web_server(data_dir: Path, **env: str) -> Iterator[WebServer]:
    """gunicorn serving `create_app()` from the repository root once it listens; stopped with SIGTERM after."""
    port = free_port()
    environment = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "DIGITDRAW_DATA_DIR": str(data_dir),
                   "DIGITDRAW_CHECK_RESPONSES": "true", **env}
    process = subprocess.Popen([str(GUNICORN), "app:create_app()"], cwd=ROOT, env=environment,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    server = WebServer(port, process)
    try:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while True:
            assert process.poll() is None, "gunicorn exited at start"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=30).close()
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline, "gunicorn did not listen within 2 minutes"
                time.sleep(0.2)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        _, server.stderr = process.communicate(timeout=60)
