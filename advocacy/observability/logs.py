"""Structured logs: one line per event, as text or JSON, each with the request id.

``ADVOCACY_LOG_FORMAT=json`` writes one JSON object per line to stderr::

    {"ts": "2026-11-24T10:00:00.123Z", "level": "INFO", "logger": "advocacy.request",
     "message": "POST /c/<slug>/send 303 41.2ms", "request_id": "9f0c...", "method": "POST",
     "endpoint": "actions.send", "status": 303, "duration_ms": 41.2}

Personal data stays out of the logs at info level and above: the request line names the
URL *rule* (``/c/<slug>/thanks/<key>``), never the path or query string (an address lookup
carries the street address in its query); application code logs ids and counts, not names,
emails, street addresses or message bodies. A test runs the whole action flow and searches
every captured line for the visitor's details.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from datetime import datetime
from typing import Any

from flask import Flask, Response, g, request

from ..config import ConfigError
from . import context

LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
QUIET_ENDPOINTS = {"health.healthz", "health.readyz", "health.metrics"}

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}

request_log = logging.getLogger("advocacy.request")
_QUERY = re.compile(r"\?[^\s'\"),]*")


def redact_query(text: str) -> str:
    """``text`` with every URL query string replaced by ``?…``: an upstream error message
    (requests puts the URL in it) must not carry the street address it was asked about."""
    return _QUERY.sub("?\u2026", text)


class ContextFilter(logging.Filter):
    """Adds ``request_id`` (the current request's, or the running job's) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = context.current_id() or "-"
        return True


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


def _jsonable(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    return str(value)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        second = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        payload: dict[str, Any] = {
            "ts": f"{second}.{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or context.current_id() or "-",
        }
        for key, value in _extras(record).items():
            payload.setdefault(key, _jsonable(value))
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if not getattr(record, "request_id", None):
            record.request_id = context.current_id() or "-"
        text = super().format(record)
        extras = _extras(record)
        if extras:
            first, _, rest = text.partition("\n")
            pairs = " ".join(f"{k}={_jsonable(v)}" for k, v in extras.items())
            text = f"{first} {pairs}" + (f"\n{rest}" if rest else "")
        return text


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (test runners swap it)."""

    _advocacy = True

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def make_formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else TextFormatter()


def configure_logging(app: Flask) -> None:
    """One stderr handler on the root logger, in ADVOCACY_LOG_FORMAT, at ADVOCACY_LOG_LEVEL.

    Idempotent: a second app (tests make many) replaces the handler instead of adding one.
    """
    log_format = str(app.config.get("LOG_FORMAT") or "text").strip().lower()
    if log_format not in LOG_FORMATS:
        raise ConfigError(f"ADVOCACY_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}")
    level = str(app.config.get("LOG_LEVEL") or "INFO").strip().upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"ADVOCACY_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")
    app.config["LOG_FORMAT"], app.config["LOG_LEVEL"] = log_format, level
    _install(log_format, level)


def _install(log_format: str, level: str) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_advocacy", False):
            root.removeHandler(handler)
    handler = StderrHandler()
    handler.setFormatter(make_formatter(log_format))
    handler.addFilter(ContextFilter())
    root.addHandler(handler)
    root.setLevel(level)


def ensure_logging(app: Flask) -> None:
    """Put the handler back if something replaced the root logger's handlers (Alembic's
    ``fileConfig`` does, when ``advocacy serve`` migrates before serving)."""
    root = logging.getLogger()
    if not any(getattr(handler, "_advocacy", False) for handler in root.handlers):
        _install(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])


def install_request_hooks(app: Flask) -> None:
    """Request id in and out (``X-Request-ID``), and one log line per request."""

    @app.before_request
    def _start_request() -> None:
        ensure_logging(app)
        rid = context.sane_request_id(request.headers.get("X-Request-ID"))
        g.request_id = rid or context.new_request_id()
        g._request_id_token = context.correlation_id.set(g.request_id)
        g._request_started = time.perf_counter()

    @app.after_request
    def _finish_request(response: Response) -> Response:
        rid = g.get("request_id")
        if rid:
            response.headers["X-Request-ID"] = rid
        started = g.get("_request_started")
        if started is None:
            return response
        duration = time.perf_counter() - started
        endpoint = request.url_rule.endpoint if request.url_rule else "unmatched"
        rule = request.url_rule.rule if request.url_rule else "(no route)"
        from .metrics import observe_request

        observe_request(endpoint, request.method, response.status_code, duration)
        level = logging.DEBUG if endpoint in QUIET_ENDPOINTS else logging.INFO
        request_log.log(
            level,
            "%s %s %s %.1fms",
            request.method,
            rule,
            response.status_code,
            duration * 1000,
            extra={
                "method": request.method,
                "endpoint": endpoint,
                "status": response.status_code,
                "duration_ms": round(duration * 1000, 1),
            },
        )
        return response

    @app.teardown_request
    def _end_request(exc: BaseException | None) -> None:
        token = g.pop("_request_id_token", None)
        if token is not None:
            try:
                context.correlation_id.reset(token)
            except ValueError:  # reset from another context (should not happen)
                context.correlation_id.set(None)
