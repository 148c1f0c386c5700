"""Email confirmation before delivery (ADVOCACY_REQUIRE_CONFIRMATION)."""

from __future__ import annotations

import re
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from advocacy.actions import confirmation
from advocacy.actions.models import Action, Contact
from advocacy.campaigns.models import Campaign
from advocacy.dbtypes import utcnow
from advocacy.delivery.models import OutboxMessage
from advocacy.delivery.worker import run_workers
from advocacy.extensions import db
from tests.actions.helpers import BOTH, FORM, count, start, submission_key

LINK = re.compile(r"http://127\.0\.0\.1:5000(/c/[a-z0-9-]+/confirm/[A-Za-z0-9_.-]+)")


@pytest.fixture
def confirming(app: Flask, ready: FlaskClient) -> FlaskClient:
    app.config["REQUIRE_CONFIRMATION"] = True
    return ready


def send(client: FlaskClient) -> str:
    page = start(client, BOTH)
    key = submission_key(page)
    response = client.post(f"/c/{BOTH}/send", data={"submission_key": key})
    assert response.status_code == 303
    return str(response.headers["Location"])


def mail_log(app: Flask) -> dict[str, bytes]:
    folder = Path(app.config["MAIL_LOG_DIR"])
    return {p.name: p.read_bytes() for p in folder.glob("*.eml")} if folder.exists() else {}


def statuses() -> tuple[set[str], dict[str, int]]:
    db.session.expire_all()
    contacts = {c.status for c in db.session.scalars(select(Contact))}
    outbox: dict[str, int] = {}
    for row in db.session.scalars(select(OutboxMessage)):
        label = f"{row.kind}:{row.status}"
        outbox[label] = outbox.get(label, 0) + 1
    return contacts, outbox


def confirmation_link(app: Flask) -> str:
    [(name, raw)] = [(n, b) for n, b in mail_log(app).items() if n.startswith("confirmation-")]
    mail = message_from_bytes(raw, policy=policy.default)
    assert mail["To"].addresses[0].addr_spec == FORM["email"]  # never a legislator
    assert "Reply-To" not in mail
    body = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    found = LINK.search(body)
    assert found, body
    return found.group(1)


def test_held_until_confirmed_then_delivered(app: Flask, confirming: FlaskClient) -> None:
    thanks = send(confirming)
    assert count(Action) == 1
    assert statuses() == (
        {"unconfirmed"},
        {"contact:held": 6, "confirmation:pending": 1, "receipt:held": 1},
    )
    assert "Check your email to confirm" in confirming.get(thanks).get_data(as_text=True)

    report = run_workers(1)  # only the confirmation mail goes out
    assert report.logged == 1
    assert statuses() == (
        {"unconfirmed"},
        {"contact:held": 6, "confirmation:sent": 1, "receipt:held": 1},
    )
    assert [n for n in mail_log(app) if n.startswith("contact-")] == []
    link = confirmation_link(app)

    page = confirming.get(link)  # a mail scanner's prefetch changes nothing
    assert page.status_code == 200 and "Confirm and send" in page.get_data(as_text=True)
    assert statuses() == (
        {"unconfirmed"},
        {"contact:held": 6, "confirmation:sent": 1, "receipt:held": 1},
    )
    action = db.session.scalar(select(Action))
    assert action is not None and action.confirmed_at is None

    response = confirming.post(link)
    assert response.status_code == 303 and response.headers["Location"] == thanks
    assert statuses() == (
        {"queued"},
        {"contact:pending": 6, "confirmation:sent": 1, "receipt:pending": 1},
    )
    db.session.expire_all()
    assert db.session.scalar(select(Action.confirmed_at)) is not None
    assert "Check your email" not in confirming.get(thanks).get_data(as_text=True)

    assert run_workers(1).logged == 7  # six emails and the receipt
    assert statuses() == (
        {"logged"},
        {"contact:sent": 6, "confirmation:sent": 1, "receipt:sent": 1},
    )
    assert len([n for n in mail_log(app) if n.startswith("contact-")]) == 6
    # Confirming again changes nothing and still ends on the thank-you page.
    again = confirming.post(link)
    assert again.status_code == 303 and again.headers["Location"] == thanks


def test_bad_and_expired_links(app: Flask, confirming: FlaskClient) -> None:
    send(confirming)
    run_workers(1)
    link = confirmation_link(app)

    for bad in (link[:-3] + "abc", f"/c/{BOTH}/confirm/nonsense", f"/c/{BOTH}/confirm/{'x' * 300}"):
        page = confirming.get(bad)
        assert page.status_code == 404 and "not valid" in page.get_data(as_text=True)
        assert confirming.post(bad).status_code == 303
    other = confirming.get(link.replace(BOTH, "oppose-buyer-immunity"))
    assert other.status_code == 404

    action = db.session.scalar(select(Action))
    assert action is not None
    action.confirm_by = utcnow() - timedelta(minutes=1)
    db.session.commit()
    page = confirming.get(link)
    assert page.status_code == 410 and "expired" in page.get_data(as_text=True)
    assert confirming.post(link).status_code == 303
    assert statuses() == (
        {"unconfirmed"},
        {"contact:held": 6, "confirmation:sent": 1, "receipt:held": 1},
    )


@pytest.mark.parametrize("closing", ["closed", "paused", "ended"])
def test_a_campaign_closed_before_confirming_sends_nothing(
    app: Flask, confirming: FlaskClient, closing: str
) -> None:
    thanks = send(confirming)
    run_workers(1)
    link = confirmation_link(app)
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == BOTH))
    assert campaign is not None
    if closing == "ended":
        campaign.ends_at = utcnow() - timedelta(minutes=1)
    else:
        campaign.status = closing
    db.session.commit()

    page = confirming.get(link)  # answered like an expired link: nothing was sent
    assert page.status_code == 410, page.status_code
    text = page.get_data(as_text=True)
    assert "your message was not sent" in text and "Confirm and send" not in text
    response = confirming.post(link)
    assert response.status_code == 303 and response.headers["Location"] != thanks
    assert statuses() == (
        {"unconfirmed"},
        {"contact:held": 6, "confirmation:sent": 1, "receipt:held": 1},
    )
    assert "not sent" in confirming.get(thanks).get_data(as_text=True)
    assert run_workers(1).claimed == 0

    # The service refuses too (a campaign closed between the page's check and the update).
    action = db.session.scalar(select(Action))
    assert action is not None
    assert confirmation.confirm(action) is False
    assert statuses() == (
        {"unconfirmed"},
        {"contact:held": 6, "confirmation:sent": 1, "receipt:held": 1},
    )
    db.session.expire_all()
    assert db.session.scalar(select(Action.confirmed_at)) is None


def test_a_paused_campaign_resumed_before_the_deadline_can_be_confirmed(
    app: Flask, confirming: FlaskClient
) -> None:
    send(confirming)
    run_workers(1)
    link = confirmation_link(app)
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == BOTH))
    assert campaign is not None
    campaign.status = "paused"
    db.session.commit()
    assert confirming.get(link).status_code == 410
    campaign.status = "live"
    db.session.commit()
    assert confirming.get(link).status_code == 200
    assert confirming.post(link).status_code == 303
    assert statuses() == (
        {"queued"},
        {"contact:pending": 6, "confirmation:sent": 1, "receipt:pending": 1},
    )


def test_the_expiry_job_expires_once(app: Flask, confirming: FlaskClient) -> None:
    thanks = send(confirming)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["jobs", "run", "expire-unconfirmed"], catch_exceptions=False)
    assert first.exit_code == 0 and "0 unconfirmed action(s) expired" in first.output

    action = db.session.scalar(select(Action))
    assert action is not None
    action.confirm_by = utcnow() - timedelta(seconds=1)
    db.session.commit()
    second = runner.invoke(args=["jobs", "run", "expire-unconfirmed"], catch_exceptions=False)
    assert "1 unconfirmed action(s) expired" in second.output, second.output
    # The held rows and the unsent confirmation mail are gone; nothing is ever delivered.
    assert statuses() == ({"expired"}, {})
    assert run_workers(1).claimed == 0
    assert "was never confirmed" in confirming.get(thanks).get_data(as_text=True)

    third = runner.invoke(args=["jobs", "run", "expire-unconfirmed"], catch_exceptions=False)
    assert "0 unconfirmed action(s) expired" in third.output
    assert statuses() == ({"expired"}, {})


def test_without_the_setting_nothing_is_held(ready: FlaskClient) -> None:
    send(ready)
    assert statuses() == ({"queued"}, {"contact:pending": 6, "receipt:pending": 1})


def test_the_job_is_scheduled_only_while_confirmation_is_on(app: Flask) -> None:
    from advocacy.jobs.registry import get_job

    job = get_job("expire-unconfirmed")
    assert job is not None and job.interval(app.config) is None
    app.config["REQUIRE_CONFIRMATION"] = True
    assert job.interval(app.config) == timedelta(minutes=15)


def test_an_action_never_confirmed_does_not_block_the_real_owner(
    app: Flask, confirming: FlaskClient
) -> None:
    send(confirming)  # someone typed this email address
    # While the confirmation is pending, trying again is refused (no second mail to them).
    again = confirming.post(f"/c/{BOTH}/act", data=FORM)
    assert again.status_code == 303 and again.headers["Location"] == f"/c/{BOTH}/already"
    action = db.session.scalar(select(Action))
    assert action is not None
    action.confirm_by = utcnow() - timedelta(minutes=1)  # never confirmed in time
    db.session.commit()
    owner = app.test_client()
    page = start(owner, BOTH)  # the address's owner can act now
    key = submission_key(page)
    assert owner.post(f"/c/{BOTH}/send", data={"submission_key": key}).status_code == 303
    assert count(Action) == 2
