"""The OpenAPI document is valid, the app serves it, and the app keeps to it.

Property-based part: schemathesis generates requests from the served document (generated from
app/web/schemas.py by app/web/contract.py: its examples, boundary values
and random data, valid and invalid) for every operation and checks each answer: never a 5xx, a
documented status, the documented content type, headers and body schema, invalid data refused, valid
data not refused, unsupported methods answered 405, the admin token enforced. Seeded, so a run is
repeatable. Explicit part: answers fuzzing cannot reach (429, 503, admin disabled, every accepted image
format) are checked against the same document.
"""

from __future__ import annotations

import base64
import io
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from PIL import Image, ImageDraw
from schemathesis import checks

from app import create_app
from app.config import ROOT
from app.offline import nondigits, pendigits
from app.runtime import runtime
from app.web.schemas import ERROR_CODES, SEVEN_DATA_URL
from tests.conftest import UNLIMITED

TOKEN = "openapi-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
IMAGE_PATHS = ("/api/predict", "/api/correct", "/api/internals", "/api/read", "/api/read/correct")
# what every drawing operation accepts besides the image (each ignores the fields it does not take)
LABELS = {"label": 7, "number": "7"}
RESPONSE_CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


def _make_app(data_dir: Path, **config) -> Flask:
    app = create_app({"TESTING": True, "MODEL_DIR": ROOT / "models", "DATA_DIR": data_dir, "ADMIN_TOKEN": TOKEN,
                      "RATE_LIMIT": UNLIMITED, "INSIGHT_RATE_LIMIT": UNLIMITED, "CHECK_RESPONSES": True, **config})
    return app


@pytest.fixture(scope="module")
def fuzzed_app(tmp_path_factory: pytest.TempPathFactory, pen_digits) -> Iterator[Flask]:
    """A few samples, shared and not, so the insight listings have items to describe."""
    app = _make_app(tmp_path_factory.mktemp("openapi"))
    client = app.test_client()
    for i, (digit, image) in enumerate(pendigits.canvas_drawings(pendigits.held_out(pen_digits)[:4])):
        reply = client.post("/api/correct", json={"image": pendigits.data_url(image), "label": digit.label,
                                                  "predicted": (digit.label + i) % 10, "consent": i != 1,
                                                  "strokes": [[[0.2, 0.2, 0], [0.5, 0.8, 120]]]})
        assert reply.status_code == 200
    yield app


def _spec() -> dict:
    """The document as the app serves it (it does not depend on the app's settings)."""
    empty = Path(tempfile.mkdtemp(prefix="openapi-spec-"))
    app = _make_app(empty, MODEL_DIR=empty / "no-models")
    return app.test_client().get("/api/openapi.json").get_json()


SPEC = _spec()


@pytest.fixture(scope="module")
def bare_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """No trained weights, no admin token, two requests a minute: the answers a healthy app never gives."""
    yield _make_app(tmp_path_factory.mktemp("bare"), MODEL_DIR=tmp_path_factory.mktemp("no-models"),
                    ADMIN_TOKEN="", RATE_LIMIT="2/minute")


def test_spec_is_valid_openapi():
    validate(SPEC)
    assert SPEC["openapi"].startswith("3.1.")
    enum = SPEC["components"]["schemas"]["ErrorDetail"]["properties"]["code"]["enum"]
    assert set(enum) == set(ERROR_CODES)


def test_app_serves_the_spec(fuzzed_app):
    response = fuzzed_app.test_client().get("/api/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.get_json() == SPEC


def test_every_api_route_is_described(fuzzed_app):
    described = {(path, method.upper()) for path, item in SPEC["paths"].items() for method in item}
    routed = {(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method)
              for rule in fuzzed_app.url_map.iter_rules() if rule.rule.startswith("/api/")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routed == described


def test_every_error_status_lists_its_codes():
    """Each error answer of each operation names the codes it can carry (its own `Error` with a code enum)."""
    schemas = SPEC["components"]["schemas"]
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    ref = response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
                    detail = schemas[schemas[ref]["properties"]["error"]["$ref"].rsplit("/", 1)[1]]
                    code = detail["properties"]["code"]
                    listed = code.get("enum", [code.get("const")])
                    assert listed and set(listed) <= set(ERROR_CODES), (path, method, status)


# Loaded from a dict, not through the fuzzed app: schemathesis' fixture loader (schemathesis.pytest.from_fixture)
# breaks on pytest 9.2 (it sets Function._nodeid, which pytest no longer has). test_app_serves_the_spec checks
# that the fuzzed app serves this same document.
schema = schemathesis.openapi.from_dict(SPEC)


@schema.parametrize()
@settings(max_examples=50, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
def test_app_keeps_to_its_openapi_description(case, fuzzed_app):
    # Send through the app's WSGI interface: the case's own request reads `operation.app`, the checks' probes (e.g.
    # ignored_auth re-sending without the token) read `schema.app`, and neither is known when the schema is loaded.
    case.operation.app = case.operation.schema.app = fuzzed_app
    path = case.operation.path
    case.call_and_validate(
        headers=AUTH if path == "/api/models/rollback" or case.method.upper() == "DELETE" else None,
        # A schema-valid `image` string is almost never a decodable PNG, so a 4xx there is right, not a bug.
        excluded_checks=[checks.positive_data_acceptance] if path in IMAGE_PATHS else None,
    )


def _conforms(response, path: str, method: str = "POST", status: int | None = None, code: str | None = None) -> None:
    assert status is None or response.status_code == status, response.get_data(as_text=True)[:300]
    if code is not None:
        assert response.get_json()["error"]["code"] == code
    # a 503 is documented (no trained weights), so only there a 5xx is no failure
    expected = [check for check in RESPONSE_CHECKS if status != 503 or check is not checks.not_a_server_error]
    schema[path][method].Case().validate_response(response, checks=expected)


def _data_url(image: Image.Image, image_format: str) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    mime = "jpeg" if image_format == "JPEG" else "png"
    return f"data:image/{mime};base64," + base64.b64encode(buffer.getvalue()).decode()


def _seven(mode: str, background, ink) -> Image.Image:
    image = Image.new(mode, (28, 28), background)
    ImageDraw.Draw(image).line([(6, 6), (21, 6), (12, 23)], fill=ink, width=3)
    return image


DRAWINGS = {
    "png-canvas-LA": SEVEN_DATA_URL,
    "png-RGBA": _data_url(_seven("RGBA", (0, 0, 0, 0), (0, 0, 0, 255)), "PNG"),
    "png-L": _data_url(_seven("L", 255, 0), "PNG"),
    "png-1bit": _data_url(_seven("1", 1, 0), "PNG"),
    "png-palette-transparent": _data_url(_seven("RGBA", (0, 0, 0, 0), (0, 0, 0, 255)).convert("P"), "PNG"),
    "png-16bit": _data_url(_seven("L", 255, 0).convert("I").convert("I;16"), "PNG"),
    "jpeg-L": _data_url(_seven("L", 255, 0), "JPEG"),
    "jpeg-RGB": _data_url(_seven("RGB", (255, 255, 255), (0, 0, 0)), "JPEG"),
    "jpeg-CMYK": _data_url(_seven("CMYK", (0, 0, 0, 0), (0, 0, 0, 255)), "JPEG"),
}


@pytest.mark.parametrize("name", list(DRAWINGS))
def test_every_accepted_image_format_is_read_and_stored(fuzzed_app, name):
    client = fuzzed_app.test_client()
    _conforms(client.post("/api/predict", json={"image": DRAWINGS[name]}), "/api/predict", status=200)
    response = client.post("/api/correct", json={"image": DRAWINGS[name], "label": 7, "predicted": None})
    _conforms(response, "/api/correct", status=200)
    assert response.get_json()["stored"] is True


def test_documented_client_errors_conform(fuzzed_app):
    client = fuzzed_app.test_client()
    blank = _data_url(Image.new("LA", (28, 28), (0, 0)), "PNG")
    huge = _data_url(Image.new("L", (2049, 8), 0), "PNG")
    for path in IMAGE_PATHS:
        _conforms(client.post(path, json={"image": blank, **LABELS}), path, status=422, code="empty_drawing")
        _conforms(client.post(path, json={"image": huge, **LABELS}), path, status=413, code="image_too_large")
        _conforms(client.post(path, json={"image": "x" * 3_000_000, **LABELS}), path, status=413, code="too_large")
        _conforms(client.post(path, data="7", content_type="text/plain"), path, status=415)
    rollback = "/api/models/rollback"
    _conforms(client.post(rollback, json={"version": 0}), rollback, status=401, code="unauthorized")
    _conforms(client.post(rollback, json={"version": 0}, headers={"Authorization": "Bearer nope"}), rollback,
              status=403, code="forbidden")
    _conforms(client.post(rollback, json={"version": 10**6}, headers=AUTH), rollback, status=404,
              code="unknown_version")
    _conforms(client.post(rollback, json={"version": "latest"}, headers=AUTH), rollback, status=400,
              code="bad_version")


def test_unavailable_and_limited_answers_conform(bare_app):
    client = bare_app.test_client()
    for path in ("/api/health", "/api/models", "/api/counts"):
        _conforms(client.get(path), path, "GET", status=503, code="models_missing")
    rollback = "/api/models/rollback"
    _conforms(client.post(rollback, json={"version": 0}, headers=AUTH), rollback, status=403, code="admin_disabled")
    for path in IMAGE_PATHS:
        for _ in range(2):
            _conforms(client.post(path, json={"image": SEVEN_DATA_URL, **LABELS}), path, status=503,
                      code="models_missing")
        limited = client.post(path, json={"image": SEVEN_DATA_URL, **LABELS})
        _conforms(limited, path, status=429, code="rate_limited")
        assert int(limited.headers["Retry-After"]) > 0


def test_reading_a_number_is_described_and_its_answers_conform(fuzzed_app, pen_digits):
    """Both number operations are in the document with their own bodies, and real answers (a number read; its
    correction split into digits, and kept whole) keep to it."""
    for path, request_model, answer_model in (("/api/read", "ReadRequest", "Reading"),
                                              ("/api/read/correct", "ReadCorrectRequest", "ReadCorrectResponse")):
        operation = SPEC["paths"][path]["post"]
        body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        answer = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        assert (body.rsplit("/", 1)[1], answer.rsplit("/", 1)[1]) == (request_model, answer_model)
        assert {"400", "413", "415", "422", "429", "503"} <= set(operation["responses"])
    assert "bad_number" in SPEC["components"]["schemas"]["ReadCorrectBadRequestDetail"]["properties"]["code"]["enum"]

    held = pendigits.held_out(pen_digits)
    strokes = [s for digit in pendigits.compose_number(held[:2], np.random.default_rng(0), (0.3, 0.5)) for s in digit]
    image = pendigits.data_url(pendigits.render(strokes, pendigits.CANVAS, width=3 * pendigits.CANVAS))
    client = fuzzed_app.test_client()
    read = client.post("/api/read", json={"image": image})
    _conforms(read, "/api/read", status=200)
    count = len(read.get_json()["digits"])
    for number in ("1" * count, "1" * (count + 1)):
        _conforms(client.post("/api/read/correct", json={"image": image, "number": number}), "/api/read/correct",
                  status=200)


def test_why_nothing_is_recognised_is_described_and_a_not_a_digit_answer_conforms(fuzzed_app):
    """Every predict answer has `reason` (null, `not_sure` or `not_a_digit`), and a drawn "−" is answered with
    the last and keeps to the document."""
    prediction = SPEC["components"]["schemas"]["Prediction"]
    assert "reason" in prediction["required"]
    documented = {value for option in prediction["properties"]["reason"]["anyOf"]
                  for value in option.get("enum", [None] if option.get("type") == "null" else [])}
    assert documented == {None, "not_sure", "not_a_digit"}
    rng = np.random.default_rng(0)
    minus = pendigits.random_canvas(nondigits.handmade([[(0.0, 250.0), (500.0, 250.0)]], rng), rng, longest=True)
    response = fuzzed_app.test_client().post("/api/predict", json={"image": pendigits.data_url(minus)})
    _conforms(response, "/api/predict", status=200)
    assert response.get_json()["reason"] == "not_a_digit"


@pytest.mark.parametrize("checked", [True, False])
def test_an_answer_that_breaks_its_response_model_is_a_500_where_answers_are_checked(make_app, checked):
    """With `check_responses` (on in every test app) an answer off its own schema is our bug: a 500 in the one error
    shape. Production leaves the check off (its cost, config.py) and sends the answer as it is."""
    app = make_app(CHECK_RESPONSES=checked)
    with app.app_context():
        runtime().ensemble.versions["fnn_online"] = -1  # a count below zero: not a ModelVersion
    response = app.test_client().get("/api/health")
    if checked:
        assert response.status_code == 500 and response.get_json()["error"]["code"] == "internal_error"
    else:
        assert response.status_code == 200 and response.get_json()["model_version"]["fnn_online"] == -1
