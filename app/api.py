"""JSON endpoints. Contract: /api/predict and /api/health as in the README; errors as app.errors."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from app.errors import InputError
from app.imaging import preprocess, to_data_url
from app.serving import ensemble

bp = Blueprint("api", __name__, url_prefix="/api")


def _image_field() -> str:
    """The drawing from JSON `image` or the original front end's form field `imageBase64`."""
    if request.is_json:
        body: Any = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise InputError("bad_json", "The request body is not a JSON object.", 400)
        image = body.get("image")
    elif request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        image = request.form.get("imageBase64") or request.form.get("image")
    else:
        raise InputError("unsupported_media_type", "Send JSON {\"image\": \"data:image/png;base64,…\"}.", 415)
    if image is None:
        raise InputError("missing_image", "The field `image` is missing: send the drawing as a data URL.", 400)
    if not isinstance(image, str):
        raise InputError("bad_image", "The field `image` must be a string (a data URL).", 400)
    return image


@bp.post("/predict")
def predict() -> ResponseReturnValue:
    digit = preprocess(_image_field())
    result = ensemble().predict(digit)
    result["preview"] = to_data_url(digit)
    return jsonify(result)


@bp.get("/health")
def health() -> ResponseReturnValue:
    return jsonify(status="ok", model_version=dict(ensemble().versions))
