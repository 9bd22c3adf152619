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

RATE_LIMITED = ("api.predict", "api.correct", "insight.internals_json")

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


def protect(app: Flask, settings: Settings) -> None:
    if settings.proxy_hops:
        # behind N trusted proxies (Heroku's router is one) the client is the N-th X-Forwarded-For hop
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops)
    app.after_request(_secure)
    if settings.cors_origins:
        CORS(app, resources={r"/api/*": {"origins": list(settings.cors_origins)}})
    # one in-memory counter per worker: the limit holds per client and worker, which bounds abuse
    # without a shared store; put a Redis URI here (limits' storage_uri) to share it
    limiter = Limiter(get_remote_address, app=app, headers_enabled=True, storage_uri="memory://")
    for endpoint in RATE_LIMITED:
        app.view_functions[endpoint] = limiter.limit(settings.rate_limit)(
            app.view_functions[endpoint]
        )


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
