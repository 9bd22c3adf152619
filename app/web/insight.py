"""JSON behind the "show the learning" pages: stats, the dataset browser, the nets' internals.

Errors use app.web.errors' one shape. Every query parameter is checked: an unknown or repeated one, or
a bad value, is a 400 naming it. Figures are computed from the stored metadata on each request
(one listing and one read per sample; see app/samples/stats.py and app/samples/dataset.py).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.routing import BaseConverter

from app.online.versions import BASELINE, public_record
from app.reading import internals
from app.reading.imaging import DrawingError, ink_map, normalise, open_image, preprocess, to_data_url
from app.runtime import runtime
from app.samples import dataset, stats
from app.samples.storage import NotFound
from app.samples.store import SOURCES, SampleStore, is_live, is_public
from app.web.api import image_field
from app.web.errors import ApiError
from app.web.protection import require_admin

bp = Blueprint("insight", __name__, url_prefix="/api")


class SampleIdConverter(BaseConverter):
    """Only well-formed sample ids match a route (anything else is a 404), so `<id>.png` can never be
    taken for an id and an id never comes near a storage key unchecked."""

    regex = dataset.SAMPLE_ID.pattern.removeprefix("^").removesuffix("$")


bp.record_once(lambda state: state.app.url_map.converters.setdefault("sample_id", SampleIdConverter))

MIN_WINDOW, MAX_WINDOW = 5, 1000
MAX_PAGE = 1_000_000
FLAGS = {"true": True, "1": True, "false": False, "0": False}
# the error code for a bad value of each query parameter
BAD = {"label": "bad_label", "misread": "bad_misread", "source": "bad_source", "page": "bad_page",
       "window": "bad_window"}


def _digit(name: str, raw: str) -> int | None:
    if raw == "":
        return None
    if not re.fullmatch(r"[0-9]", raw):
        raise ApiError(BAD[name], f"`{name}` must be a digit from 0 to 9 (or empty for any).", 400)
    return int(raw)


def _flag(name: str, raw: str) -> bool | None:
    if raw == "":
        return None
    if raw not in FLAGS:
        raise ApiError(BAD[name], f"`{name}` must be true or false (or empty for either).", 400)
    return FLAGS[raw]


def _source(name: str, raw: str) -> str | None:
    if raw == "":
        return None
    if raw not in SOURCES:
        raise ApiError(BAD[name], f"`{name}` must be one of {', '.join(SOURCES)} (or empty for any).", 400)
    return raw


def _whole(low: int, high: int) -> Callable[[str, str], int | None]:
    def parse(name: str, raw: str) -> int | None:
        if raw == "":
            return None
        if not re.fullmatch(r"[1-9][0-9]{0,6}", raw) or not low <= int(raw) <= high:
            raise ApiError(BAD[name], f"`{name}` must be a whole number from {low} to {high}.", 400)
        return int(raw)

    return parse


def _query(**parsers: Callable[[str, str], Any]) -> dict[str, Any]:
    """The request's query parameters, each parsed by its parser; anything else is refused.

    An empty value means "any" (or the default): the dataset page's filter form sends every field.
    """
    unknown = sorted(set(request.args) - set(parsers))
    if unknown:
        raise ApiError("unknown_parameter", f"Unknown query parameter `{unknown[0]}`; this address takes "
                         f"{', '.join(f'`{name}`' for name in parsers) or 'none'}.", 400)
    values = {}
    for name, parse in parsers.items():
        given = request.args.getlist(name)
        if len(given) > 1:
            raise ApiError(BAD[name], f"`{name}` was given {len(given)} times; give it once.", 400)
        values[name] = parse(name, given[0] if given else "")
    return values


def _metas(label: int | None = None) -> list[dict[str, Any]]:
    """Every sample's metadata (one label's, when given), read once per request."""
    cache = g.setdefault("insight_metas", {})
    if label not in cache:
        cache[label] = dataset.read_all(runtime().samples, label)
    return cache[label]


def _admin() -> bool:
    """True for a request carrying the right admin token; a wrong one is refused (401/403), none is public."""
    if "Authorization" not in request.headers:
        return False
    require_admin()
    return True


@bp.get("/stats")
def stats_json() -> ResponseReturnValue:
    """Prequential accuracy, samples per day and per digit, the confusion matrix and the online versions."""
    window = _query(window=_whole(MIN_WINDOW, MAX_WINDOW))["window"] or stats.DEFAULT_WINDOW
    learner = runtime().learner
    manifest = learner.versions.read()
    floor = {name: reading.as_dict() for name, reading in learner.floor.items()}
    return jsonify(
        **stats.summary(_metas(), window),
        versions=stats.versions(manifest.current, manifest.latest, [public_record(r) for r in manifest.versions],
                                floor, BASELINE),
        learning=learner.reference is not None,
    )


@bp.get("/samples")
def samples() -> ResponseReturnValue:
    """One page of stored drawings, newest first, filtered by label, misreading and source."""
    query = _query(label=_digit, misread=_flag, source=_source, page=_whole(1, MAX_PAGE))
    everyone = _admin()
    found = dataset.select(_metas(query["label"]), label=query["label"], was_misread=query["misread"],
                           source=query["source"], everyone=everyone)
    body = dataset.paginate(found, query["page"] or 1)
    body["filters"] = {k: query[k] for k in ("label", "misread", "source")}
    body["everyone"] = everyone
    return jsonify(body)


def _visible(sample_id: str) -> tuple[SampleStore, dict[str, Any]]:
    """The sample if this request may see it, else a 404 that does not tell "private" from "absent"."""
    everyone = _admin()
    store = runtime().samples
    found = dataset.find(store, sample_id)
    if found is None or not is_live(found[0]) or not (everyone or is_public(found[0])):
        raise ApiError("unknown_sample", f"There is no public sample {sample_id}.", 404)
    return store, found[0]


def _drawing(sample_id: str) -> tuple[dict, bytes]:
    """A visible sample's metadata and stored PNG."""
    store, meta = _visible(sample_id)
    try:
        return meta, store.png(meta)
    except NotFound:
        raise ApiError("unknown_sample", f"The drawing of sample {sample_id} is missing.", 404) from None


@bp.get("/samples/<sample_id:sample_id>")
def sample(sample_id: str) -> ResponseReturnValue:
    """A sample's metadata (without the client hash), its drawing and its 28×28 as data URLs."""
    _query()
    meta, png = _drawing(sample_id)
    try:
        preview = to_data_url(normalise(ink_map(open_image(png))))
    except DrawingError:
        preview = None  # an empty or unreadable stored drawing still has metadata worth showing
    return jsonify(**dataset.detail(meta), image="data:image/png;base64," + base64.b64encode(png).decode("ascii"),
                   preview=preview)


@bp.get("/samples/<sample_id:sample_id>.png")
def sample_png(sample_id: str) -> ResponseReturnValue:
    _query()
    meta, png = _drawing(sample_id)
    response = Response(png, mimetype="image/png")
    # drawings never change, but a deletion should take effect soon; never shared caches for private ones
    response.headers["Cache-Control"] = "public, max-age=300" if is_public(meta) else "private, no-store"
    return response


@bp.delete("/samples/<sample_id:sample_id>")
def delete_sample(sample_id: str) -> ResponseReturnValue:
    """Admin only: tombstone the sample's JSON and remove its PNG (see app/samples/dataset.py)."""
    require_admin()
    _query()
    store = runtime().samples
    meta = dataset.delete(store, sample_id)
    if meta is None:
        raise ApiError("unknown_sample", f"There is no sample {sample_id}.", 404)
    return jsonify(id=sample_id, deleted=True, deleted_at=meta["deleted_at"], image_removed=True)


@bp.post("/internals")
def internals_json() -> ResponseReturnValue:
    """How the nets see a drawing: the CNN's first-layer filters and feature maps, the FNN's top units."""
    digit = preprocess(image_field())
    state = runtime()
    state.learner.refresh()
    return jsonify(internals.explain(state.ensemble, digit))


@bp.get("/architecture")
def architecture() -> ResponseReturnValue:
    """Both nets layer by layer with parameter counts, and the model card's figures."""
    _query()
    models = runtime().ensemble.models
    card_path = current_app.extensions["settings"].model_dir / "card.json"
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        card = {}
    return jsonify(
        nets=[internals.fnn_architecture(models["fnn"]), internals.cnn_architecture(models["cnn"])],
        card=internals.card_figures(card),
    )
