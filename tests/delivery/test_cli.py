"""``advocacy deliver``, ``deliver retry`` and ``deliver status`` from the command line."""

from __future__ import annotations

from flask import Flask

from .conftest import SMTPServer
from .factory import queue_contacts, state


def test_deliver_once_sends_everything_due(app: Flask, smtp_server: SMTPServer) -> None:
    app.config["MAIL_PORT"] = smtp_server.port
    ids = queue_contacts(5)
    result = app.test_cli_runner().invoke(args=["deliver", "--once", "--batch", "2"])
    assert result.exit_code == 0, result.output
    assert "sent 5" in result.output
    assert len(smtp_server.received) == 5
    assert {state(i).contact_status for i in ids} == {"sent"}


def test_deliver_defaults_to_once_and_log_mode_is_reported(app: Flask) -> None:
    app.config["DELIVERY_MODE"] = "log"
    [contact_id] = queue_contacts(1)
    result = app.test_cli_runner().invoke(args=["deliver"])
    assert result.exit_code == 0, result.output
    assert "Delivery mode: log" in result.output
    assert "logged 1" in result.output
    assert state(contact_id).contact_status == "logged"


def test_once_and_loop_are_exclusive(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["deliver", "--once", "--loop"])
    assert result.exit_code == 2
    assert "--once" in result.output


def test_retry_requeues_dead_letters_by_campaign(app: Flask, smtp_server: SMTPServer) -> None:
    app.config["DELIVERY_BACKOFF_SECONDS"] = 0.0  # MAIL_PORT is closed: every try fails
    [first] = queue_contacts(1, campaign_slug="first-campaign")
    [second] = queue_contacts(1, campaign_slug="second-campaign")
    runner = app.test_cli_runner()
    for _ in range(3):
        assert runner.invoke(args=["deliver", "--once"]).exit_code == 0
    assert {state(first).outbox_status, state(second).outbox_status} == {"dead"}

    status = runner.invoke(args=["deliver", "status"])
    assert status.exit_code == 0 and "dead     2" in status.output

    result = runner.invoke(args=["deliver", "retry", "--campaign", "first-campaign"])
    assert result.exit_code == 0, result.output
    assert "requeued 1 dead letter(s)" in result.output
    assert (state(first).outbox_status, state(second).outbox_status) == ("pending", "dead")

    unknown = runner.invoke(args=["deliver", "retry", "--campaign", "no-such-campaign"])
    assert unknown.exit_code == 1 and "no campaign" in unknown.output

    assert "requeued 1" in runner.invoke(args=["deliver", "retry"]).output
    app.config["MAIL_PORT"] = smtp_server.port
    result = runner.invoke(args=["deliver", "--once"])
    assert "sent 2" in result.output
    assert {state(first).contact_status, state(second).contact_status} == {"sent"}
