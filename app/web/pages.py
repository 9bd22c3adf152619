"""HTML pages: drawing and collecting, and the "show the learning" pages (stats, the dataset browser,
the nets and their internals, about).

Each page is a static shell; its script fetches what it shows from the JSON API, whose addresses
reach it as data attributes written with url_for in the templates.
"""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import SQLAlchemyError

from app.runtime import runtime
from app.samples import dataset

bp = Blueprint("pages", __name__)


@bp.get("/")
def index() -> str:
    return render_template("index.html")


@bp.get("/number")
def number() -> str:
    """Several digits in one drawing: read as they are written, corrected as a whole."""
    return render_template("number.html")


@bp.get("/collect")
def collect() -> str:
    """Collection mode: the page asks for each digit in turn, so the dataset grows balanced."""
    return render_template("collect.html")


@bp.get("/stats")
def stats() -> str:
    return render_template("insight/stats.html")


@bp.get("/dataset")
def dataset_grid() -> str:
    return render_template("insight/dataset.html")


@bp.get("/dataset/<sample_id>")
def dataset_sample(sample_id: str) -> ResponseReturnValue:
    """One drawing; a person following a stale or mistyped link gets a page saying so, with a 404.

    A drawing its author did not share gets exactly the page of one that does not exist, so the page
    cannot tell anyone that a private drawing is there; an admin's token (which only the page's script
    holds) still loads it through the API.
    """
    well_formed = dataset.valid_id(sample_id)
    public = False
    if well_formed:
        try:
            found = runtime().index.get(sample_id)
            public = found is not None and found["consent"] and not found["deleted"]
        except SQLAlchemyError:
            public = True  # let the page's own request report the outage
    page = render_template("insight/sample.html", sample_id=sample_id, well_formed=well_formed, missing=not public)
    return page, 200 if public else 404


@bp.get("/models")
def models() -> str:
    return render_template("insight/models.html")


@bp.get("/internals")
def internals() -> str:
    return render_template("insight/internals.html")


@bp.get("/about")
def about() -> str:
    return render_template("insight/about.html")
