"""HTML pages; everything dynamic comes from the JSON API."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("pages", __name__)


@bp.get("/")
def index() -> str:
    return render_template("index.html")


@bp.get("/collect")
def collect() -> str:
    """Collection mode: the page asks for each digit in turn, so the dataset grows balanced."""
    return render_template("collect.html")
