"""What every response carries and every client is held to: security headers, CORS, rate limits."""

from __future__ import annotations

import hmac
import time

from flask import Flask, Response, request
from flask_cors import CORS
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits.storage import MemoryStorage
from werkzeug.middleware.proxy_fix import ProxyFix

from app.config import Settings, settings
from app.web.errors import ApiError

# what each limit covers: the work a drawing costs (reading, learning), and the public read-only figures
DRAWING_ENDPOINTS = ("api.predict", "api.correct", "api.read", "api.read_correct", "insight.internals_json")
INSIGHT_ENDPOINTS = ("insight.stats_json", "insight.samples", "insight.sample", "insight.sample_png",
                     "insight.architecture")

# Scripts, styles, fetches and images come from this origin only (previews are data: URLs); no page
# may frame ours.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


SWEEP_SECONDS = 1.0  # how often the in-process counters drop the keys of clients whose window has ended
IN_PROCESS = "memory://"  # DIGITDRAW_RATE_LIMIT_STORAGE's default: counters in each process, as ProcessCounters


class ProcessCounters(MemoryStorage):
    """limits' in-process counters (memory://), with expired keys swept by the hit that finds a sweep due.

    MemoryStorage sweeps with a `threading.Timer` of 10 ms that it starts again on each hit after the last one
    ended: under steady traffic, a new thread for most requests. Measured in-process (the Flask test client,
    blocks of predictions alternated with and without them), those thread starts cost 8 % of a prediction.
    A counter reads the same either way (`get` drops an expired key before reading it); the sweep only frees
    the memory of clients that never come back. Only `incr`, what the fixed-window strategy digitdraw uses
    calls, is replaced: the other strategies' entries keep their timer.
    """

    STORAGE_SCHEME = "digitdraw-memory"

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.next_sweep = time.time() + SWEEP_SECONDS

    def sweep_when_due(self) -> None:
        now = time.time()
        if now < self.next_sweep:
            return
        self.next_sweep = now + SWEEP_SECONDS
        for key, expires in list(self.expirations.items()):
            if expires <= now:
                self.get(key)  # drops it

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        self.get(key)  # a window that has ended starts again from 0
        self.sweep_when_due()
        with self.locks[key]:
            self.storage[key] += amount
            if self.storage[key] == amount:
                self.expirations[key] = time.time() + expiry
        return self.storage.get(key, 0)


def _secure(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def protect(app: Flask, config: Settings) -> None:
    if config.proxy_hops:
        # behind N trusted proxies (Heroku's router is one) the client is the N-th X-Forwarded-For hop
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=config.proxy_hops, x_proto=config.proxy_hops)
    app.after_request(_secure)
    if config.cors_origins:
        CORS(app, resources={r"/api/*": {"origins": list(config.cors_origins)}})
    # memory:// counts per process, so N workers allow N× the limit; a shared store (redis://…) makes one
    # limit for every worker and host
    storage = config.rate_limit_storage.get_secret_value()
    limiter = Limiter(get_remote_address, app=app, headers_enabled=True, key_prefix="digitdraw",
                      storage_uri="digitdraw-memory://" if storage == IN_PROCESS else storage)
    for endpoints, limit in ((DRAWING_ENDPOINTS, config.rate_limit), (INSIGHT_ENDPOINTS, config.insight_rate_limit)):
        for endpoint in endpoints:
            app.view_functions[endpoint] = limiter.limit(limit)(app.view_functions[endpoint])


def require_admin() -> None:
    """Bearer token, compared in constant time; with no token configured the admin API is off."""
    token = settings().admin_token.get_secret_value()
    if not token:
        raise ApiError("admin_disabled", "Administration is disabled: DIGITDRAW_ADMIN_TOKEN is not set.", 403)
    sent = request.headers.get("Authorization", "")
    if not sent.startswith("Bearer "):
        raise ApiError("unauthorized", "Send the admin token as `Authorization: Bearer <token>`.", 401)
    if not hmac.compare_digest(sent.removeprefix("Bearer ").encode(), token.encode()):
        raise ApiError("forbidden", "The admin token is wrong.", 403)
