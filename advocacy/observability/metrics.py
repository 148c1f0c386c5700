"""This process's Prometheus metrics, counted where they happen.

Request latency by endpoint (``advocacy_http_request_duration_seconds``), upstream call latency
and errors for the Census geocoder and Open States (``advocacy_upstream_request_duration_seconds``,
``advocacy_upstream_errors_total``), lookup cache hits and misses
(``advocacy_lookup_cache_requests_total``; ``advocacy_lookup_cache_hit_ratio`` is worked out
from them at scrape time), and how address lookups wait on the Census (``lookup/guard.py``):
the visitor's whole wait by outcome (``advocacy_census_wait_seconds``), requests to it in
flight (``advocacy_census_in_flight``), its circuit breaker's state
(``advocacy_census_breaker_state``: 0 closed, 1 half-open, 2 open; the worst of the live
processes) and transitions (``advocacy_census_breaker_transitions_total``).
``advocacy/health.py`` serves them at ``/metrics`` together with gauges it reads from the
database.

Several processes: gunicorn runs several worker processes and each counts its own requests.
Set ``PROMETHEUS_MULTIPROC_DIR`` to an empty folder private to the host in the environment of
gunicorn (before it starts; the gunicorn config in ``gunicorn_conf.py`` empties it at start and
tidies up after dead workers) and every worker writes its counts there; a scrape of any worker,
or of ``advocacy metrics serve`` run with the same variable, adds them up. Without it each
process reports only its own counts.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

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

CENSUS_WAIT = Histogram(
    "advocacy_census_wait_seconds",
    "A visitor's whole wait on the Census geocoder (a request slot, the tries, the pauses), "
    "by outcome: ok, timeout, error, refused, paused (breaker open) or busy (no slot in time).",
    ("outcome",),
    buckets=(0.05, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 7.5, 10.0),
    registry=PROCESS_REGISTRY,
)
CENSUS_IN_FLIGHT = Gauge(
    "advocacy_census_in_flight",
    "Requests to the Census geocoder in flight now (capped per process).",
    multiprocess_mode="livesum",
    registry=PROCESS_REGISTRY,
)
BREAKER_STATES = {"closed": 0, "half_open": 1, "open": 2}
CENSUS_BREAKER = Gauge(
    "advocacy_census_breaker_state",
    "The Census geocoder's circuit breaker: 0 closed, 1 half-open, 2 open (per process; with "
    "several, the worst).",
    multiprocess_mode="livemax",
    registry=PROCESS_REGISTRY,
)
CENSUS_BREAKER_CHANGES = Counter(
    "advocacy_census_breaker_transitions",
    "Changes of the Census geocoder's circuit breaker, by the state it moved to.",
    ("state",),
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


def observe_census_wait(outcome: str, seconds: float) -> None:
    _safely(lambda: CENSUS_WAIT.labels(outcome).observe(seconds))


def set_census_in_flight(count: int) -> None:
    _safely(lambda: CENSUS_IN_FLIGHT.set(count))


def observe_breaker(state: str, changed: bool = True) -> None:
    """The breaker is in ``state`` (closed, half_open, open); ``changed``: it just moved."""

    def record() -> None:
        CENSUS_BREAKER.set(BREAKER_STATES[state])
        if changed:
            CENSUS_BREAKER_CHANGES.labels(state).inc()

    _safely(record)


def observe_lookup_cache(hit: bool) -> None:
    _safely(lambda: LOOKUP_CACHE.labels("hit" if hit else "miss").inc())


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir")


# -- collectors -----------------------------------------------------------------------------


class _ThisProcess:
    """Collects the metrics this process counted (PROCESS_REGISTRY)."""

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


def render_metrics(*collectors: Collector) -> tuple[bytes, str]:
    """The exposition text of this process's counts (or every process's, with
    PROMETHEUS_MULTIPROC_DIR), the cache hit ratio and ``collectors``."""
    registry = CollectorRegistry()
    source: Any
    if multiprocess_dir():
        source = MultiProcessCollector(registry)
    else:
        source = _ThisProcess(PROCESS_REGISTRY)
        registry.register(source)
    registry.register(CacheRatioCollector(source))
    for collector in collectors:
        registry.register(collector)
    return generate_latest(registry), CONTENT_TYPE_LATEST
