"""How the whole site is doing: ``/healthz``, ``/readyz``, ``/metrics`` and
``advocacy metrics serve``.

This is the one module that reads every feature's tables to say so (the database gauges and
the readiness checks); the features themselves import only ``advocacy.observability``
(log helpers and metric objects).

``GET /healthz``: the process is alive (no I/O). ``GET /readyz``: it can serve; 200 when every
check passes, 503 otherwise, always with the checks::

    {"ready": false,
     "checks": {"database":   {"ok": true},
                "migrations": {"ok": true, "current": ["0004"], "head": ["0004"]},
                "directory":  {"ok": false, "states": 3, "oldest": "NH", "oldest_age_days": 20.1,
                               "max_age_days": 14, "detail": "..."},
                "outbox":     {"ok": true, "waiting": 12, "limit": 10000,
                               "oldest_age_seconds": 4.2}}}

The directory and outbox checks read the shared database, so they fail on every web host at
once: point a load balancer's health check at ``/healthz`` and use ``/readyz`` for deploys and
alerts.

``GET /metrics`` (with ADVOCACY_METRICS_TOKEN as a bearer token; 404 without the setting) and
``advocacy metrics serve`` (no token, on a port of its own: bind it to a private interface)
serve the process metrics of ``advocacy.observability.metrics`` and gauges read from the
database at scrape time, so any one process reports them for the whole site: contacts by
campaign and status, outbox messages by status and the age of the oldest waiting one, each
state's directory age, and each scheduled job's last and next run.
"""

from __future__ import annotations

import functools
import hmac
import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from flask import Blueprint, Flask, Response, abort, current_app, jsonify, request
from flask.cli import with_appcontext
from flask.typing import ResponseReturnValue
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from .actions.models import Contact
from .campaigns.models import Campaign
from .dbstatus import is_missing_table
from .dbtypes import utcnow
from .delivery.models import OutboxMessage
from .extensions import db
from .jobs.models import JobLease
from .lookup.directory import STALE_AFTER
from .lookup.models import DirectoryState
from .observability.metrics import multiprocess_dir, render_metrics

log = logging.getLogger(__name__)

blueprint = Blueprint("health", __name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# More messages waiting than this: the delivery workers are stopped or far behind.
OUTBOX_BACKLOG_LIMIT = 10_000


# -- /healthz and /readyz ---------------------------------------------------------------------


@functools.cache
def migration_heads() -> tuple[str, ...]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return tuple(sorted(ScriptDirectory.from_config(config).get_heads()))


def _no_store(response: Any) -> Any:
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/healthz")
def healthz() -> ResponseReturnValue:
    return _no_store(jsonify({"status": "ok"}))


def check_database() -> dict[str, Any]:
    db.session.execute(text("SELECT 1"))
    return {"ok": True}


class SchemaMissing(RuntimeError):
    """The database has no tables yet."""


def check_migrations() -> dict[str, Any]:
    head = list(migration_heads())
    try:
        current = sorted(
            str(row[0])
            for row in db.session.execute(text("SELECT version_num FROM alembic_version"))
        )
    except (OperationalError, ProgrammingError) as exc:
        if not is_missing_table(exc):
            raise
        db.session.rollback()
        raise SchemaMissing("the database is not set up: run `advocacy db upgrade`") from exc
    result: dict[str, Any] = {"ok": current == head, "current": current, "head": head}
    if current != head:
        result["detail"] = (
            "the database is not at the code's migration head: run `advocacy db upgrade`"
        )
    return result


def check_directory() -> dict[str, Any]:
    max_days = STALE_AFTER.days
    rows = db.session.execute(
        select(DirectoryState.state, DirectoryState.synced_at).order_by(DirectoryState.synced_at)
    ).all()
    if not rows:
        return {
            "ok": False,
            "states": 0,
            "max_age_days": max_days,
            "detail": "no state's roster is loaded: run `advocacy directory sync`",
        }
    state, synced_at = rows[0]
    age = utcnow() - synced_at
    result: dict[str, Any] = {
        "ok": age <= STALE_AFTER,
        "states": len(rows),
        "oldest": state.upper(),
        "oldest_age_days": round(age.total_seconds() / 86400, 2),
        "max_age_days": max_days,
    }
    if not result["ok"]:
        result["detail"] = (
            f"{state.upper()}'s roster is older than {max_days} days: "
            "is the scheduler running (`advocacy jobs list`)?"
        )
    return result


def check_outbox() -> dict[str, Any]:
    limit = OUTBOX_BACKLOG_LIMIT
    waiting, oldest = db.session.execute(
        select(func.count(), func.min(OutboxMessage.created_at)).where(
            OutboxMessage.status.in_(("pending", "sending"))
        )
    ).one()
    age = max((utcnow() - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
    result: dict[str, Any] = {
        "ok": int(waiting) <= limit,
        "waiting": int(waiting),
        "limit": limit,
        "oldest_age_seconds": round(age, 1),
    }
    if not result["ok"]:
        result["detail"] = "more messages are waiting than the limit: are the workers running?"
    return result


CHECKS = (
    ("database", check_database),
    ("migrations", check_migrations),
    ("directory", check_directory),
    ("outbox", check_outbox),
)


def readiness() -> tuple[bool, dict[str, dict[str, Any]]]:
    checks: dict[str, dict[str, Any]] = {}
    skip_reason = None
    for name, check in CHECKS:
        if skip_reason is not None:
            checks[name] = {"ok": False, "detail": f"skipped: {skip_reason}"}
            continue
        try:
            checks[name] = check()
        except SchemaMissing as exc:
            checks[name] = {"ok": False, "current": [], "detail": str(exc)}
            skip_reason = "the database is not set up"
        except Exception as exc:
            db.session.rollback()
            checks[name] = {"ok": False, "detail": f"{type(exc).__name__}"}
            if name == "database":
                skip_reason = "the database is not reachable"
    try:
        db.session.rollback()  # end the read transaction
    except Exception:  # noqa: S110 - the checks above already said what failed
        pass
    return all(c["ok"] for c in checks.values()), checks


@blueprint.get("/readyz")
def readyz() -> ResponseReturnValue:
    ready, checks = readiness()
    response = jsonify({"ready": ready, "checks": checks})
    response.status_code = 200 if ready else 503
    return _no_store(response)


# -- database gauges and /metrics -------------------------------------------------------------


def _age_seconds(when: datetime | None, now: datetime) -> float:
    return max((now - when).total_seconds(), 0.0) if when is not None else 0.0


class DatabaseCollector:
    """Gauges read from the shared database at scrape time (needs an application context)."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "advocacy_database_up", "1 when the database answered this scrape's queries."
        )
        now = utcnow()
        try:
            contacts = db.session.execute(
                select(Campaign.slug, Contact.status, func.count())
                .select_from(Contact)
                .join(Campaign, Campaign.id == Contact.campaign_id)
                .group_by(Campaign.slug, Contact.status)
            ).all()
            outbox = db.session.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            ).all()
            oldest = db.session.scalar(
                select(func.min(OutboxMessage.created_at)).where(
                    OutboxMessage.status.in_(("pending", "sending"))
                )
            )
            states = db.session.execute(
                select(DirectoryState.state, DirectoryState.synced_at)
            ).all()
            jobs = list(db.session.scalars(select(JobLease)))
            db.session.commit()
        except Exception as exc:
            db.session.rollback()
            log.warning("metrics: the database did not answer (%s)", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up

        gauge = GaugeMetricFamily(
            "advocacy_contacts",
            "Contacts by campaign and status (queued, failed, sent, logged, called, bounced, "
            "dead, recipient_left, discarded, ...).",
            labels=("campaign", "status"),
        )
        for slug, status, count in contacts:
            gauge.add_metric([slug, status], count)
        yield gauge

        gauge = GaugeMetricFamily(
            "advocacy_outbox_messages", "Outbox messages by status.", labels=("status",)
        )
        seen = {status: count for status, count in outbox}
        for status in sorted({"pending", "sending", "sent", "dead"} | set(seen)):
            gauge.add_metric([status], seen.get(status, 0))
        yield gauge

        gauge = GaugeMetricFamily(
            "advocacy_outbox_oldest_age_seconds",
            "Age of the oldest outbox message still waiting or being sent (0 when none).",
        )
        gauge.add_metric([], _age_seconds(oldest, now))
        yield gauge

        gauge = GaugeMetricFamily(
            "advocacy_directory_age_seconds",
            "Time since each state's roster was last loaded.",
            labels=("state",),
        )
        for state, synced_at in states:
            gauge.add_metric([state.upper()], _age_seconds(synced_at, now))
        yield gauge

        last_ok = GaugeMetricFamily(
            "advocacy_job_last_run_ok",
            "1 when a scheduled job's last run succeeded, 0 when it failed.",
            labels=("job",),
        )
        finished = GaugeMetricFamily(
            "advocacy_job_last_finished_timestamp_seconds",
            "When a scheduled job's last run finished (Unix time).",
            labels=("job",),
        )
        next_run = GaugeMetricFamily(
            "advocacy_job_next_run_timestamp_seconds",
            "When a scheduled job is next due (Unix time); far in the past means no "
            "scheduler is running.",
            labels=("job",),
        )
        for job in jobs:
            if job.last_status:
                last_ok.add_metric([job.name], 1 if job.last_status == "ok" else 0)
            if job.last_finished_at:
                finished.add_metric([job.name], job.last_finished_at.timestamp())
            if job.next_run_at:
                next_run.add_metric([job.name], job.next_run_at.timestamp())
        yield last_ok
        yield finished
        yield next_run


@blueprint.get("/metrics")
def metrics() -> Response:
    token = str(current_app.config.get("METRICS_TOKEN") or "")
    if not token:
        abort(404)
    given = request.headers.get("Authorization", "")
    scheme, _, value = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip(), token):
        return Response(
            "a bearer token is needed\n",
            401,
            {"WWW-Authenticate": 'Bearer realm="metrics"', "Content-Type": "text/plain"},
        )
    body, content_type = render_metrics(DatabaseCollector())
    return Response(body, 200, {"Content-Type": content_type, "Cache-Control": "no-store"})


def metrics_wsgi_app(app: Flask) -> Any:
    """A WSGI app that answers every GET with the metrics (for ``advocacy metrics serve``)."""

    def wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            start_response("405 Method Not Allowed", [("Content-Type", "text/plain")])
            return [b"method not allowed\n"]
        if environ.get("PATH_INFO", "/") not in ("/", "/metrics"):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found: the metrics are at /metrics\n"]
        with app.app_context():
            try:
                body, content_type = render_metrics(DatabaseCollector())
            finally:
                db.session.remove()
        start_response("200 OK", [("Content-Type", content_type), ("Cache-Control", "no-store")])
        return [body]

    return wsgi


# -- advocacy metrics serve ----------------------------------------------------------------------


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
