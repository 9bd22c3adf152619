"""JSON behind the "show the learning" pages: stats, the dataset browser, the nets' internals.

Errors use app.web.errors' one shape. Every query parameter is checked: an unknown or repeated one, or
a bad value, is a 400 naming it. Figures are computed from the stored metadata on each request
(one listing and one read per sample; see app/samples/stats.py and app/samples/dataset.py).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue
from spectree import Response as Responses
from werkzeug.routing import BaseConverter

from app.config import settings
from app.online.versions import BASELINE, public_record
from app.reading import internals
from app.reading.imaging import DrawingError, ink_map, normalise, open_image, png_data_url, preprocess, to_data_url
from app.runtime import runtime
from app.samples import dataset, stats
from app.samples.storage import NotFound
from app.web import schemas
from app.web.api import IMAGE_400, MODELS_MISSING, RATE_LIMITED, STORAGE_DOWN, image_errors
from app.web.contract import admin_first, contract, validated
from app.web.errors import ApiError
from app.web.protection import require_admin
from app.web.schemas import error_model

bp = Blueprint("insight", __name__, url_prefix="/api")


class SampleIdConverter(BaseConverter):
    """Only well-formed sample ids match a route (anything else is a 404), so `<id>.png` can never be
    taken for an id and an id never comes near a storage key unchecked."""

    regex = dataset.SAMPLE_ID.pattern


bp.record_once(lambda state: state.app.url_map.converters.setdefault("sample_id", SampleIdConverter))

ADMIN_ERRORS = {
    "HTTP_401": (error_model("AdminUnauthorized", "unauthorized"),
                 "An `Authorization` header that is not `Bearer <token>`."),
    "HTTP_403": (error_model("AdminForbidden", "forbidden", "admin_disabled"),
                 "The token is wrong, or administration is disabled."),
}
NO_QUERY = (error_model("NoQueryTaken", "unknown_parameter"), "A query parameter was given (this address takes none).")
UNKNOWN_SAMPLE = (error_model("UnknownSample", "unknown_sample", "not_found"),
                  "No such sample, or not public (deleted, or kept without consent: the admin sees those); or the "
                  "id is malformed (no route matches).")
OPTIONAL_ADMIN = [{}, {"adminToken": []}]
SAMPLE_ID_DESCRIPTION = {"sample_id": "The sample's id: its UTC time and a random suffix."}


def _admin() -> bool:
    """True for a request carrying the right admin token; a wrong one is refused (401/403), none is public."""
    if "Authorization" not in request.headers:
        return False
    require_admin()
    return True


@bp.get("/stats")
@contract.validate(query=schemas.StatsQuery, resp=Responses(
    HTTP_200=(schemas.Stats, "The figures."),
    HTTP_400=(error_model("StatsBadRequest", "bad_window", "unknown_parameter"),
              "A query parameter is unknown or out of range."),
    HTTP_429=RATE_LIMITED, HTTP_503=STORAGE_DOWN))
def stats_json() -> ResponseReturnValue:
    """Figures from every stored sample

    Prequential accuracy as the nets learn, samples per day and per digit, the confusion matrix and the
    online versions.
    """
    window = validated(schemas.StatsQuery).window or stats.DEFAULT_WINDOW
    learner = runtime().learner
    manifest = learner.listing()
    floor = {name: reading.as_dict() for name, reading in learner.floor.items()}
    return jsonify(
        **runtime().index.summary(window),
        versions=stats.versions(manifest.current, manifest.latest, [public_record(r) for r in manifest.versions],
                                floor, BASELINE),
        learning=learner.reference is not None,
    )


@bp.get("/samples")
@contract.validate(query=schemas.SamplesQuery, security=OPTIONAL_ADMIN, resp=Responses(
    HTTP_200=(schemas.SamplePage, "One page."),
    HTTP_400=(error_model("SamplesBadRequest", "bad_label", "bad_misread", "bad_source", "bad_page", "bad_before",
                          "unknown_parameter"), "A query parameter is unknown, repeated or has a bad value."),
    **ADMIN_ERRORS, HTTP_429=RATE_LIMITED, HTTP_503=STORAGE_DOWN))
def samples() -> ResponseReturnValue:
    """A page of stored drawings, newest first: shared ones, or all for the admin

    Filtered by label, misreading and source.
    """
    query = validated(schemas.SamplesQuery)
    everyone = _admin()
    body = runtime().index.page(label=query.label, misread=query.misread, source=query.source, everyone=everyone,
                                page=query.page or 1, before=query.before)
    body["filters"] = query.model_dump(include={"label", "misread", "source"})
    body["everyone"] = everyone
    return jsonify(body)


def _visible(sample_id: str) -> dict[str, Any]:
    """The sample's index row if this request may see it, else a 404 that does not tell "private" from
    "absent"."""
    everyone = _admin()
    found = runtime().index.get(sample_id)
    if found is None or found["deleted"] or not (everyone or found["consent"]):
        raise ApiError("unknown_sample", f"There is no public sample {sample_id}.", 404)
    return found


def _stored(sample_id: str, key: str) -> bytes:
    """One object of a visible sample from storage (an index row without it: a 404, not a 500)."""
    try:
        return runtime().samples.storage.get(key)
    except NotFound:
        raise ApiError("unknown_sample", f"The drawing of sample {sample_id} is missing.", 404) from None


@bp.get("/samples/<sample_id:sample_id>")
@contract.validate(query=schemas.NoQuery, security=OPTIONAL_ADMIN, path_parameter_descriptions=SAMPLE_ID_DESCRIPTION,
                   resp=Responses(HTTP_200=(schemas.SampleDetail, "The sample."), HTTP_400=NO_QUERY, **ADMIN_ERRORS,
                                  HTTP_404=UNKNOWN_SAMPLE, HTTP_429=RATE_LIMITED, HTTP_503=STORAGE_DOWN))
def sample(sample_id: str) -> ResponseReturnValue:
    """One sample's metadata (not its client hash), its drawing and its 28×28 as data URLs"""
    found = _visible(sample_id)
    meta, png = json.loads(_stored(sample_id, found["json_key"])), _stored(sample_id, found["png_key"])
    try:
        preview = to_data_url(normalise(ink_map(open_image(png))))
    except DrawingError:
        preview = None  # an empty or unreadable stored drawing still has metadata worth showing
    return jsonify(**dataset.detail(meta), image=png_data_url(png),
                   preview=preview)


@bp.get("/samples/<sample_id:sample_id>.png")
@contract.validate(query=schemas.NoQuery, security=OPTIONAL_ADMIN, path_parameter_descriptions=SAMPLE_ID_DESCRIPTION,
                   resp=Responses("HTTP_200", HTTP_400=NO_QUERY, **ADMIN_ERRORS, HTTP_404=UNKNOWN_SAMPLE,
                                  HTTP_429=RATE_LIMITED, HTTP_503=STORAGE_DOWN))
def sample_png(sample_id: str) -> ResponseReturnValue:
    """The drawing as stored (PNG)"""
    found = _visible(sample_id)
    response = Response(_stored(sample_id, found["png_key"]), mimetype="image/png")
    # drawings never change, but a deletion should take effect soon; never shared caches for private ones
    response.headers["Cache-Control"] = "public, max-age=300" if found["consent"] else "private, no-store"
    return response


@bp.delete("/samples/<sample_id:sample_id>")
@contract.validate(query=schemas.NoQuery, security={"adminToken": []}, before=admin_first,
                   path_parameter_descriptions=SAMPLE_ID_DESCRIPTION, resp=Responses(
                       HTTP_200=(schemas.Deleted, "Deleted (again, if it already was)."), HTTP_400=NO_QUERY,
                       **ADMIN_ERRORS, HTTP_404=(error_model("NoSuchSample", "unknown_sample", "not_found"),
                                                 "No such sample (or a malformed id)."), HTTP_503=STORAGE_DOWN))
def delete_sample(sample_id: str) -> ResponseReturnValue:
    """Delete a sample: its JSON is kept as a tombstone without strokes, its PNG removed

    Admin only (see app/samples/dataset.py).
    """
    store = runtime().samples
    meta = dataset.delete(store, sample_id)
    if meta is None:
        raise ApiError("unknown_sample", f"There is no sample {sample_id}.", 404)
    store.index_meta(meta)  # the tombstone is in storage; if the index misses it now, a retry puts it there
    return jsonify(id=sample_id, deleted=True, deleted_at=meta["deleted_at"], image_removed=True)


@bp.post("/internals")
@contract.validate(json=schemas.ImageRequest, form=schemas.ImageForm, resp=Responses(
    HTTP_200=(schemas.Internals, "Inside the online nets."), **image_errors("Internals", IMAGE_400)))
def internals_json() -> ResponseReturnValue:
    """How the nets see a drawing

    The CNN's first-layer filters and feature maps, the FNN's most active hidden units.
    """
    digit = preprocess(validated(schemas.ImageRequest, schemas.ImageForm).drawing)
    return jsonify(internals.explain(runtime().ensemble, digit))


@bp.get("/architecture")
@contract.validate(query=schemas.NoQuery, resp=Responses(
    HTTP_200=(schemas.Architecture, "The nets and the card."),
    HTTP_400=(error_model("ArchitectureBadRequest", "unknown_parameter"), "A query parameter was given."),
    HTTP_429=RATE_LIMITED, HTTP_503=MODELS_MISSING))
def architecture() -> ResponseReturnValue:
    """Both nets layer by layer with parameter counts, and the model card's figures"""
    models = runtime().ensemble.models
    card_path = settings().model_dir / "card.json"
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        card = {}
    return jsonify(
        nets=[internals.fnn_architecture(models["fnn"]), internals.cnn_architecture(models["cnn"])],
        card=internals.card_figures(card),
    )
