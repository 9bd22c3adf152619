"""Shared fixtures: the app on the committed weights, and real drawn digits from pendigits."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.config import ROOT
from app.offline import pendigits
from tests.pgserver import pg_database, pg_server  # noqa: F401  (shared PostgreSQL server fixtures)
from tests.redisserver import redis_url  # noqa: F401  (a shared Redis server fixture)
from tests.s3server import moto_endpoint, s3_client, s3_prefix  # noqa: F401  (shared S3 server fixtures)

SHARED = ROOT.parent / "shared"
UNLIMITED = "1000000/minute"  # tests replay thousands of drawings from one address

MakeApp = Callable[..., Flask]


@pytest.fixture(scope="session")
def make_app(tmp_path_factory: pytest.TempPathFactory) -> MakeApp:
    """`make_app(**config)`: an app on the committed weights with a fresh data folder (unless DATA_DIR is
    given) and no rate limit; other settings (LEARNING, ADMIN_TOKEN, …) by upper-case name, as create_app.

    Session-scoped, so that session and module fixtures can build their apps with it too.
    """

    def make(**config: Any) -> Flask:
        if "DATA_DIR" not in config:
            config["DATA_DIR"] = tmp_path_factory.mktemp("var")
        return create_app({"TESTING": True, "MODEL_DIR": ROOT / "models", "RATE_LIMIT": UNLIMITED,
                           "INSIGHT_RATE_LIMIT": UNLIMITED, "LEARN_WAIT_SECONDS": 60,
                           "LEARNING": False, "CHECK_RESPONSES": True, **config})

    return make


@pytest.fixture(scope="session")
def app(make_app: MakeApp) -> Flask:
    return make_app()


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="session")
def pen_digits() -> list[pendigits.PenDigit]:
    return pendigits.parse(SHARED / "pendigits" / "pendigits-orig.tra")


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    return SHARED / "mnist"
