"""Prometheus metrics: who may read them, and what they say."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from werkzeug.test import Client

from advocacy.health import metrics_wsgi_app
from advocacy.jobs.registry import get_job
from advocacy.jobs.runner import run_job
from tests.actions.helpers import ADDRESS, nh
from tests.delivery.factory import queue_contacts
from tests.fakes.upstream import FakeUpstreams

TOKEN = "s3cret-scrape-token"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def scrape(client: FlaskClient) -> Samples:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return parse(response.get_data(as_text=True))


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def scraper(app: Flask, client: FlaskClient) -> FlaskClient:
    app.config["METRICS_TOKEN"] = TOKEN
    return client


def test_metrics_need_the_token(app: Flask, client: FlaskClient) -> None:
    assert client.get("/metrics").status_code == 404  # no token configured: no endpoint
    app.config["METRICS_TOKEN"] = TOKEN
    refused = client.get("/metrics")
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_request_latency_by_endpoint(scraper: FlaskClient) -> None:
    before = scrape(scraper)
    for _ in range(3):
        assert scraper.get("/healthz").status_code == 200
    assert scraper.get("/no/such/page").status_code == 404
    after = scrape(scraper)
    name = "advocacy_http_request_duration_seconds_count"
    labels = {"endpoint": "health.healthz", "method": "GET", "status": "200"}
    assert value(after, name, **labels) - value(before, name, **labels) == 3
    missing = {"endpoint": "unmatched", "method": "GET", "status": "404"}
    assert value(after, name, **missing) - value(before, name, **missing) == 1


def test_database_gauges(scraper: FlaskClient, directory: Path) -> None:
    queue_contacts(3)
    queue_contacts(2, campaign_slug="other-campaign")
    spec = get_job("campaign-schedule")
    assert spec is not None
    run_job(spec)
    samples = scrape(scraper)
    assert value(samples, "advocacy_database_up") == 1
    contacts = "advocacy_contacts"
    assert value(samples, contacts, campaign="protect-children", status="queued") == 3
    assert value(samples, contacts, campaign="other-campaign", status="queued") == 2
    assert value(samples, "advocacy_outbox_messages", status="pending") == 5
    assert value(samples, "advocacy_outbox_messages", status="dead") == 0
    assert value(samples, "advocacy_outbox_oldest_age_seconds") > 0
    ages = {
        dict(labels)["state"]: v
        for (name, labels), v in samples.items()
        if name == "advocacy_directory_age_seconds"
    }
    assert set(ages) == {"AK", "DC", "MA", "MN", "NE", "NH", "VT", "WA"}
    assert all(0 <= age < 600 for age in ages.values())
    assert value(samples, "advocacy_job_last_run_ok", job="campaign-schedule") == 1
    assert value(samples, "advocacy_job_next_run_timestamp_seconds", job="campaign-schedule") > 0


def test_upstream_latency_errors_and_cache_ratio(
    scraper: FlaskClient,
    upstream: FakeUpstreams,
    directory: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    upstream.add_address(ADDRESS, nh())
    before = scrape(scraper)
    for _ in range(2):  # a miss (Census asked), then a hit (from the cache)
        assert scraper.get("/api/lookup", query_string={"address": ADDRESS}).status_code == 200
    upstream.mode = "500"
    with caplog.at_level(logging.INFO):
        failed = scraper.get("/api/lookup", query_string={"address": "99 Other St, Nashua NH"})
    assert failed.status_code == 503
    after = scrape(scraper)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    latency = "advocacy_upstream_request_duration_seconds_count"
    assert delta(latency, service="census", outcome="ok") == 1
    assert delta(latency, service="census", outcome="error") == 1  # CENSUS_RETRIES=0: one try
    assert delta("advocacy_upstream_errors_total", service="census", kind="http_5xx") == 1
    assert delta("advocacy_lookup_cache_requests_total", result="hit") == 1
    assert delta("advocacy_lookup_cache_requests_total", result="miss") == 1
    hits = value(after, "advocacy_lookup_cache_requests_total", result="hit")
    misses = value(after, "advocacy_lookup_cache_requests_total", result="miss")
    assert value(after, "advocacy_lookup_cache_hit_ratio") == pytest.approx(hits / (hits + misses))
    # The failure was logged once, with its context and without the address.
    failures = [r for r in caplog.records if "census geocoder failed" in r.getMessage()]
    assert len(failures) == 1
    assert "HTTP 500" in failures[0].getMessage() and "Other St" not in failures[0].getMessage()


def test_metrics_on_a_separate_port(app: Flask) -> None:
    queue_contacts(1)
    client = Client(metrics_wsgi_app(app))
    response = client.get("/metrics")
    assert response.status_code == 200
    samples = parse(response.get_data(as_text=True))
    assert value(samples, "advocacy_contacts", campaign="protect-children", status="queued") == 1
    assert client.get("/elsewhere").status_code == 404
    assert client.post("/metrics").status_code == 405
