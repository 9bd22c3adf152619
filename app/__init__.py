"""digitdraw: draw a digit, four nets read it, corrections teach them.

The factory follows Flask's tutorial app: settings, logging, one blueprint per concern and the CLI
commands are wired here, and each gunicorn worker builds its own app (and its own TensorFlow state).
"""

from __future__ import annotations

import logging
import os
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one worker per core: BLAS threads would only contend

from flask import Flask

from app.config import ROOT, Settings
from app.logs import configure_logging

log = logging.getLogger(__name__)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build one app; `config` overrides settings by upper-case name (DATA_DIR=…) and passes the rest
    (TESTING=…) to Flask's own config."""
    overrides = config or {}
    settings = Settings.load(overrides)
    configure_logging(settings.log_level)
    app = Flask(__name__, static_folder=str(ROOT / "static"), template_folder=str(ROOT / "templates"))
    # Flask enforces the body limit itself, so this one setting is also handed to its config
    app.config.update(MAX_CONTENT_LENGTH=settings.max_request_bytes)
    app.config.update({key: value for key, value in overrides.items() if key.upper() not in Settings.names()})
    app.extensions["settings"] = settings  # read through app.config.settings()

    from app.offline.cli import register_commands
    from app.runtime import start
    from app.web import api, insight, pages
    from app.web.errors import register_error_handlers
    from app.web.protection import protect

    register_error_handlers(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(insight.bp)
    register_commands(app)
    protect(app, settings)
    start(app, settings)
    return app
