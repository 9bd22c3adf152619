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
from app.online.corrections import Correction, Learned, learn_from
from app.online.numbers import NumberCorrection, learn_number, read_drawing, read_picture
from app.online.personal import PersonalHead
from app.online.versions import BASELINE, public_record
from app.reading.imaging import preprocess, to_data_url
from app.reading.numbers import Number
from app.reading.trajectory import features as trajectory
from app.runtime import Runtime, runtime
from app.web import schemas
from app.web.contract import Document, admin_first, contract, document, validated
from app.web.errors import ApiError
from app.web.schemas import error_model

bp = Blueprint("api", __name__, url_prefix="/api")

# Error codes by status, for the operations that take a drawing (app.web.insight's /api/internals too).
IMAGE_400 = ("bad_json", "missing_image", "bad_image", "bad_base64", "bad_data_url", "bad_person")
STROKES_400 = (*IMAGE_400, "bad_strokes")
CORRECT_400 = (*STROKES_400, "bad_label", "bad_predicted", "bad_consent", "bad_source")
READ_CORRECT_400 = (*STROKES_400, "bad_number", "bad_consent")
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


def answer(state: Runtime, digit: np.ndarray, personal: PersonalHead | None,
           path: np.ndarray | None) -> dict[str, Any]:
    """What the nets read in `digit` (and the strokes net in the pen's `path`, when sent) now, with the versions
    this process follows, and the 28×28 they saw."""
    result = state.ensemble.predict(digit, personal, path)
    result["preview"] = to_data_url(digit)
    return result


@bp.post("/predict")
@contract.validate(json=schemas.PredictRequest, form=schemas.PredictForm,
                   resp=Response(HTTP_200=(schemas.Prediction, "What the nets read."),
                                 **image_errors("Predict", STROKES_400)))
def predict() -> ResponseReturnValue:
    """Read a drawn digit

    All four nets read the drawing; the online pair decides the answer, blended with the strokes net's reading
    when the pen's path (`strokes`) is sent. The original front end's form post (`imageBase64`) is read as
    well as JSON.
    """
    fields = validated(schemas.PredictRequest, schemas.PredictForm)
    state = runtime()
    personal = state.people.head(fields.person) if fields.person else None
    path = trajectory(fields.strokes) if fields.strokes else None
    return jsonify(answer(state, preprocess(fields.drawing), personal, path))


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
        consent=body.consent, given=body.source, client=_client_hash()))
    return jsonify(**stored_sample(learned), model_version=dict(state.ensemble.versions),
                   after=answer(state, learned.digit, learned.personal, learned.path))


def stored_sample(learned: Learned) -> dict[str, Any]:
    """What happened to one stored correction (schemas.StoredSample)."""
    return {"sample_id": learned.meta["id"], "stored": learned.stored, "indexed": learned.indexed,
            "learned": learned.learned, "status": learned.status, "reason": learned.reason}


def reading(number: Number) -> dict[str, Any]:
    """A number as /api/read answers it (schemas.Reading)."""
    return {
        "number": number.text,
        "recognized": number.recognized,
        "confidence": round(number.confidence, 4),
        "digits": [{"box": list(d.box), "answer": d.answer, "confidence": d.confidence, "top3": d.top3,
                    "preview": to_data_url(d.image)} for d in number.digits],
    }


@bp.post("/read")
@contract.validate(json=schemas.ReadRequest,
                   resp=Response(HTTP_200=(schemas.Reading, "The digits read, left to right."),
                                 **image_errors("Read", STROKES_400)))
def read() -> ResponseReturnValue:
    """Read a number: several digits in one drawing

    The drawing is cut into digits by recognition (app/reading/numbers.py): every plausible run of ink
    pieces (strokes, when sent) is read as a digit and the most likely reading as a whole wins. Each digit
    is read like a single one, by the online pair (and the person's own layer).
    """
    body = validated(schemas.ReadRequest)
    return jsonify(reading(read_drawing(runtime(), body.image, body.strokes, body.person).number))


@bp.post("/read/correct")
@contract.validate(json=schemas.ReadCorrectRequest,
                   resp=Response(HTTP_200=(schemas.ReadCorrectResponse, "Stored: each digit as a sample, or the "
                                                                        "drawing whole."),
                                 **image_errors("ReadCorrect", READ_CORRECT_400)))
def read_correct() -> ResponseReturnValue:
    """Correct a number: each digit teaches the nets, or the drawing is kept whole

    When `number` has as many digits as the reading has segments, each segment is cut out and stored and
    learned exactly as a correction of one digit (source `number`); otherwise the drawing is stored whole
    under `numbers/` with its label, for later training. Then the drawing is read again.
    """
    body = validated(schemas.ReadCorrectRequest)
    state = runtime()
    learned = learn_number(state, NumberCorrection(
        image=body.image, number=body.number, strokes=body.strokes, person=body.person, consent=body.consent,
        client=_client_hash()))
    whole = learned.whole
    after = read_picture(state, learned.drawn.picture, body.strokes, body.person)
    return jsonify(
        number=body.number,
        segmented=whole is None,
        digits=[{**stored_sample(sample), "label": sample.meta["label"], "box": list(digit.box)}
                for digit, sample in learned.digits],
        whole=None if whole is None else {"id": whole[0]["id"], "stored": whole[1]},
        model_version=dict(state.ensemble.versions),
        after=reading(after),
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
