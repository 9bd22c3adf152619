"""The worker's in-memory ensemble: loaded once at start, reached by request handlers."""

from __future__ import annotations

import logging

from flask import Flask, current_app

from app.config import Settings
from app.ensemble import Ensemble
from app.errors import InputError
from app.model_files import load_shipped, shipped_exist
from app.nets.cnn import configure_threads

log = logging.getLogger(__name__)
_KEY = "ensemble"


def load_ensemble(app: Flask, settings: Settings) -> None:
    """Load weights at start so no request pays for it; without weights the CLI still works."""
    if not shipped_exist(settings.model_dir):
        log.warning("no trained weights; run `flask --app app train`", extra={"model_dir": str(settings.model_dir)})
        return
    configure_threads(settings.tf_threads)
    fnn, cnn = load_shipped(settings.model_dir)
    app.extensions[_KEY] = Ensemble.from_shipped(fnn, cnn)
    log.info("models loaded", extra={"model_dir": str(settings.model_dir)})


def ensemble() -> Ensemble:
    found = current_app.extensions.get(_KEY)
    if found is None:
        raise InputError("models_missing", "The models are not trained yet; the operator must run training.", 503)
    return found
