"""Real servers on loopback for the benchmarks: PostgreSQL, moto S3 and gunicorn, each a context manager.

A bench never imports tests/ (tests may change for their own reasons); what tests/pgserver.py and
tests/s3server.py do is repeated here in the few lines a measurement needs.
"""

from __future__ import annotations

import glob
import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the virtual environment's bin: gunicorn, flask


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not come up within {seconds:.0f} s")
        time.sleep(0.2)


def _answers(port: int, path: str) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", path)
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False


@contextmanager
def postgres() -> Iterator[str]:
    """A throw-away PostgreSQL (Debian's binaries) on 127.0.0.1; yields its superuser URL. fsync is off, as
    in the tests: only write timings would change, and this data is thrown away."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL binaries missing: apt-get install postgresql")
    bin_dir = Path(found[-1]).parent
    root = Path(tempfile.mkdtemp(prefix="digitdraw-bench-pg-"))  # under /tmp: the postgres user can reach it
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    as_root = os.geteuid() == 0  # initdb refuses root: run the binaries as the postgres system user
    if as_root:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []

    def run(*argv: str) -> None:
        subprocess.run([*prefix, *argv], check=True, capture_output=True, text=True)

    port = free_port()
    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-t", "30", "start",
            "-o", f"-h 127.0.0.1 -p {port} -k {sockets} -F")
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "stop", "-m", "fast")
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def moto() -> Iterator[str]:
    """`python -m moto.server` on a free port; yields its endpoint URL."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: _answers(port, "/moto-api/data.json"), 60, "moto server")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


@contextmanager
def gunicorn(env: dict[str, str], workers: int = 1) -> Iterator[int]:
    """`gunicorn 'app:create_app()'` from the checkout this file is in, with `env`; yields its port once
    /api/health answers."""
    port = free_port()
    command = [str(BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}", "--timeout", "120",
               "app:create_app()"]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: server.poll() is None and _answers(port, "/api/health"), 180, "gunicorn")
        yield port
    finally:
        server.terminate()
        server.wait(timeout=60)
