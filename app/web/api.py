"""JSON endpoints. Contract: README "API" and app.web.schemas (validated by app.web.contract before a view
runs); every error is app.web.errors' shape."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue
from spectree import Response

from app.config import settings
from app.online.corrections import Correction, learn_from
from app.online.personal import PersonalHead
from app.online.versions import BASELINE, public_record
from app.reading.imaging import preprocess, to_data_url
from app.runtime import Runtime, runtime
from app.web import schemas
from app.web.contract import Document, admin_first, contract, document, validated
from app.web.errors import ApiError
from app.web.schemas import error_model

bp = Blueprint("api", __name__, url_prefix="/api")

# Error codes by status, for the operations that take a drawing (app.web.insight's /api/internals too).
IMAGE_400 = ("bad_json", "missing_image", "bad_image", "bad_base64", "bad_data_url", "bad_person")
CORRECT_400 = (*IMAGE_400, "bad_label", "bad_predicted", "bad_strokes", "bad_consent", "bad_source")
MODELS_MISSING = (error_model("ModelsMissing", "models_missing"),
                  "The models are not trained yet (the operator must run training).")
STORAGE_DOWN = (error_model("StorageDown", "storage_unavailable", "models_missing"),
                "The sample store or its index cannot be reached (or the models are not trained).")
RATE_LIMITED = (error_model("RateLimited", "rate_limited"), "Too many requests from this client; wait `Retry-After` "
                                                            "seconds.")


def image_errors(name: str, codes_400: tuple[str, ...]) -> dict[str, Any]:
    """The error answers of an operation that reads a drawing, as spectree.Response keywords."""
    return {
        "HTTP_400": (error_model(f"{name}BadRequest", *codes_400),
                     "The request is malformed; `error.code` says which part."),
        "HTTP_413": (error_model(f"{name}TooLarge", "too_large", "image_too_large"),
                     "The body is over the request limit, the image over 2 MB or too many pixels."),
        "HTTP_415": (error_model(f"{name}Unsupported", "unsupported_media_type", "not_an_image", "corrupt_image"),
                     "Not JSON or form data, or the image is not a readable PNG or JPEG."),
        "HTTP_422": (error_model(f"{name}Empty", "empty_drawing"), "The drawing is empty."),
        "HTTP_429": RATE_LIMITED,
        "HTTP_503": MODELS_MISSING,
    }


def answer(state: Runtime, digit: np.ndarray, personal: PersonalHead | None) -> dict[str, Any]:
    """What the nets read in `digit` now (after any update another worker made), with the 28×28 they saw."""
    state.learner.refresh()
    result = state.ensemble.predict(digit, personal)
    result["preview"] = to_data_url(digit)
    return result


@bp.post("/predict")
@contract.validate(json=schemas.PredictRequest, form=schemas.PredictForm,
                   resp=Response(HTTP_200=(schemas.Prediction, "What the nets read."),
                                 **image_errors("Predict", IMAGE_400)))
def predict() -> ResponseReturnValue:
    """Read a drawn digit

    All four nets read the drawing; the online pair decides the answer. The original front end's form
    post (`imageBase64`) is read as well as JSON.
    """
    fields = validated(schemas.PredictRequest, schemas.PredictForm)
    state = runtime()
    personal = state.people.head(fields.person) if fields.person else None
    return jsonify(answer(state, preprocess(fields.drawing), personal))


def _client_hash() -> str:
    """Who sent it, as a salted hash only: enough to count distinct people, never their address."""
    salt = settings().client_salt.get_secret_value().encode()
    seen = f"{request.remote_addr}|{request.user_agent.string}"
    return hashlib.sha256(salt + seen.encode()).hexdigest()[:16]


@bp.post("/correct")
@contract.validate(json=schemas.CorrectRequest,
                   resp=Response(HTTP_200=(schemas.CorrectResponse, "Stored; `learned` says whether the nets "
                                                                    "changed."),
                                 **image_errors("Correct", CORRECT_400)))
def correct() -> ResponseReturnValue:
    """Label a drawing: store it, learn from it, read it again

    The sample is stored first; then both online nets take one guarded step towards `label` (kept only
    if they still read the canary digits well).
    """
    body = validated(schemas.CorrectRequest)
    state = runtime()
    learned = learn_from(state, Correction(
        image=body.image, label=body.label, predicted=body.predicted, strokes=body.strokes, person=body.person,
        consent=body.consent, collection=body.source == "collection", client=_client_hash()))
    return jsonify(
        sample_id=learned.meta["id"],
        stored=learned.stored,
        indexed=learned.indexed,
        learned=learned.learned,
        status=learned.status,
        reason=learned.reason,
        model_version=dict(state.ensemble.versions),
        after=answer(state, learned.digit, learned.personal),
    )


@bp.get("/counts")
@contract.validate(resp=Response(HTTP_200=(schemas.PerDigit, "Samples per label."), HTTP_503=STORAGE_DOWN))
def counts() -> ResponseReturnValue:
    """How many drawings are stored per digit (for the collection page's balance)"""
    return jsonify(counts=runtime().index.counts())


@bp.get("/openapi.json")
@contract.validate(resp=Response(HTTP_200=(Document, "The OpenAPI description.")))
def openapi() -> ResponseReturnValue:
    """This document"""
    return jsonify(document())


@bp.get("/health")
@contract.validate(resp=Response(HTTP_200=(schemas.Health, "Serving."), HTTP_503=MODELS_MISSING))
def health() -> ResponseReturnValue:
    """Liveness, whether corrections teach the nets here, and which online versions this worker serves"""
    found = runtime()
    off = found.learner.off_reason
    return jsonify(status="ok", learning={"on": off is None, "reason": off},
                   model_version=dict(found.ensemble.versions))


@bp.get("/models")
@contract.validate(resp=Response(HTTP_200=(schemas.Models, "The version manifest."), HTTP_503=MODELS_MISSING))
def models() -> ResponseReturnValue:
    """The kept online versions and which one is current"""
    learner = runtime().learner
    manifest = learner.versions.read()
    return jsonify(
        current=manifest.current,
        latest=manifest.latest,
        baseline={"version": BASELINE, "canary": {name: r.as_dict() for name, r in learner.floor.items()}},
        versions=[public_record(record) for record in manifest.versions],
    )


@bp.post("/models/rollback")
@contract.validate(
    json=schemas.RollbackRequest, security={"adminToken": []}, before=admin_first,
    resp=Response(
        HTTP_200=(schemas.RollbackResponse, "Now current."),
        HTTP_400=(error_model("RollbackBadRequest", "bad_version", "bad_json"),
                  "`version` is missing or neither a number nor `baseline`; or the body is not a JSON object."),
        HTTP_401=(error_model("Unauthorized", "unauthorized"), "No `Authorization: Bearer` header."),
        HTTP_403=(error_model("Forbidden", "forbidden", "admin_disabled"),
                  "The token is wrong, or administration is disabled (no token configured)."),
        HTTP_404=(error_model("UnknownVersion", "unknown_version"), "That version is not kept."),
        HTTP_413=(error_model("BodyTooLarge", "too_large"), "The body is over the request limit."),
        HTTP_415=(error_model("NotJson", "unsupported_media_type"), "The body is not JSON."),
        HTTP_503=MODELS_MISSING,
    ))
def rollback() -> ResponseReturnValue:
    """Make a kept version (or the baseline) current again"""
    version = validated(schemas.RollbackRequest).version
    target = BASELINE if version == "baseline" else version
    try:
        manifest = runtime().learner.rollback(target)
    except KeyError:
        raise ApiError("unknown_version", f"Version {target} is not kept (see GET /api/models).", 404) from None
    return jsonify(current=manifest.current, model_version=dict(runtime().ensemble.versions))
