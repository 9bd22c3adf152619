"""One JSON object per log line, so that log platforms can index fields instead of parsing prose;
and no IP address in any line, since people are only ever a salted hash (app/web/api.py).

python-json-logger does the rendering (the `extra=` fields, exceptions, odd values); this module
only names the fields and stamps the time. gunicorn.conf.py wires both classes into gunicorn's
own loggers, whose lines (`Invalid request from ip=…`) would otherwise carry the client's address.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import sys
from datetime import UTC, datetime

from pythonjsonlogger.json import JsonFormatter as BaseJsonFormatter

ADDRESS = "[address]"
# a run of the characters IPv4 and IPv6 addresses are made of, with a separator in it; each run is
# then checked with ipaddress, so that times (12:30:45) or versions (2.21.0) are left alone
_CANDIDATE = re.compile(r"[0-9A-Fa-f:.]*[:.][0-9A-Fa-f:.]*")


class JsonFormatter(BaseJsonFormatter):
    """Renders a record as {"time", "level", "logger", "message", …extra fields, "exception"}."""

    def __init__(self) -> None:
        super().__init__(
            "{asctime}{levelname}{name}{message}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger", "exc_info": "exception"},
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _hide(match: re.Match[str]) -> str:
    text = match.group()
    if _is_address(text):
        return ADDRESS
    core = text.rstrip(".:")  # "ip=127.0.0.1: Invalid …", "from 10.0.0.7."
    if _is_address(core):
        return ADDRESS + text[len(core) :]
    host, colon, port = core.rpartition(":")  # an IPv4 address with its port
    if colon and port.isdigit() and "." in host and _is_address(host):
        return ADDRESS + colon + port + text[len(core) :]
    return text


def without_addresses(text: str) -> str:
    """`text` with every IPv4 and IPv6 address replaced by [address].

    >>> without_addresses("Invalid request from ip=127.0.0.1: bad line; peer [::1]:8000, 10.0.0.7:443")
    'Invalid request from ip=[address]: bad line; peer [[address]]:8000, [address]:443'
    >>> without_addresses("at 12:30:45 with keras 2.21.0 and fe80::1%eth0")
    'at 12:30:45 with keras 2.21.0 and [address]%eth0'
    """
    return _CANDIDATE.sub(_hide, text)


class AddressFilter(logging.Filter):
    """Rewrites each record's message (after its %-args are applied) without IP addresses.

    Set on handlers rather than loggers: a handler's filter sees every record that reaches it,
    also those propagated from child loggers.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, dict):  # a structured message: its fields are the caller's to choose
            return True
        message = record.getMessage()
        hidden = without_addresses(message)
        if hidden != message:
            record.msg, record.args = hidden, None
        return True


def configure_logging(level: str) -> None:
    """Route the app's and gunicorn's loggers to stderr as JSON; idempotent for repeated app factories."""
    root = logging.getLogger()
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        root.handlers = [handler]
    for handler in root.handlers:
        if not any(isinstance(f, AddressFilter) for f in handler.filters):
            handler.addFilter(AddressFilter())
    root.setLevel(level)
