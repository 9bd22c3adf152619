"""gunicorn settings (read automatically from the working directory): Procfile and scripts/run share them."""

import os

# all interfaces by default: a platform such as Heroku routes to $PORT from outside the dyno
bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# threads, so that a client trickling its body holds one thread, not the worker: /api/health and every other
# request go on meanwhile. Serving is NumPy (the learner is its own process), and BLAS stays single-threaded:
# parallelism comes from workers and threads.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# A worker takes only the clients it has threads for, and closes each connection after its response, as a
# sync worker does. Otherwise a worker's main thread accepts every connection that comes while its threads are
# busy: keep-alive clients then stay wherever they landed (wrk's 8 connections split 8/0 about one run in four,
# one worker idle, throughput halved), and a client can wait behind slow ones while another worker is free.
worker_connections = threads
keepalive = 0
raw_env = ["OPENBLAS_NUM_THREADS=1"]
timeout = 60
# No access line of gunicorn's own by default: the platform's router logs every request (Heroku's with method, path,
# status, bytes and service time), and formatting one here cost about 6 % of a prediction's worker CPU under wrk
# (py-spy, bench/predict.py). GUNICORN_CMD_ARGS="--access-logfile -" turns it on, in this format:
accesslog = None
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
