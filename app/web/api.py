"""JSON endpoints. Contract: README "API"; every error is app.web.errors' shape."""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from app.config import settings
from app.online.personal import PersonalHead, person_hash, valid_person
from app.online.versions import BASELINE, public_record
from app.reading.imaging import as_png, decode_bytes, ink_map, normalise, open_image, preprocess, to_data_url
from app.runtime import Runtime, runtime
from app.samples.storage import StorageError
from app.web.errors import ApiError
from app.web.openapi import spec
from app.web.protection import require_admin

log = logging.getLogger(__name__)
bp = Blueprint("api", __name__, url_prefix="/api")

MAX_STROKES = 200
MAX_POINTS = 20_000


def _json_body() -> dict[str, Any]:
    if not request.is_json:
        raise ApiError("unsupported_media_type", 'Send JSON, e.g. {"image": "data:image/png;base64,…"}.', 415)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError("bad_json", "The request body is not a JSON object.", 400)
    return body


def _form_post() -> bool:
    return request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data")


def _fields() -> Mapping[str, Any]:
    """The request's fields: a JSON object, or the original front end's form post."""
    return request.form if _form_post() else _json_body()


def image_field() -> str:
    """The drawing from JSON `image` or the original front end's form field `imageBase64`."""
    fields = _fields()
    image = (fields.get("imageBase64") or fields.get("image")) if _form_post() else fields.get("image")
    if image is None:
        raise ApiError("missing_image", "The field `image` is missing: send the drawing as a data URL.", 400)
    if not isinstance(image, str):
        raise ApiError("bad_image", "The field `image` must be a string (a data URL).", 400)
    return image


def _person(body: Mapping[str, Any]) -> str | None:
    """The browser's anonymous id, if it sent one: whose own last layer reads and learns."""
    value = body.get("person")
    if value is None:
        return None
    if not isinstance(value, str) or not valid_person(value):
        raise ApiError("bad_person", "`person` must be 8 to 64 letters, digits, '-' or '_' (an anonymous id).", 400)
    return value


def _answer(state: Runtime, digit: np.ndarray, personal: PersonalHead | None) -> dict[str, Any]:
    state.learner.refresh()
    result = state.ensemble.predict(digit, personal)
    result["preview"] = to_data_url(digit)
    return result


@bp.post("/predict")
def predict() -> ResponseReturnValue:
    image = image_field()
    person = _person(_fields())
    state = runtime()
    return jsonify(_answer(state, preprocess(image), state.people.head(person) if person else None))


def _whole(value: Any) -> int | None:
    """A JSON whole number (7, or 7.0: JSON has one number type) as an int; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _digit(body: dict[str, Any], name: str, *, optional: bool) -> int | None:
    value = body.get(name)
    if value is None and optional:
        return None
    number = _whole(value)
    if number is None or not 0 <= number <= 9:
        raise ApiError(f"bad_{name}", f"`{name}` must be a whole number from 0 to 9.", 400)
    return number


def _strokes(value: Any) -> list[list[list[float]]] | None:
    """Strokes as lists of [x, y] or [x, y, t] numbers, bounded in size."""
    if value is None:
        return None
    problem = ApiError("bad_strokes", "`strokes` must be a list of strokes, each a list of [x, y, t] points.", 400)
    if not isinstance(value, list) or len(value) > MAX_STROKES:
        raise problem
    points = 0
    for stroke in value:
        if not isinstance(stroke, list):
            raise problem
        points += len(stroke)
        for point in stroke:
            if (not isinstance(point, list) or not 2 <= len(point) <= 3
                    or not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                               for v in point)):
                raise problem
    if points > MAX_POINTS:
        raise problem
    return value


def _client_hash() -> str:
    """Who sent it, as a salted hash only: enough to count distinct people, never their address."""
    salt = settings().client_salt.get_secret_value().encode()
    seen = f"{request.remote_addr}|{request.user_agent.string}"
    return hashlib.sha256(salt + seen.encode()).hexdigest()[:16]


@bp.post("/correct")
def correct() -> ResponseReturnValue:
    body = _json_body()
    image = image_field()
    label = _digit(body, "label", optional=False)
    predicted = _digit(body, "predicted", optional=True)
    strokes = _strokes(body.get("strokes"))
    person = _person(body)
    consent = body.get("consent", False)
    if not isinstance(consent, bool):
        raise ApiError("bad_consent", "`consent` must be true or false.", 400)
    if body.get("source") not in (None, "collection"):
        raise ApiError("bad_source", '`source` may only be "collection" (or left out).', 400)
    source = "collection" if body.get("source") == "collection" else (
        "confirmation" if predicted == label else "correction")
    raw = decode_bytes(image)
    picture = open_image(raw)
    digit = normalise(ink_map(picture))

    state = runtime()
    state.learner.refresh()
    personal = state.people.head(person) if person else None
    shown, online_answer = state.ensemble.read(digit, personal)
    meta = state.samples.add(as_png(picture), {
        "label": label,
        "source": source,
        "predicted": predicted,
        "answer": shown["answer"],
        "models": shown["models"],
        "model_version": shown["model_version"],
        "client": _client_hash(),
        "person": person_hash(person) if person else None,
        "canvas": {"width": picture.width, "height": picture.height},
        "strokes": strokes,
        "consent": consent,
        "status": "pending",
    })
    outcome = state.learner.learn(digit, label, {"sample_id": meta["id"], "label": label, "public": consent})
    if person:
        personal = _learn_personal(state, person, digit, label, shared_right=online_answer == label)
    meta.update(status=outcome.status, reason=outcome.reason,
                learned_version=outcome.version if outcome.learned else None)
    stored = state.samples.write_meta(meta)
    return jsonify(
        sample_id=meta["id"],
        stored=stored,
        learned=outcome.learned,
        reason=outcome.reason,
        model_version=dict(state.ensemble.versions),
        after=_answer(state, digit, personal),
    )


def _learn_personal(state: Runtime, person: str, digit: np.ndarray, label: int, *,
                    shared_right: bool) -> PersonalHead | None:
    """The person's own layer learns the drawing too; if storage fails it keeps what it had (the sample is safe)."""
    try:
        return state.people.learn(person, state.ensemble.hidden(digit[np.newaxis])[0], label,
                                  shared_right=shared_right)
    except (StorageError, OSError) as error:
        log.warning("personal model not saved", extra={"error": repr(error)})
        return state.people.head(person)


@bp.get("/counts")
def counts() -> ResponseReturnValue:
    """Stored samples per digit, for the collection page's balance."""
    return jsonify(counts=runtime().samples.counts())


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(spec())


@bp.get("/health")
def health() -> ResponseReturnValue:
    return jsonify(status="ok", model_version=dict(runtime().ensemble.versions))


@bp.get("/models")
def models() -> ResponseReturnValue:
    learner = runtime().learner
    manifest = learner.versions.read()
    return jsonify(
        current=manifest.current,
        latest=manifest.latest,
        baseline={"version": BASELINE, "canary": {name: r.as_dict() for name, r in learner.floor.items()}},
        versions=[public_record(record) for record in manifest.versions],
    )


@bp.post("/models/rollback")
def rollback() -> ResponseReturnValue:
    require_admin()
    target = _json_body().get("version")
    if target == "baseline":
        target = BASELINE
    target = _whole(target)
    if target is None:
        raise ApiError("bad_version", '`version` must be a kept version number or "baseline".', 400)
    try:
        manifest = runtime().learner.rollback(target)
    except KeyError:
        raise ApiError("unknown_version", f"Version {target} is not kept (see GET /api/models).", 404) from None
    return jsonify(current=manifest.current, model_version=dict(runtime().ensemble.versions))
