"""The one error shape every endpoint answers with: {"error": {"code", "message"}}."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class InputError(Exception):
    """A request the client can fix; carries the HTTP status and a sentence a person understands."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def error_body(code: str, message: str, status: int) -> ResponseReturnValue:
    return jsonify(error={"code": code, "message": message}), status


_HTTP_CODES = {
    400: ("bad_request", "The request could not be understood."),
    404: ("not_found", "There is nothing at this address."),
    405: ("method_not_allowed", "This address does not accept that method."),
    413: ("too_large", "The request is too large (the limit is 2 MB of image data)."),
    415: ("unsupported_media_type", "Send JSON or form data."),
    429: ("rate_limited", "Too many requests; wait a moment and try again."),
}


def register_error_handlers(app: Flask) -> None:
    """Turn every failure into the JSON error shape; never leak a stack trace to the client."""

    @app.errorhandler(InputError)
    def _input_error(err: InputError) -> ResponseReturnValue:
        log.info("rejected input", extra={"code": err.code, "status": err.status})
        return error_body(err.code, err.message, err.status)

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException) -> ResponseReturnValue:
        status = err.code or 500
        code, message = _HTTP_CODES.get(status, ("http_error", err.description or "Request failed."))
        response = err.get_response()
        body, status = error_body(code, message, status)
        body.headers.extend((k, v) for k, v in response.headers.items() if k in ("Retry-After", "Allow"))
        return body, status

    @app.errorhandler(Exception)
    def _unexpected(err: Exception) -> ResponseReturnValue:
        log.exception("unhandled error")
        return error_body("internal_error", "Something went wrong on our side; please try again.", 500)
