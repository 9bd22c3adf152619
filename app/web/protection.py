"""What every response carries and every client is held to: security headers, CORS, rate limits."""

from __future__ import annotations

import hmac

from flask import Flask, Response, request
from flask_cors import CORS
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
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
    limiter = Limiter(get_remote_address, app=app, headers_enabled=True,
                      storage_uri=config.rate_limit_storage.get_secret_value(), key_prefix="digitdraw")
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
