"""A real moto S3 server in a subprocess, so S3 code is tested over HTTP exactly as it talks to AWS.

In-process mocks patch botocore itself and would hide timeouts, retries and header handling; a server does not.
tests/conftest.py imports the fixtures, so every test module can use them.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from typing import IO, Any

import pytest

from app.samples.s3 import make_s3_client

BUCKET = "digitdraw-test"
_START_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def moto_client(endpoint: str) -> Any:
    """The app's own fail-fast client, pointed at the server with dummy credentials."""
    return make_s3_client(
        endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"GET /moto-api/data.json HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            return sock.recv(12).startswith(b"HTTP/1.")
    except OSError:
        return False


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """Start `moto_server` (the entry point is moto.server:main) once per session; stop it at the end."""
    port = free_port()
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_answering(proc, port, log)
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_until_answering(proc: subprocess.Popen[bytes], port: int, log: IO[bytes]) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while not _answers(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            log.seek(0)
            pytest.fail(f"moto server did not start on port {port}:\n{log.read().decode(errors='replace')}")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def s3_client(moto_endpoint: str) -> Any:
    client = moto_client(moto_endpoint)
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def s3_prefix() -> str:
    """A fresh prefix per test keeps tests independent without a bucket each."""
    return f"test-{uuid.uuid4().hex}"


class FlakyProxy:
    """A TCP relay in front of the S3 server that can be switched off: an outage without losing S3's state.

    While down it refuses to relay (new connections are closed at once, open ones are cut), which is
    what a client sees when S3 or the network between goes away.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.up = True
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._open: set[socket.socket] = set()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def down(self) -> None:
        self.up = False
        for sock in list(self._open):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _accept(self) -> None:
        while True:
            client, _ = self._server.accept()
            if not self.up:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError:  # the S3 server itself is gone (its fixture ended first): the client sees a refusal
                client.close()
                continue
            self._open |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while self.up and (chunk := source.recv(65536)):
                sink.sendall(chunk)
        for sock in (source, sink):
            self._open.discard(sock)
            with contextlib.suppress(OSError):
                sock.close()
