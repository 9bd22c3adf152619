"""The OpenAPI description of app/web/insight.py's endpoints, merged into app/web/openapi.py's document.

Kept beside the endpoints so they change together; app/web/openapi.py adds `paths()`, `schemas()` and
`ERROR_CODES` to its own. As strict as the rest: responses forbid unknown fields.
"""

from __future__ import annotations

from typing import Any

from app.reading.ensemble import MODEL_NAMES
from app.samples.dataset import PER_PAGE, SAMPLE_ID
from app.samples.store import SOURCES
from app.web import openapi as base  # used at call time only: app.web.openapi imports this module

ERROR_CODES = ("unknown_parameter", "bad_window", "bad_label", "bad_misread", "bad_source", "bad_page",
               "unknown_sample", "storage_unavailable")

_PNG_DATA_URL = {"type": "string", "pattern": "^data:image/png;base64,[A-Za-z0-9+/]+={0,2}$"}
_COUNT = {"type": "integer", "minimum": 0}
_SHARE = {"anyOf": [{"type": "number", "minimum": 0, "maximum": 1}, {"type": "null"}]}
_MAYBE_DIGIT: dict[str, Any] = {"anyOf": [{"$ref": "#/components/schemas/Digit"}, {"type": "null"}]}
_SAMPLE_ID = {"type": "string", "pattern": SAMPLE_ID.pattern, "examples": ["20261123T195301123456Z-1a2b3c4d"]}
_STATUSES = ["pending", "learned", "quarantined", "not_learned"]
_SERIES = (*MODEL_NAMES, "shown")


def _empty_or(schema: dict[str, Any]) -> dict[str, Any]:
    """A query value that may also be empty (= any): the dataset page's filter form sends every field."""
    return {"anyOf": [schema, {"const": ""}]}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _sample_path() -> dict[str, Any]:
    return {"name": "sample_id", "in": "path", "required": True, "schema": _SAMPLE_ID,
            "description": "The sample's id: its UTC time and a random suffix."}


def schemas() -> dict[str, Any]:
    obj, ref = base._object, base._ref
    per_series = obj({name: _SHARE for name in _SERIES})
    item = {
        "id": _SAMPLE_ID,
        "label": ref("Digit"),
        "predicted": {**_MAYBE_DIGIT, "description": "The answer the page showed (null: none, e.g. collection)."},
        "answer": {**_MAYBE_DIGIT, "description": "The app's answer when the sample arrived."},
        "shown": {**_MAYBE_DIGIT, "description": "`predicted`, or `answer` when the page sent none."},
        "misread": {"type": "boolean", "description": "Whether `shown` is not the label."},
        "source": {"enum": list(SOURCES)},
        "status": {"enum": _STATUSES},
        "consent": {"type": "boolean", "description": "Shared in the public dataset (else admin only)."},
        "created": {"type": "string", "format": "date-time"},
        "thumbnail": {"type": "string", "description": "The drawing's PNG (GET /api/samples/{sample_id}.png)."},
        "url": {"type": "string", "description": "The drawing's page."},
    }
    return {
        "Stats": obj({
            "totals": obj({
                "samples": _COUNT, "misread": _COUNT, "consented": _COUNT,
                "people": {**_COUNT, "description": "Distinct client hashes."},
                "by_source": {"type": "object", "propertyNames": {"enum": list(SOURCES)},
                              "additionalProperties": _COUNT},
                "by_status": obj({status: _COUNT for status in _STATUSES}),
                "first": {"type": ["string", "null"]},
                "last": {"type": ["string", "null"]},
            }),
            "prequential": obj({
                "window": {"type": "integer", "minimum": 1},
                "count": _COUNT,
                "index": {"type": "array", "items": {"type": "integer", "minimum": 1},
                          "description": "The n-th sample (oldest first) each point ends at."},
                "created": {"type": "array", "items": {"type": "string"}},
                "series": obj({name: {"type": "array", "items": _SHARE} for name in _SERIES},
                              description="Rolling top-1 accuracy over the last `window` samples; null where a "
                                          "net has no reading."),
                "overall": per_series,
                "recent": per_series,
            }, description="Each sample was read by every net before it taught the online pair ('test, then "
                           "train'): how often each net's top-1 was the label."),
            "per_day": {"type": "array", "items": obj({
                "date": {"type": "string", "format": "date"},
                **{source: _COUNT for source in SOURCES}, "total": _COUNT,
            })},
            "per_digit": {"type": "array", "minItems": 10, "maxItems": 10, "items": obj({
                "digit": ref("Digit"), **{source: _COUNT for source in SOURCES}, "misread": _COUNT, "total": _COUNT,
            })},
            "confusion": obj({
                "rows": {"type": "array", "items": ref("Digit")},
                "columns": {"type": "array", "items": _MAYBE_DIGIT,
                            "description": "0–9, then null: nothing recognised."},
                "matrix": {"type": "array", "items": {"type": "array", "items": _COUNT},
                           "description": "matrix[label][column]: samples of `label` shown as `column`."},
            }),
            "versions": obj({
                "current": _COUNT,
                "latest": _COUNT,
                "baseline": obj({"version": {"const": 0}, "canary": ref("Canary")}),
                "current_canary": ref("Canary"),
                "kept": {"type": "array", "items": obj({
                    "version": {"type": "integer", "minimum": 1},
                    "parent": {"type": ["integer", "null"], "minimum": 0},
                    "label": _MAYBE_DIGIT,
                    "sample_id": {"type": ["string", "null"]},
                    "canary": ref("Canary"),
                })},
            }),
            "learning": {"type": "boolean", "description": "false when this server cannot learn (no MNIST "
                                                           "reference digits)."},
        }),
        "SampleItem": obj(item),
        "SamplePage": obj({
            "items": {"type": "array", "maxItems": PER_PAGE, "items": ref("SampleItem")},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"const": PER_PAGE},
            "pages": _COUNT,
            "total": _COUNT,
            "filters": obj({"label": _MAYBE_DIGIT, "misread": {"type": ["boolean", "null"]},
                            "source": {"enum": [*SOURCES, None]}}),
            "everyone": {"type": "boolean", "description": "true for the admin: samples without consent included."},
        }),
        "SampleDetail": obj({
            **item,
            "models": obj({name: ref("ModelReading") for name in (*MODEL_NAMES, "personal")},
                          required=list(MODEL_NAMES)),
            "model_version": ref("ModelVersion"),
            "canvas": {"anyOf": [obj({"width": _COUNT, "height": _COUNT}), {"type": "null"}]},
            "strokes": ref("Strokes"),
            "reason": {"type": ["string", "null"]},
            "learned_version": {"type": ["integer", "null"], "minimum": 0},
            "image": {**_PNG_DATA_URL, "description": "The drawing as stored."},
            "preview": {"anyOf": [_PNG_DATA_URL, {"type": "null"}],
                        "description": "The 28×28 the nets read (null if the stored drawing cannot be read)."},
        }, required=[*item, "image", "preview"]),
        "Deleted": obj({
            "id": _SAMPLE_ID,
            "deleted": {"const": True},
            "deleted_at": {"type": "string", "format": "date-time"},
            "image_removed": {"const": True},
        }),
        "Internals": obj({
            "preview": _PNG_DATA_URL,
            "answer": _MAYBE_DIGIT,
            "models": obj({name: ref("ModelReading") for name in MODEL_NAMES}),
            "model_version": ref("ModelVersion"),
            "cnn": obj({
                "model": {"const": "cnn_online"},
                "filters": {"type": "array", "items": _PNG_DATA_URL, "minItems": 16, "maxItems": 16,
                            "description": "The first convolution's 4×4 kernels, upscaled ×12 (blue −, orange +)."},
                "feature_maps": {"type": "array", "items": _PNG_DATA_URL, "minItems": 16, "maxItems": 16,
                                 "description": "Its 28×28 activations for the drawing, on one scale."},
                "feature_peaks": {"type": "array", "items": {"type": "number", "minimum": 0}},
                "kernel_size": {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2},
            }),
            "fnn": obj({
                "model": {"const": "fnn_online"},
                "top_units": {"type": "array", "maxItems": 8, "items": obj({
                    "unit": {"type": "integer", "minimum": 0},
                    "activation": {"type": "number", "minimum": 0},
                    "weights_image": {**_PNG_DATA_URL, "description": "Its 784 input weights as 28×28, ×2."},
                    "pushes_towards": ref("Digit"),
                    "push": {"type": "number"},
                })},
                "active_units": _COUNT,
                "hidden_units": _COUNT,
            }),
        }),
        "Architecture": obj({
            "nets": {"type": "array", "items": obj({
                "name": {"enum": ["fnn", "cnn"]},
                "title": {"type": "string"},
                "parameters": _COUNT,
                "layers": {"type": "array", "items": obj({
                    "kind": {"type": "string"},
                    "detail": {"type": "string"},
                    "output": {"type": "array", "items": {"type": "integer", "minimum": 1}},
                    "parameters": _COUNT,
                    "learns_online": {"const": True},
                }, required=["kind", "detail", "output", "parameters"])},
            })},
            "card": obj({
                "created": {"type": ["string", "null"]},
                "command": {"type": ["string", "null"]},
                "seed": {"type": ["integer", "null"]},
                "epochs": {"type": "object", "additionalProperties": _COUNT},
                "training_seconds": {"type": "object", "additionalProperties": {"type": "number"}},
                "accuracy": {"type": "object", "description": "models/card.json `accuracy`."},
                "curves": {"type": "object", "description": "models/card.json `curves`: per net, per epoch."},
                "data": {"type": "object", "additionalProperties": _COUNT},
            }),
        }),
    }


def paths() -> dict[str, Any]:
    error, ok = base._error, base._ok
    missing = base._MODELS_MISSING
    storage = error("The sample store cannot be reached.", "storage_unavailable", "models_missing")
    unknown = error("No such sample, or not public (deleted, or kept without consent: the admin sees those); "
                    "or the id is malformed (no route matches).", "unknown_sample", "not_found")
    admin_errors = {
        "401": error("An `Authorization` header that is not `Bearer <token>`.", "unauthorized"),
        "403": error("The token is wrong, or administration is disabled.", "forbidden", "admin_disabled"),
    }
    optional_admin = [{}, {"adminToken": []}]
    no_query = error("A query parameter was given (this address takes none).", "unknown_parameter")
    return {
        "/api/stats": {"get": {
            "operationId": "stats",
            "summary": "Figures from every stored sample: accuracy as the nets learn, per day, per digit, "
                       "the confusion matrix, the online versions",
            "parameters": [_query("window", _empty_or({"type": "integer", "minimum": 5, "maximum": 1000}),
                                  "Samples in the rolling accuracy window (default 50).")],
            "responses": {
                "200": ok("The figures.", "Stats"),
                "400": error("A query parameter is unknown or out of range.", "bad_window", "unknown_parameter"),
                "503": storage,
            },
        }},
        "/api/samples": {"get": {
            "operationId": "listSamples",
            "summary": f"A page ({PER_PAGE}) of stored drawings, newest first: shared ones, or all for the admin",
            "security": optional_admin,
            "parameters": [
                _query("label", _empty_or({"type": "integer", "minimum": 0, "maximum": 9}), "Only this digit."),
                _query("misread", _empty_or({"enum": ["true", "false", "1", "0"]}),
                       "Only samples the nets misread (true) or read right (false)."),
                _query("source", _empty_or({"enum": list(SOURCES)}), "Only samples from this source."),
                _query("page", _empty_or({"type": "integer", "minimum": 1, "maximum": 1_000_000}),
                       "1-based; a page past the end is empty."),
            ],
            "responses": {
                "200": ok("One page.", "SamplePage"),
                "400": error("A query parameter is unknown, repeated or has a bad value.", "bad_label",
                             "bad_misread", "bad_source", "bad_page", "unknown_parameter"),
                **admin_errors,
                "503": storage,
            },
        }},
        "/api/samples/{sample_id}": {
            "get": {
                "operationId": "getSample",
                "summary": "One sample's metadata (not its client hash), its drawing and its 28×28",
                "security": optional_admin,
                "parameters": [_sample_path()],
                "responses": {
                    "200": ok("The sample.", "SampleDetail"),
                    "400": no_query,
                    **admin_errors,
                    "404": unknown,
                    "503": storage,
                },
            },
            "delete": {
                "operationId": "deleteSample",
                "summary": "Delete a sample: its JSON is kept as a tombstone without strokes, its PNG removed",
                "security": [{"adminToken": []}],
                "parameters": [_sample_path()],
                "responses": {
                    "200": ok("Deleted (again, if it already was).", "Deleted"),
                    "400": no_query,
                    **admin_errors,
                    "404": error("No such sample (or a malformed id).", "unknown_sample", "not_found"),
                    "503": storage,
                },
            },
        },
        "/api/samples/{sample_id}.png": {"get": {
            "operationId": "getSampleImage",
            "summary": "The drawing as stored (PNG)",
            "security": optional_admin,
            "parameters": [_sample_path()],
            "responses": {
                "200": {"description": "The PNG.", "content": {"image/png": {"schema": {"type": "string",
                                                                                       "format": "binary"}}}},
                "400": no_query,
                **admin_errors,
                "404": unknown,
                "503": storage,
            },
        }},
        "/api/internals": {"post": {
            "operationId": "internals",
            "summary": "How the nets see a drawing: the CNN's first-layer filters and feature maps, the FNN's "
                       "most active hidden units",
            "requestBody": base._json_body("ImageRequest", {"data_url": {"image": base.SEVEN_DATA_URL}}),
            "responses": {
                "200": ok("Inside the online nets.", "Internals"),
                **base._image_errors(base._IMAGE_400),
            },
        }},
        "/api/architecture": {"get": {
            "operationId": "architecture",
            "summary": "Both nets layer by layer with parameter counts, and the model card's figures",
            "responses": {
                "200": ok("The nets and the card.", "Architecture"),
                "400": error("A query parameter was given.", "unknown_parameter"),
                "503": missing,
            },
        }},
    }


def merge(document: dict[str, Any]) -> dict[str, Any]:
    """Add these operations, their schemas and error codes to app/web/openapi.py's document (in place; idempotent)."""
    document["paths"].update(paths())
    document["components"]["schemas"].update(schemas())
    codes = document["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]
    codes["enum"] = sorted({*codes["enum"], *ERROR_CODES})
    return document
