"""The API's contract, enforced and published from app.web.schemas: spectree validates each request
against its models before the view runs, checks each answer against its response model, and builds
the OpenAPI 3.1 document served at GET /api/openapi.json.

What spectree leaves to us, kept here: bodies are parsed once and strictly (not JSON, not an object
or nested too deeply: `bad_json`, never a 500), a refused value becomes the field's documented error
code in app.web.errors' one shape, and a few things the generator cannot say are added to the
document (the urlencoded twin of the form post, `Retry-After`, the sample id's pattern).
"""

from __future__ import annotations

import copy
from typing import Any, TypeVar

from flask import Request, request
from pydantic import BaseModel, RootModel, TypeAdapter, ValidationError
from spectree import SecurityScheme, SecuritySchemeData, SpecTree
from spectree.models import SecureType
from spectree.plugins.flask_plugin import FlaskPlugin

from app.config import settings
from app.web.errors import ApiError
from app.web.protection import require_admin
from app.web.schemas import ERROR_CODES, MISSING_IMAGE, Error, RequestModel, SampleId

API_VERSION = "0.2.0"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
M = TypeVar("M", bound=BaseModel)
PLAIN_ERROR = {"$ref": "#/components/schemas/Error"}


class Document(RootModel[dict[str, Any]]):
    """An OpenAPI document (this one)."""


def require_body(*, form_allowed: bool) -> None:
    """The body must be a JSON object (or, where the operation takes one, a form post).

    Flask's get_json raises RecursionError, not a ValueError, on JSON nested about a thousand deep:
    caught here, where the body is parsed, it is a plain client error with nothing to log.
    """
    if form_allowed and request.mimetype in FORM_TYPES:
        return
    if not request.is_json:
        raise ApiError("unsupported_media_type", 'Send JSON, e.g. {"image": "data:image/png;base64,…"}.', 415)
    try:
        body = request.get_json(silent=True)  # cached: spectree's own read gets this same object
    except RecursionError:
        raise ApiError("bad_json", "The request body is nested too deeply to be a drawing.", 400) from None
    if not isinstance(body, dict):
        raise ApiError("bad_json", "The request body is not a JSON object.", 400)


class StrictBodies(FlaskPlugin):
    """spectree's Flask plugin, with the body checked by require_body before its models see it (spectree
    alone would read an unparsable body, or a list, as an empty object)."""

    def request_validation(self, request: Request, query: Any, json: Any, form: Any, headers: Any,
                           cookies: Any) -> None:
        if json is not None or form is not None:
            require_body(form_allowed=form is not None)
        super().request_validation(request, query, json, form, headers, cookies)

    def validate_response(self, resp: Any, resp_model: Any, skip_validation: bool,
                          force_resp_serialize: bool) -> Any:
        """Answers are checked against their response models only where `check_responses` is on (the tests):
        a mismatch is our bug, found there, and the check is work every production answer would pay for."""
        checked = not skip_validation and settings().check_responses
        return super().validate_response(resp, resp_model, not checked, force_resp_serialize)


def refusal(error: ValidationError) -> ApiError:
    """The documented answer to a refused request: the first failing field's `bad_<field>` code.

    Custom pydantic errors whose type is an error code (e.g. `missing_image`) carry their own.
    """
    model = RequestModel.registry[error.title]
    first = error.errors(include_url=False)[0]
    kind, location = first["type"], first["loc"]
    if kind in ERROR_CODES:
        return ApiError(kind, first["msg"], 400)
    if not location:
        return ApiError("bad_json", "The request body is not a JSON object.", 400)
    field = str(location[0])
    if kind == "extra_forbidden":
        takes = ", ".join(f"`{name}`" for name in model.model_fields) or "none"
        return ApiError("unknown_parameter", f"Unknown query parameter `{field}`; this address takes {takes}.", 400)
    if field in ("image", "imageBase64"):
        return (ApiError("missing_image", MISSING_IMAGE, 400) if kind == "missing"
                else ApiError("bad_image", model.messages["image"], 400))
    if kind == "repeated":
        return ApiError(f"bad_{field}", f"`{field}` was given more than once; give it once.", 400)
    return ApiError(f"bad_{field}", model.messages[field], 400)


def refuse_invalid(req: Any, resp: Any, error: Exception | None, instance: Any, adapter: Any) -> None:
    """spectree's hook after validation: a refused request answers with its documented error."""
    if isinstance(error, ValidationError):
        raise refusal(error)


def admin_first(req: Any, resp: Any, error: Exception | None, instance: Any, adapter: Any) -> None:
    """The hook of admin operations: who asks is checked before what they ask, so without the token nothing
    about the request is told."""
    require_admin()
    refuse_invalid(req, resp, error, instance, adapter)


def _answer_kept_to_contract(req: Any, resp: Any, error: Exception | None, instance: Any, adapter: Any) -> None:
    """An answer that breaks its own schema is our bug: a 500 in the one error shape, logged with the cause."""
    if error is not None:
        raise RuntimeError("the answer does not match its response model") from error


contract = SpecTree(
    "flask",
    backend=StrictBodies,
    mode="strict",  # only the decorated /api operations, not the HTML pages
    annotations=False,
    title="digitdraw",
    version=API_VERSION,
    description='Draw a digit; four nets read it and learn from corrections. Every error is '
                '`{"error": {"code", "message"}}`; a 500 is always a bug.',
    validation_error_status=400,
    validation_error_model=Error,
    before=refuse_invalid,
    after=_answer_kept_to_contract,
    naming_strategy=lambda model: model.__name__,
    nested_naming_strategy=lambda _parent, child: child,
    security_schemes=[SecurityScheme(name="adminToken", data=SecuritySchemeData(
        type=SecureType.HTTP, scheme="bearer",
        description="The operator's DIGITDRAW_ADMIN_TOKEN; without one configured the admin API is off."))],
)


def validated(*models: type[M]) -> M:
    """The part of this request (query, JSON or form) that spectree validated as one of `models`."""
    for part in request.context:
        if isinstance(part, models):
            return part
    raise LookupError(f"this request carries no {' or '.join(m.__name__ for m in models)}")


def document() -> dict[str, Any]:
    """The OpenAPI document (a new dict each call), as spectree generates it, finished where it cannot say
    all: the form post also as urlencoded, `Retry-After` on each 429, the sample id's pattern (a converter
    spectree does not know), and no generic 400 on operations that validate nothing."""
    generated = copy.deepcopy(contract.spec)
    sample_id = TypeAdapter(SampleId).json_schema()
    for operations in generated["paths"].values():
        for operation in operations.values():
            content = operation.get("requestBody", {}).get("content", {})
            if "multipart/form-data" in content:
                content["application/x-www-form-urlencoded"] = content["multipart/form-data"]
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] == "sample_id":
                    parameter["schema"] = sample_id
            responses = operation["responses"]
            if "429" in responses:
                responses["429"]["headers"] = {"Retry-After": {
                    "required": True, "schema": {"type": "integer", "minimum": 0},
                    "description": "Seconds to wait before trying again."}}
            if responses.get("400", {}).get("content", {}).get("application/json", {}).get("schema") == PLAIN_ERROR:
                del responses["400"]  # spectree's default for validation errors; each validating operation has its own
    return generated
