"""Log lines: JSON with the documented fields, and no client address, also in gunicorn's own lines."""

from __future__ import annotations

import json
import logging
import socket
import sys

from app.logs import AddressFilter, JsonFormatter
from tests.webserver import web_server


def _record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.makeLogRecord({"name": "digitdraw.test", "levelname": "WARNING", "msg": msg, "args": args})
    record.__dict__.update(extra)
    return record


def test_a_line_has_time_level_logger_message_and_the_extra_fields():
    line = json.loads(JsonFormatter().format(_record("loaded %d", 4, model_dir="/models")))
    assert list(line)[:4] == ["time", "level", "logger", "message"]
    assert line["level"] == "WARNING" and line["logger"] == "digitdraw.test" and line["message"] == "loaded 4"
    assert line["model_dir"] == "/models" and line["time"].endswith("+00:00")


def test_an_exception_is_one_field():
    try:
        raise ValueError("no")
    except ValueError:
        record = _record("failed", exc_info=sys.exc_info())
    assert "ValueError: no" in json.loads(JsonFormatter().format(record))["exception"]


def test_the_filter_hides_addresses_in_the_message_and_its_args():
    record = _record("Invalid request from ip=%s: %s", "127.0.0.1", "peer 2001:db8::7")
    assert AddressFilter().filter(record)
    assert record.getMessage() == "Invalid request from ip=[address]: peer [address]"


def test_gunicorn_logs_no_client_address(tmp_path):
    """A malformed request makes gunicorn log `Invalid request from ip=…`: the address must not reach stderr."""
    with (web_server(tmp_path, WEB_CONCURRENCY="1", DIGITDRAW_LEARNING="false") as server,
          socket.create_connection(("127.0.0.1", server.port), timeout=30) as connection):
        connection.sendall(b"GET /\x00 HTTP/1.1\r\n\r\n")
        assert connection.recv(4096).startswith(b"HTTP/1.1 400")
    lines = server.stderr.splitlines()
    assert any("Invalid request from ip=[address]" in line for line in lines), server.stderr
    assert [line for line in lines if "127.0.0.1" in line] == []
