"""Headers, CORS, rate limits and error hygiene, through the real app."""

from __future__ import annotations

import threading
import time

import pytest

from app.config import Settings
from app.web.protection import ProcessCounters


@pytest.mark.parametrize("path", ["/", "/api/health", "/api/nothing"])
def test_security_headers_on_every_response(client, path):
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"


def test_cors_is_same_origin_unless_configured(make_app):
    preflight = {"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST"}
    default = make_app().test_client()
    assert "Access-Control-Allow-Origin" not in default.options("/api/predict", headers=preflight).headers
    allowed = make_app(CORS_ORIGINS=("https://friend.example",)).test_client()
    ok = allowed.options("/api/predict", headers={**preflight, "Origin": "https://friend.example"})
    assert ok.headers["Access-Control-Allow-Origin"] == "https://friend.example"
    assert "Access-Control-Allow-Origin" not in allowed.options("/api/predict", headers=preflight).headers


def test_rate_limit_answers_429_with_retry_after(make_app):
    client = make_app(RATE_LIMIT="3/minute").test_client()
    statuses = [client.post("/api/predict", json={"image": "x"}).status_code for _ in range(3)]
    assert statuses == [400, 400, 400]
    limited = client.post("/api/predict", json={"image": "x"})
    assert limited.status_code == 429 and limited.get_json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) > 0
    assert client.get("/api/health").status_code == 200  # health is never limited


def _limited_after(clients, path: str) -> int:
    """How many GETs of `path`, taking turns among `clients`, are answered before the first 429."""
    for sent in range(100):
        if clients[sent % len(clients)].get(path).status_code == 429:
            return sent
    raise AssertionError("never limited")


@pytest.mark.parametrize("path", ["/api/stats", "/api/samples", "/api/architecture"])
def test_the_public_figures_are_rate_limited_too(make_app, path):
    client = make_app(INSIGHT_RATE_LIMIT="4/minute").test_client()
    assert _limited_after([client], path) == 4
    assert int(client.get(path).headers["Retry-After"]) > 0
    assert client.post("/api/predict", json={"image": "x"}).status_code == 400  # the other limit is its own


def test_workers_sharing_a_redis_server_share_one_limit(make_app, redis_url):
    """Two apps stand for two workers (or hosts): with Redis the limit is the client's, not each worker's."""
    workers = [make_app(INSIGHT_RATE_LIMIT="6/minute", RATE_LIMIT_STORAGE=redis_url).test_client() for _ in range(2)]
    assert _limited_after(workers, "/api/stats") == 6
    alone = [make_app(INSIGHT_RATE_LIMIT="6/minute").test_client() for _ in range(2)]  # memory:// per process
    assert _limited_after(alone, "/api/stats") == 12


def test_in_process_limits_start_no_thread_per_request(make_app, monkeypatch):
    """limits' own memory storage starts a timer thread on most hits; the app's counters never do."""
    started = []

    class CountedTimer(threading.Timer):
        def start(self) -> None:
            started.append(self)
            super().start()

    client = make_app(INSIGHT_RATE_LIMIT="1000/minute").test_client()
    monkeypatch.setattr(threading, "Timer", CountedTimer)
    for _ in range(5):
        assert client.get("/api/stats").status_code == 200
        time.sleep(0.02)  # longer than limits' 10-ms timer: each hit would find it ended and start another
    assert started == []


def test_in_process_counters_forget_clients_whose_window_ended():
    counters = ProcessCounters("digitdraw-memory://")
    assert counters.incr("gone", expiry=0.01) == 1
    assert counters.incr("here", expiry=60) == 1
    time.sleep(0.02)
    counters.next_sweep = 0.0  # a sweep is due
    assert counters.incr("here", expiry=60) == 2  # counting goes on across the sweep
    assert "gone" not in counters.storage and "gone" not in counters.expirations
    assert counters.incr("gone", expiry=60) == 1  # its window ended: it starts again


def test_unexpected_errors_are_json_without_a_trace(make_app):
    app = make_app(TESTING=False)  # in testing mode Flask would re-raise the error instead of answering
    assert app.debug is False

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    assert response.status_code == 500 and response.get_json()["error"]["code"] == "internal_error"
    assert "secret internals" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


def test_settings_never_show_secrets():
    shown = repr(Settings(admin_token="hunter2", client_salt="pepper"))
    assert "hunter2" not in shown and "pepper" not in shown
