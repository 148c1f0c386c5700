"""``advocacy metrics serve``: the Prometheus metrics on a port of their own."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from .metrics import metrics_wsgi_app, multiprocess_dir


@click.group("metrics")
def metrics_group() -> None:
    """Prometheus metrics."""


@metrics_group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=9100, show_default=True, type=int)
@with_appcontext
def serve_command(host: str, port: int) -> None:
    """Serve /metrics without a token on HOST:PORT (keep it on a private interface).

    With PROMETHEUS_MULTIPROC_DIR set to the folder the host's gunicorn workers write to, it
    reports their request counts too; the database gauges are the whole site's either way.
    """
    from waitress import serve

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    shared = multiprocess_dir()
    click.echo(
        f"Metrics on http://{host}:{port}/metrics"
        + (f" (adding up the processes in {shared})" if shared else " (this process only)"),
        err=True,
    )
    serve(metrics_wsgi_app(app), host=host, port=port, threads=2, ident="advocacy-metrics")
