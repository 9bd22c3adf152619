"""The OpenAPI 3.1 description of the JSON API (served at GET /api/openapi.json).

It is as strict as the app: responses forbid unknown fields and each error status lists the error
codes it can carry, so tests/test_openapi.py (schemathesis) fails when the app and this document part.
Request bodies allow unknown fields because the app ignores them.
"""

from __future__ import annotations

import copy
from typing import Any

from app.reading.imaging import MAX_PAYLOAD_BYTES, MAX_SIDE
from app.web import insight_openapi

OPENAPI_VERSION = "3.1.0"
API_VERSION = "0.1.0"
MAX_STROKES, MAX_POINTS = 200, 20_000  # app.web.api's limits (not imported: app.web.api imports this module)

# A 28×28 canvas export (transparent background, one dark stroke): a drawn 7, read as 7.
SEVEN_PNG_BASE64 = (
    "iVBORw0KGgoAAAANSUhEUgAAABwAAAAcCAQAAADYBBcfAAAAVElEQVR42u3TQQ4AEAxEUXr/O39roWhjNmJ2EvKaakv5cVO7E+e3LcSQfVi9"
    "UndWuFRGxLJdtZwnFZk3USbifZpIxB8SichqKAUi6yW4LhJaukfTAPGMCyXtOue7AAAAAElFTkSuQmCC"
)
SEVEN_DATA_URL = "data:image/png;base64," + SEVEN_PNG_BASE64
STROKES_EXAMPLE = [[[6, 6, 0], [21, 6, 120], [12, 23, 260]]]

MODEL_NAMES = ("fnn", "cnn", "fnn_online", "cnn_online")
ONLINE_NAMES = ("fnn_online", "cnn_online")

# Error codes by status, per operation; the messages are sentences for people, the codes are for programs.
_IMAGE_400 = ("bad_json", "missing_image", "bad_image", "bad_base64", "bad_data_url", "bad_person")
_IMAGE_413 = ("too_large", "image_too_large")
_IMAGE_415 = ("unsupported_media_type", "not_an_image", "corrupt_image")
_CORRECT_400 = (*_IMAGE_400, "bad_label", "bad_predicted", "bad_strokes", "bad_consent", "bad_source")
ERROR_CODES = sorted({
    *_CORRECT_400, *_IMAGE_413, *_IMAGE_415, "empty_drawing", "rate_limited", "models_missing",
    "unauthorized", "forbidden", "admin_disabled", "bad_version", "unknown_version",
    "bad_request", "not_found", "method_not_allowed", "http_error", "internal_error",
})


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict[str, Any], required: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    """A closed JSON object: every listed property required unless told otherwise, nothing else allowed."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": False,
        **extra,
    }


def _schemas() -> dict[str, Any]:
    probability = {"type": "number", "minimum": 0, "maximum": 1}
    canary = {
        "type": "object",
        "description": "How each online net reads the fixed MNIST canary digits; empty when learning is off "
                       "(no reference digits).",
        "properties": {name: _ref("CanaryReading") for name in ONLINE_NAMES},
        "additionalProperties": False,
    }
    return {
        "Digit": {"type": "integer", "minimum": 0, "maximum": 9},
        "Probability": probability,
        "ModelVersion": _object(
            {name: {"type": "integer", "minimum": 0} for name in ONLINE_NAMES},
            description="Accepted online updates behind each online net (0 = the shipped weights).",
            examples=[{"fnn_online": 0, "cnn_online": 0}],
        ),
        "ModelReading": _object({
            "top3": {
                "type": "array",
                "description": "The three likeliest digits, most likely first, as [digit, probability].",
                "minItems": 3,
                "maxItems": 3,
                "items": {
                    "type": "array",
                    "prefixItems": [_ref("Digit"), _ref("Probability")],
                    "minItems": 2,
                    "maxItems": 2,
                },
            },
        }),
        "Prediction": _object(
            {
                "answer": {
                    "description": "The digit read, or null when the online nets disagree and are both unsure.",
                    "anyOf": [_ref("Digit"), {"type": "null"}],
                },
                "recognized": {"type": "boolean", "description": "false exactly when `answer` is null."},
                "confidence": _ref("Probability"),
                "answered_by": {
                    "enum": ["online", "personal"],
                    "description": "`personal`: the answer blends the person's own last layer with the online pair "
                                   "(it has read their drawings at least as well as the pair); `online`: the pair.",
                },
                "models": _object(
                    {name: _ref("ModelReading") for name in (*MODEL_NAMES, "personal")},
                    required=list(MODEL_NAMES),
                    description="`personal` only for a `person` the app has learned from.",
                ),
                "preview": {
                    "type": "string",
                    "description": "The 28×28 input the nets saw (white ink on black) as a PNG data URL.",
                    "pattern": "^data:image/png;base64,[A-Za-z0-9+/]+={0,2}$",
                },
                "model_version": _ref("ModelVersion"),
            },
            examples=[{
                "answer": 7, "recognized": True, "confidence": 0.9731, "answered_by": "online",
                "models": {name: {"top3": [[7, 0.9731], [1, 0.0154], [9, 0.0061]]} for name in MODEL_NAMES},
                "preview": "data:image/png;base64,iVBORw0KGgo…", "model_version": {"fnn_online": 0, "cnn_online": 0},
            }],
        ),
        "Error": _object(
            {
                "error": _object({
                    "code": {"type": "string", "enum": ERROR_CODES, "description": "Stable, for programs."},
                    "message": {"type": "string", "minLength": 1, "description": "A sentence for people."},
                }),
            },
            examples=[{"error": {"code": "empty_drawing", "message": "The canvas is empty: draw a digit first."}}],
        ),
        "Image": {
            "type": "string",
            "description": f"A PNG or JPEG drawing (at most {MAX_SIDE}×{MAX_SIDE}, {MAX_PAYLOAD_BYTES // 2**20} MB) "
                           "as a data URL (`data:image/png;base64,…`) or bare base64. Transparent pixels are "
                           "background; opaque images may be dark-on-light or light-on-dark.",
            "minLength": 1,
            "examples": [SEVEN_DATA_URL],
        },
        "Person": {
            "type": ["string", "null"],
            "pattern": "^[A-Za-z0-9_-]{8,64}$",
            "description": "An anonymous id the browser keeps (the page: a random one in localStorage), so the "
                           "app can learn this person's handwriting; stored only as a hash. Null or absent: "
                           "nobody in particular.",
            "examples": ["3f9c2a7e51b04d6e8a1f0c9b7d2e4a6f"],
        },
        "ImageRequest": {
            "type": "object",
            "properties": {"image": _ref("Image")},
            "required": ["image"],
        },
        "PredictRequest": {
            "type": "object",
            "properties": {"image": _ref("Image"), "person": _ref("Person")},
            "required": ["image"],
        },
        "PredictForm": {
            "type": "object",
            "description": "The original front end's form post: `imageBase64` holds the data URL (`image` is read "
                           "when `imageBase64` is empty or absent).",
            "properties": {
                "imageBase64": {"type": "string", "examples": [SEVEN_DATA_URL]},
                "image": {"type": "string", "examples": [SEVEN_DATA_URL]},
                "person": _ref("Person"),
            },
            "anyOf": [{"required": ["imageBase64"]}, {"required": ["image"]}],
        },
        "Strokes": {
            "type": ["array", "null"],
            "description": "The drawing as the pen moved: strokes of [x, y] or [x, y, t] points "
                           f"(at most {MAX_STROKES} strokes and {MAX_POINTS} points in all).",
            "maxItems": MAX_STROKES,
            "items": {
                "type": "array",
                "items": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 3},
            },
        },
        "CorrectRequest": {
            "type": "object",
            "properties": {
                "image": _ref("Image"),
                "label": {**_ref("Digit"), "description": "The digit the person meant."},
                "predicted": {
                    "description": "The answer the person was shown (null if none).",
                    "anyOf": [_ref("Digit"), {"type": "null"}],
                },
                "strokes": _ref("Strokes"),
                "person": _ref("Person"),
                "consent": {"type": "boolean", "default": False,
                            "description": "Whether the drawing may be published in the dataset."},
                "source": {
                    "enum": ["collection", None],
                    "description": "`collection` for drawings made on request; otherwise the sample is a "
                                   "confirmation (label = predicted) or a correction.",
                },
            },
            "required": ["image", "label"],
        },
        "CorrectResponse": _object({
            "sample_id": {"type": "string", "minLength": 1},
            "stored": {
                "description": "true once in the store; `spooled` when the store is down and the sample waits "
                               "on local disk.",
                "anyOf": [{"const": True}, {"const": "spooled"}],
            },
            "learned": {"type": "boolean"},
            "reason": {"type": "string", "minLength": 1,
                       "description": "`learned`, or why the nets did not learn from it."},
            "model_version": _ref("ModelVersion"),
            "after": _ref("Prediction"),
        }),
        "Health": _object({"status": {"const": "ok"}, "model_version": _ref("ModelVersion")}),
        "Canary": canary,
        "CanaryReading": _object({
            "accuracy": {**probability, "description": "Share of the canary digits read right."},
            "loss": {"type": "number", "minimum": 0, "description": "Mean cross-entropy on the canary digits."},
        }),
        "Counts": _object({
            "counts": _object(
                {str(digit): {"type": "integer", "minimum": 0} for digit in range(10)},
                description="Stored samples per label.",
            ),
        }),
        "VersionRecord": _object({
            "version": {"type": "integer", "minimum": 1},
            "parent": {"type": "integer", "minimum": 0},
            "sample_id": {"type": ["string", "null"], "minLength": 1,
                          "description": "The sample learned; null unless its author shared it (consent)."},
            "label": _ref("Digit"),
            "canary": _ref("Canary"),
        }),
        "Models": _object({
            "current": {"type": "integer", "minimum": 0},
            "latest": {"type": "integer", "minimum": 0},
            "baseline": _object({"version": {"const": 0}, "canary": _ref("Canary")}),
            "versions": {"type": "array", "items": _ref("VersionRecord"),
                         "description": "Kept versions, oldest first."},
        }),
        "RollbackRequest": {
            "type": "object",
            "properties": {
                "version": {"anyOf": [{"type": "integer", "minimum": 0}, {"const": "baseline"}],
                            "description": "A kept version number (GET /api/models) or `baseline` (= 0)."},
            },
            "required": ["version"],
        },
        "RollbackResponse": _object({
            "current": {"type": "integer", "minimum": 0},
            "model_version": _ref("ModelVersion"),
        }),
    }


def _error(description: str, *codes: str) -> dict[str, Any]:
    """An error response whose `error.code` is one of `codes`."""
    return {
        "description": description,
        "content": {"application/json": {"schema": {
            "allOf": [_ref("Error")],
            "properties": {"error": {"properties": {"code": {"enum": list(codes)}}}},
        }}},
    }


def _ok(description: str, schema: str, example: Any = None) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": _ref(schema)}
    if example is not None:
        media["example"] = example
    return {"description": description, "content": {"application/json": media}}


def _json_body(schema: str, examples: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {
        "schema": _ref(schema),
        "examples": {name: {"value": value} for name, value in examples.items()},
    }}}


_RATE_LIMITED = {
    "description": "Too many requests from this client; wait `Retry-After` seconds.",
    "headers": {"Retry-After": {"required": True, "schema": {"type": "integer", "minimum": 0}}},
    "content": _error("", "rate_limited")["content"],
}
_MODELS_MISSING = _error("The models are not trained yet (the operator must run training).", "models_missing")
_NOT_JSON = _error("The body is not JSON.", "unsupported_media_type")


def _image_errors(codes_400: tuple[str, ...]) -> dict[str, Any]:
    return {
        "400": _error("The request is malformed; `error.code` says which part.", *codes_400),
        "413": _error("The body is over the request limit, the image over 2 MB or too many pixels.", *_IMAGE_413),
        "415": _error("Not JSON or form data, or the image is not a readable PNG or JPEG.", *_IMAGE_415),
        "422": _error("The drawing is empty.", "empty_drawing"),
        "429": _RATE_LIMITED,
        "503": _MODELS_MISSING,
    }


def _paths() -> dict[str, Any]:
    seven = {"image": SEVEN_DATA_URL}
    return {
        "/api/predict": {"post": {
            "operationId": "predict",
            "summary": "Read a drawn digit",
            "description": "All four nets read the drawing; the online pair decides the answer.",
            "requestBody": {"required": True, "content": {
                "application/json": {
                    "schema": _ref("PredictRequest"),
                    "examples": {"data_url": {"value": seven}, "bare_base64": {"value": {"image": SEVEN_PNG_BASE64}}},
                },
                **{media_type: {
                    "schema": _ref("PredictForm"),
                    "examples": {"original_form": {"value": {"imageBase64": SEVEN_DATA_URL}}},
                } for media_type in ("application/x-www-form-urlencoded", "multipart/form-data")},
            }},
            "responses": {
                "200": _ok("What the nets read.", "Prediction"),
                **_image_errors(_IMAGE_400),
            },
        }},
        "/api/correct": {"post": {
            "operationId": "correct",
            "summary": "Label a drawing: store it, learn from it, read it again",
            "description": "The sample is stored first; then both online nets take one guarded step towards "
                           "`label` (kept only if they still read the canary digits well).",
            "requestBody": _json_body("CorrectRequest", {
                "correction": {**seven, "label": 7, "predicted": 1, "strokes": STROKES_EXAMPLE, "consent": True},
                "collection": {**seven, "label": 7, "predicted": None, "source": "collection"},
            }),
            "responses": {
                "200": _ok("Stored; `learned` says whether the nets changed.", "CorrectResponse"),
                **_image_errors(_CORRECT_400),
            },
        }},
        "/api/counts": {"get": {
            "operationId": "counts",
            "summary": "How many drawings are stored per digit (for the collection page's balance)",
            "responses": {
                "200": _ok("Samples per label.", "Counts"),
                "503": _MODELS_MISSING,
            },
        }},
        "/api/health": {"get": {
            "operationId": "health",
            "summary": "Liveness, and which online versions this worker serves",
            "responses": {
                "200": _ok("Serving.", "Health", {"status": "ok", "model_version": {"fnn_online": 0, "cnn_online": 0}}),
                "503": _MODELS_MISSING,
            },
        }},
        "/api/models": {"get": {
            "operationId": "listModels",
            "summary": "The kept online versions and which one is current",
            "responses": {
                "200": _ok("The version manifest.", "Models"),
                "503": _MODELS_MISSING,
            },
        }},
        "/api/models/rollback": {"post": {
            "operationId": "rollback",
            "summary": "Make a kept version (or the baseline) current again",
            "security": [{"adminToken": []}],
            "requestBody": _json_body("RollbackRequest", {"baseline": {"version": "baseline"}, "zero": {"version": 0}}),
            "responses": {
                "200": _ok("Now current.", "RollbackResponse"),
                "400": _error("`version` is missing or neither a number nor `baseline`; or the body is not a "
                              "JSON object.", "bad_version", "bad_json"),
                "401": _error("No `Authorization: Bearer` header.", "unauthorized"),
                "403": _error("The token is wrong, or administration is disabled (no token configured).",
                              "forbidden", "admin_disabled"),
                "404": _error("That version is not kept.", "unknown_version"),
                "413": _error("The body is over the request limit.", "too_large"),
                "415": _NOT_JSON,
                "503": _MODELS_MISSING,
            },
        }},
        "/api/openapi.json": {"get": {
            "operationId": "openapi",
            "summary": "This document",
            "responses": {"200": {"description": "The OpenAPI description.",
                                  "content": {"application/json": {"schema": {"type": "object"}}}}},
        }},
    }


def spec() -> dict[str, Any]:
    """The OpenAPI document as a JSON-ready dict (a new one each call, safe to modify).

    >>> document = spec()
    >>> document["openapi"], "/api/predict" in document["paths"]
    ('3.1.0', True)
    """
    return insight_openapi.merge(copy.deepcopy({
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "digitdraw",
            "version": API_VERSION,
            "description": "Draw a digit; four nets read it and learn from corrections. Every error is "
                           '`{"error": {"code", "message"}}`; a 500 is always a bug.',
        },
        "paths": _paths(),
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {"adminToken": {
                "type": "http", "scheme": "bearer",
                "description": "The operator's DIGITDRAW_ADMIN_TOKEN; without one configured the admin API is off.",
            }},
        },
    }))
