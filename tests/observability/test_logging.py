"""Structured logs with a request id, and no personal data at info level."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from advocacy import create_app
from advocacy.config import ConfigError
from advocacy.delivery.worker import run_workers
from advocacy.jobs.runner import Scheduler
from advocacy.observability.logs import JsonFormatter, redact_query
from tests.actions.helpers import ADDRESS, field_names, submission_key
from tests.fakes.upstream import FakeUpstreams


def json_lines(err: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


def test_json_lines_carry_the_request_id(
    app: Flask, client: FlaskClient, capsys: pytest.CaptureFixture[str]
) -> None:
    app.config["LOG_FORMAT"] = "json"
    from advocacy.observability.logs import _install

    _install("json", "INFO")
    capsys.readouterr()
    response = client.get("/", headers={"X-Request-ID": "lb-1234.abc"})
    assert response.headers["X-Request-ID"] == "lb-1234.abc"
    lines = [
        line for line in json_lines(capsys.readouterr().err) if line["logger"] == "advocacy.request"
    ]
    assert len(lines) == 1
    line = lines[0]
    assert line["request_id"] == "lb-1234.abc" and line["level"] == "INFO"
    assert line["method"] == "GET" and line["status"] == 200 and line["endpoint"]
    assert isinstance(line["duration_ms"], float) and str(line["ts"]).endswith("Z")
    assert line["message"].startswith("GET / 200 ")  # type: ignore[union-attr]


def test_an_odd_request_id_is_replaced(client: FlaskClient) -> None:
    for bad in ("has spaces", "x" * 200, "semi;colon", 'quo"te', "<script>"):
        response = client.get("/healthz", headers={"X-Request-ID": bad})
        rid = response.headers["X-Request-ID"]
        assert rid != bad and len(rid) == 32 and rid.isalnum()
    generated = client.get("/healthz").headers["X-Request-ID"]
    assert len(generated) == 32


def test_text_format_and_bad_settings(tmp_path: Path) -> None:
    app = create_app(
        {"TESTING": True, "INSTANCE_DIR": str(tmp_path), "SECRET_KEY": "x", "LOG_FORMAT": "TEXT"}
    )
    assert app.config["LOG_FORMAT"] == "text"
    with pytest.raises(ConfigError, match="ADVOCACY_LOG_FORMAT must be one of text, json"):
        create_app({"INSTANCE_DIR": str(tmp_path), "SECRET_KEY": "x", "LOG_FORMAT": "xml"})
    with pytest.raises(ConfigError, match="ADVOCACY_LOG_LEVEL"):
        create_app({"INSTANCE_DIR": str(tmp_path), "SECRET_KEY": "x", "LOG_LEVEL": "LOUD"})


def test_redact_query() -> None:
    text = (
        "ConnectionError: HTTPConnectionPool(host='127.0.0.1', port=9): Max retries exceeded "
        "with url: /geocoder/geographies/onelineaddress?address=12+Main+St&benchmark=4 (Caused"
    )
    assert "Main" not in redact_query(text) and "/onelineaddress?\u2026 (Caused" in redact_query(
        text
    )


VISITOR = {
    "name": "Zebulon Quartzfeather",
    "email": "zeb.quartzfeather@example.org",
    "street_address": ADDRESS,
    "phone": "603-555-0199",
    "opt_in": "y",
}
MESSAGE = "Unmistakable words from Zebulon about item 8472."


def test_no_personal_data_in_logs_for_a_whole_action(
    app: Flask,
    ready: FlaskClient,
    upstream: FakeUpstreams,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    app.config.update(DELIVERY_MODE="log", OPENSTATES_DATA_URL=str(tmp_path / "no-people"))
    slug = "every-exploited-child-is-a-victim"
    caplog.set_level(logging.INFO)  # the default ADVOCACY_LOG_LEVEL
    capsys.readouterr()
    # The whole flow: form, lookup, write, send (with an edited message), thank-you, a call.
    response = ready.post(f"/c/{slug}/act", data=VISITOR)
    assert response.status_code == 303
    page = ready.get(f"/c/{slug}/write").get_data(as_text=True)
    fields = field_names(page)
    sent = ready.post(
        f"/c/{slug}/send", data={"submission_key": submission_key(page), fields[0]: MESSAGE}
    )
    assert sent.status_code == 303
    assert ready.get(sent.headers["Location"]).status_code == 200
    # The same person again, a form error, an address the Census cannot answer for, the API.
    assert ready.post(f"/c/{slug}/act", data=VISITOR).status_code == 303
    assert ready.post(f"/c/{slug}/act", data={**VISITOR, "email": "zeb@"}).status_code == 400
    assert ready.get("/api/lookup", query_string={"address": ADDRESS}).status_code == 200
    upstream.mode = "500"
    other = {
        **VISITOR,
        "email": "zeb2@example.org",
        "street_address": "77 Quartzfeather Lane, Nashua NH",
    }
    assert ready.post(f"/c/{slug}/act", data=other).status_code == 303
    upstream.mode = "reset"
    assert (
        ready.get("/api/lookup", query_string={"address": other["street_address"]}).status_code
        == 503
    )
    # Delivery and the scheduled jobs.
    report = run_workers(1)
    assert report.logged == 7  # six emails and the visitor's receipt
    Scheduler("pii-check").tick()

    records = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert any(r.name == "advocacy.request" for r in records)
    assert any("census geocoder failed" in r.getMessage() for r in records)
    formatter = JsonFormatter()
    texts = [formatter.format(r) for r in records]
    texts += [repr(r.args) for r in records]
    texts.append(capsys.readouterr().err)  # what the app's own handler wrote to stderr
    everything = "\n".join(texts).lower()
    secrets = [
        "zebulon",
        "quartzfeather",
        "zeb.quartzfeather@example.org",
        "zeb2@example.org",
        "603-555-0199",
        "12 main st",
        "12+main+st",
        "main st",
        "77 quartzfeather",
        "item 8472",
    ]
    found = [secret for secret in secrets if secret in everything]
    for secret in found:
        at = everything.index(secret)
        print("LEAK:", everything[max(at - 300, 0) : at + 100])
    assert found == [], found


def _record_at(created: float) -> logging.LogRecord:
    record = logging.makeLogRecord({"name": "advocacy.test", "msg": "hello", "levelno": 20})
    record.levelname = "INFO"
    record.created, record.msecs = created, (created - int(created)) * 1000
    return record


def test_timestamps_are_the_standard_ones() -> None:
    from datetime import UTC, datetime

    from advocacy.observability.logs import TextFormatter

    text, json_format, standard = TextFormatter(), JsonFormatter(), logging.Formatter()
    for created in (1_790_000_000.0041, 1_790_000_000.9991, 1_790_000_001.5, 1_790_003_601.25):
        record = _record_at(created)
        assert text.format(record).startswith(standard.formatTime(record) + " INFO advocacy.test")
        stamp = datetime.fromtimestamp(created, UTC)
        expected = stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(record.msecs):03d}Z"
        assert json.loads(json_format.format(record))["ts"] == expected
    record = _record_at(1_790_000_000.5)
    assert text.formatTime(record, "%H") == standard.formatTime(record, "%H")
