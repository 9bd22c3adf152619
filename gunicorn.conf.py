"""gunicorn settings (read automatically from the working directory): Procfile and scripts/run share them."""

import os

# all interfaces by default: a platform such as Heroku routes to $PORT from outside the dyno
bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# gevent: each connection is a greenlet, so a client trickling its body holds only its own greenlet and
# /api/health and every other request go on meanwhile. Measured against gthread (4 threads) under wrk, a GET
# /api/health costs the workers 0.59 ms of CPU instead of 1.10 (no GIL hand-offs between threads), and they
# share keep-alive connections evenly (gthread's greedy accept once gave one worker all 8 of wrk's).
# Serving is NumPy (the learner is its own process) and BLAS stays single-threaded: parallelism comes
# from workers. Everything that waits in a request (S3, PostgreSQL, the file locks, the learner's outcome,
# SQLite's write lock: app.samples.index) waits in Python or on a socket, so the greenlets go on.
worker_class = "gevent"
raw_env = ["OPENBLAS_NUM_THREADS=1"]
timeout = 60
accesslog = "-"
# no client address: people are only ever a salted hash
access_log_format = "%(m)s %(U)s %(s)s %(B)s bytes %(M)s ms"
# gunicorn's own and access logs as JSON lines, like the app's (app/logs.py), and with no IP address:
# gunicorn's error lines name the client (`Invalid request from ip=…`) and the bound interface
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "app.logs.JsonFormatter"}},
    "filters": {"no_address": {"()": "app.logs.AddressFilter"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["no_address"],
            "stream": "ext://sys.stderr",
        }
    },
    "root": {"handlers": ["stderr"], "level": "INFO"},
    "loggers": {
        name: {"handlers": ["stderr"], "level": "INFO", "propagate": False}
        for name in ("gunicorn.error", "gunicorn.access")
    },
}
