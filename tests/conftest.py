"""Shared fixtures: the app on the committed weights, and real drawn digits from pendigits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.config import ROOT
from app.offline import pendigits
from tests.pgserver import pg_database, pg_server  # noqa: F401  (shared PostgreSQL server fixtures)
from tests.s3server import moto_endpoint, s3_client, s3_prefix  # noqa: F401  (shared S3 server fixtures)

SHARED = ROOT.parent / "shared"
UNLIMITED = "1000000/minute"  # tests replay thousands of drawings from one address


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    data_dir = tmp_path_factory.mktemp("var")
    yield create_app({"TESTING": True, "MODEL_DIR": ROOT / "models", "DATA_DIR": data_dir, "RATE_LIMIT": UNLIMITED})


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="session")
def pen_digits() -> list[pendigits.PenDigit]:
    return pendigits.parse(SHARED / "pendigits" / "pendigits-orig.tra")


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    return SHARED / "mnist"
