"""A real PostgreSQL server for the tests: Debian's binaries (scripts/test installs `postgresql`) in a temp dir.

Started once per session on 127.0.0.1 with a free port and its own socket dir, fsync off (a crash only
loses test data), stopped with `pg_ctl stop -m fast`. initdb refuses to run as root, so as root the
binaries run as the `postgres` system user. tests/conftest.py imports the fixtures.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.s3server import free_port


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _run(*argv: str) -> None:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run([*prefix, *argv], check=True, capture_output=True, text=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The server's superuser URL (postgresql://postgres@127.0.0.1:<port>/postgres)."""
    bin_dir = _binaries()
    if bin_dir is None:
        pytest.skip("PostgreSQL binaries missing (scripts/test installs the postgresql package)")
    root = Path(tempfile.mkdtemp(prefix="digitdraw-pg-"))  # straight under /tmp: the postgres user can reach it
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    port = free_port()
    try:
        _run(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
        _run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-t", "30", "start",
             "-o", f"-h 127.0.0.1 -p {port} -k {sockets} -F")
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            _run(str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "stop", "-m", "fast")
    except subprocess.CalledProcessError as error:
        log = root / "log"
        pytest.fail(f"PostgreSQL did not start: {error.stderr}\n{log.read_text() if log.exists() else ''}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_database(pg_server: str) -> Iterator[str]:
    """A fresh empty database per test (URL), dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield pg_server.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
