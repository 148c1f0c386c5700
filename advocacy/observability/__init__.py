"""Logs and metric objects, for every part of the site; this package imports no feature.

``init_app(app)`` (called by ``create_app``) sets up logging (ADVOCACY_LOG_FORMAT,
ADVOCACY_LOG_LEVEL) and, for each request, its request id, its log line and its latency
metric. ``metrics.py`` holds the process's metric objects (features record upstream calls and
cache hits there); ``context.py`` the request or job id every log line carries. What reads the
site's tables to report on them (``/readyz``, the database gauges of ``/metrics``) is
``advocacy/health.py``. See docs/deploy.md.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from .logs import configure_logging, install_request_hooks

    configure_logging(app)
    install_request_hooks(app)
