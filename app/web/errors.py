"""The one error shape every endpoint answers with: {"error": {"code", "message"}}, and the one place
where failures of the domain (a drawing that cannot be read, storage that is down, no trained models)
become HTTP statuses."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from app.reading.imaging import DrawingError
from app.runtime import ModelsMissing
from app.samples.storage import StorageError

log = logging.getLogger(__name__)


class ApiError(Exception):
    """A request the client can fix (or must retry), with its HTTP status and a sentence a person understands."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


# What each unreadable drawing answers; every code not listed is a 400.
DRAWING_STATUS = {"too_large": 413, "image_too_large": 413, "not_an_image": 415, "corrupt_image": 415,
                  "empty_drawing": 422}
STORAGE_DOWN = ("storage_unavailable", "The sample store cannot be reached right now; try again shortly.")


def error_body(code: str, message: str, status: int) -> ResponseReturnValue:
    return jsonify(error={"code": code, "message": message}), status


HTTP_CODES = {
    400: ("bad_request", "The request could not be understood."),
    404: ("not_found", "There is nothing at this address."),
    405: ("method_not_allowed", "This address does not accept that method."),
    413: ("too_large", "The request is too large (the limit is 2 MB of image data)."),
    415: ("unsupported_media_type", "Send JSON or form data."),
    429: ("rate_limited", "Too many requests; wait a moment and try again."),
}


def register_error_handlers(app: Flask) -> None:
    """Turn every failure into the JSON error shape; never leak a stack trace to the client."""

    @app.errorhandler(ApiError)
    def _api_error(err: ApiError) -> ResponseReturnValue:
        log.info("rejected input", extra={"code": err.code, "status": err.status})
        return error_body(err.code, err.message, err.status)

    @app.errorhandler(DrawingError)
    def _drawing_error(err: DrawingError) -> ResponseReturnValue:
        status = DRAWING_STATUS.get(err.code, 400)
        log.info("rejected drawing", extra={"code": err.code, "status": status})
        return error_body(err.code, err.message, status)

    @app.errorhandler(ModelsMissing)
    def _models_missing(err: ModelsMissing) -> ResponseReturnValue:
        return error_body("models_missing", str(err), 503)

    @app.errorhandler(StorageError)
    def _storage_down(err: StorageError) -> ResponseReturnValue:
        log.warning("storage unavailable", extra={"error": repr(err)})
        return error_body(*STORAGE_DOWN, 503)

    @app.errorhandler(SQLAlchemyError)
    def _index_down(err: SQLAlchemyError) -> ResponseReturnValue:
        log.warning("sample index unavailable", extra={"error": type(err).__name__})  # its text may hold the URL
        return error_body("storage_unavailable", "The sample index cannot be reached right now; try again shortly.",
                          503)

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException) -> ResponseReturnValue:
        status = err.code or 500
        code, message = HTTP_CODES.get(status, ("http_error", err.description or "Request failed."))
        response = err.get_response()
        body, status = error_body(code, message, status)
        body.headers.extend((k, v) for k, v in response.headers.items() if k in ("Retry-After", "Allow"))
        return body, status

    @app.errorhandler(Exception)
    def _unexpected(err: Exception) -> ResponseReturnValue:
        log.exception("unhandled error")
        return error_body("internal_error", "Something went wrong on our side; please try again.", 500)
