"""app/web/insight_openapi.py: merged into the OpenAPI document it is valid, describes every insight route,
and the app keeps to it under schemathesis (the same checks tests/test_openapi.py runs on the rest)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis import checks

from app import create_app
from app.config import ROOT
from app.offline import pendigits
from app.web import insight
from app.web.insight_openapi import ERROR_CODES, merge
from app.web.openapi import spec
from tests.conftest import UNLIMITED

TOKEN = "insight-openapi-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
INSIGHT = r"^/api/(stats|samples|internals|architecture)"


@pytest.fixture(scope="module")
def fuzzed_app(tmp_path_factory: pytest.TempPathFactory, pen_digits) -> Iterator[Flask]:
    """Learning off (fast); a few samples, shared and not, so the listings have items to describe."""
    data_dir = tmp_path_factory.mktemp("insight-openapi")
    app = create_app({"TESTING": True, "MODEL_DIR": ROOT / "models", "DATA_DIR": data_dir,
                      "MNIST_DIR": data_dir / "none", "ADMIN_TOKEN": TOKEN, "RATE_LIMIT": UNLIMITED})
    client = app.test_client()
    for i, (digit, image) in enumerate(pendigits.canvas_drawings(pendigits.held_out(pen_digits)[:4])):
        reply = client.post("/api/correct", json={"image": pendigits.data_url(image), "label": digit.label,
                                                  "predicted": (digit.label + i) % 10, "consent": i != 1,
                                                  "strokes": [[[0.2, 0.2, 0], [0.5, 0.8, 120]]]})
        assert reply.status_code == 200
    yield app


def test_merged_document_is_valid_openapi():
    document = merge(spec())
    validate(document)
    assert merge(merge(spec())) == document  # idempotent, so it may be merged in spec() itself
    enum = document["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
    assert set(ERROR_CODES) <= set(enum)


def test_every_insight_route_is_described(fuzzed_app):
    described = {(path, method.upper()) for path, item in merge(spec())["paths"].items() for method in item
                 if re.match(INSIGHT, path)}
    routed = {(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method)
              for rule in fuzzed_app.url_map.iter_rules() if rule.endpoint.startswith(f"{insight.bp.name}.")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routed == described



schema = schemathesis.openapi.from_dict(merge(spec())).include(path_regex=INSIGHT)


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
def test_insight_api_keeps_to_its_openapi_description(case, fuzzed_app):
    case.operation.app = case.operation.schema.app = fuzzed_app
    case.call_and_validate(
        headers=AUTH if case.method.upper() == "DELETE" else None,
        # a schema-valid `image` string is almost never a decodable PNG, so a 4xx there is right, not a bug
        excluded_checks=[checks.positive_data_acceptance] if case.operation.path == "/api/internals" else None,
    )
