"""A real PostgreSQL server for the tests: Debian's binaries (scripts/test installs `postgresql`) in a temp dir.

Started once per session on 127.0.0.1 with a free port and its own socket dir, fsync off (a crash only
loses test data), stopped with `pg_ctl stop -m fast`. initdb refuses to run as root, so as root the
binaries run as the `postgres` system user. tests/conftest.py imports the fixtures.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from bench.servers import postgres


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The server's superuser URL (postgresql://postgres@127.0.0.1:<port>/postgres), as bench/servers.py starts
    it; missing binaries fail the tests (scripts/test installs them), they never skip."""
    with postgres() as url:
        yield url


@pytest.fixture
def pg_database(pg_server: str) -> Iterator[str]:
    """A fresh empty database per test (URL), dropped afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield pg_server.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
