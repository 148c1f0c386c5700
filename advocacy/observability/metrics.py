"""Prometheus metrics.

Two kinds:

* **Process metrics**, counted where they happen: request latency by endpoint
  (``advocacy_http_request_duration_seconds``), upstream call latency and errors for the
  Census geocoder and Open States (``advocacy_upstream_request_duration_seconds``,
  ``advocacy_upstream_errors_total``), lookup cache hits and misses
  (``advocacy_lookup_cache_requests_total``; ``advocacy_lookup_cache_hit_ratio`` is worked out
  from them at scrape time).
* **Database gauges**, computed from the shared database at scrape time, so any one process
  reports them for the whole site: contacts by campaign and status (``advocacy_contacts``),
  outbox messages by status and the age of the oldest waiting one, each state's directory age,
  and each scheduled job's last and next run.

Where they are served: ``/metrics`` on the site when ADVOCACY_METRICS_TOKEN is set (the scraper
sends ``Authorization: Bearer TOKEN``; without the token the route answers 404), or on a separate
port with ``advocacy metrics serve`` (bind it to a private interface).

Several processes: gunicorn runs several worker processes and each counts its own requests.
Set ``PROMETHEUS_MULTIPROC_DIR`` to an empty folder private to the host in the environment of
gunicorn (before it starts; the gunicorn config in ``gunicorn_conf.py`` empties it at start and
tidies up after dead workers) and every worker writes its counts there; a scrape of any worker,
or of ``advocacy metrics serve`` run with the same variable, adds them up. Without it each
process reports only its own counts.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

log = logging.getLogger(__name__)

# Counted in this process; only ever collected directly when not in multiprocess mode.
PROCESS_REGISTRY = CollectorRegistry()

REQUEST_LATENCY = Histogram(
    "advocacy_http_request_duration_seconds",
    "Time to answer a request, by endpoint (Flask endpoint name), method and status.",
    ("endpoint", "method", "status"),
    registry=PROCESS_REGISTRY,
)
UPSTREAM_LATENCY = Histogram(
    "advocacy_upstream_request_duration_seconds",
    "Time of one HTTP call to an outside service, by service and outcome (ok or error).",
    ("service", "outcome"),
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
    registry=PROCESS_REGISTRY,
)
UPSTREAM_ERRORS = Counter(
    "advocacy_upstream_errors",
    "Failed calls to an outside service, by service and kind (timeout, connection, http_5xx...).",
    ("service", "kind"),
    registry=PROCESS_REGISTRY,
)
LOOKUP_CACHE = Counter(
    "advocacy_lookup_cache_requests",
    "Address lookups answered from the lookup cache (hit) or by the Census geocoder (miss).",
    ("result",),
    registry=PROCESS_REGISTRY,
)


_warned = False


def _safely(record: Any) -> None:
    """Metrics never break a request or a job (e.g. an unwritable PROMETHEUS_MULTIPROC_DIR)."""
    global _warned
    try:
        record()
    except Exception:
        if not _warned:
            _warned = True
            log.warning("a metric could not be recorded", exc_info=True)


def observe_request(endpoint: str, method: str, status: int, seconds: float) -> None:
    _safely(lambda: REQUEST_LATENCY.labels(endpoint, method, str(status)).observe(seconds))


def observe_upstream(service: str, seconds: float, error: str | None = None) -> None:
    """One call to ``service`` (census, openstates_bulk, openstates_api) took ``seconds``;
    ``error`` names the kind of failure, or None when it answered usefully."""

    def record() -> None:
        UPSTREAM_LATENCY.labels(service, "error" if error else "ok").observe(seconds)
        if error:
            UPSTREAM_ERRORS.labels(service, error).inc()

    _safely(record)


def error_kind(exc: BaseException | None = None, status: int | None = None) -> str:
    """A short, bounded label for a failed call (never the message: it may hold a URL)."""
    if status is not None:
        return "http_429" if status == 429 else f"http_{status // 100}xx"
    name = type(exc).__name__ if exc is not None else "error"
    if "Timeout" in name:
        return "timeout"
    if "Connection" in name:
        return "connection"
    return "other"


def observe_lookup_cache(hit: bool) -> None:
    _safely(lambda: LOOKUP_CACHE.labels("hit" if hit else "miss").inc())


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir")


# -- collectors -----------------------------------------------------------------------------


class _Forward:
    """Collects another registry (this process's own metrics)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterable[Metric]:
        return self.registry.collect()


class CacheRatioCollector:
    """``advocacy_lookup_cache_hit_ratio``: hits / (hits + misses) since the counts began."""

    def __init__(self, source: Any) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        counts = {"hit": 0.0, "miss": 0.0}
        for metric in self.source.collect():
            if metric.name != "advocacy_lookup_cache_requests":
                continue
            for sample in metric.samples:
                if sample.name.endswith("_total"):
                    result = sample.labels.get("result", "")
                    counts[result] = counts.get(result, 0.0) + sample.value
        total = counts["hit"] + counts["miss"]
        gauge = GaugeMetricFamily(
            "advocacy_lookup_cache_hit_ratio",
            "Share of address lookups answered from the cache (0 before any lookup).",
        )
        gauge.add_metric([], counts["hit"] / total if total else 0.0)
        yield gauge


def _age_seconds(when: datetime | None, now: datetime) -> float:
    return max((now - when).total_seconds(), 0.0) if when is not None else 0.0


class DatabaseCollector:
    """Gauges read from the shared database at scrape time (needs an application context)."""

    def collect(self) -> Iterator[Metric]:
        from sqlalchemy import func, select

        from ..actions.models import Contact
        from ..campaigns.models import Campaign
        from ..dbtypes import utcnow
        from ..delivery.models import OutboxMessage
        from ..extensions import db
        from ..jobs.models import JobLease
        from ..lookup.models import DirectoryState

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
            "dead).",
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


def render_metrics() -> tuple[bytes, str]:
    """The exposition text for this scrape (inside an application context)."""
    registry = CollectorRegistry()
    source: Any
    if multiprocess_dir():
        source = MultiProcessCollector(registry)
    else:
        source = _Forward(PROCESS_REGISTRY)
        registry.register(source)
    registry.register(CacheRatioCollector(source))
    registry.register(DatabaseCollector())
    return generate_latest(registry), CONTENT_TYPE_LATEST


# -- serving ----------------------------------------------------------------------------------

blueprint = Blueprint("observability_metrics", __name__)


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
    body, content_type = render_metrics()
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
                body, content_type = render_metrics()
            finally:
                from ..extensions import db

                db.session.remove()
        start_response("200 OK", [("Content-Type", content_type), ("Cache-Control", "no-store")])
        return [body]

    return wsgi
