"""Gunicorn settings for the web processes; the Procfile starts them with::

    gunicorn -c python:advocacy.observability.gunicorn_conf "advocacy:create_app()"


Gunicorn's own variables still apply: ``PORT`` (listen on 0.0.0.0:PORT; default
127.0.0.1:8000), ``WEB_CONCURRENCY`` (worker processes) and ``GUNICORN_CMD_ARGS`` (any other
option, e.g. ``--bind 10.0.0.5:8000 --workers 4``).

* No access log: the application logs one line per request itself, with the request id and
  the URL rule instead of the path and query string (an address lookup's query holds a street
  address).
* Threads: an address lookup waits on the Census geocoder for up to a few seconds, in a
  thread. Each worker has 128 (``GUNICORN_THREADS``), created as they are needed; told their
  number (``SERVER_THREADS``), lookups wait in at most three quarters of them
  (``advocacy/lookup/guard.py``), so pages are always served at once, however many visitors
  look up addresses.
* Metrics from every worker process: with ``PROMETHEUS_MULTIPROC_DIR`` set (a folder private to
  this host), the folder is emptied when gunicorn starts and a dead worker's files are marked
  so its live gauges are dropped; a scrape of any worker adds up all of them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "128"))
timeout = 60
graceful_timeout = 30
keepalive = 5
accesslog = None
errorlog = "-"
# Gunicorn 27's control socket defaults to one path in the home folder, shared by every
# gunicorn of the user on the host; nothing here uses it.
control_socket_disable = True
# Trust X-Forwarded-Proto from the proxy in front (set ADVOCACY_TRUSTED_PROXIES for the app).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def _multiprocess_dir() -> Path | None:
    value = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir")
    return Path(value) if value else None


def on_starting(server: Any) -> None:
    folder = _multiprocess_dir()
    if folder is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):  # counts of a previous run would be added in again
        stale.unlink()


def post_worker_init(worker: Any) -> None:
    config = getattr(worker.wsgi, "config", None)  # the site's Flask app (or another app)
    if config is not None:
        config["SERVER_THREADS"] = worker.cfg.threads


def child_exit(server: Any, worker: Any) -> None:
    if _multiprocess_dir() is None:
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
