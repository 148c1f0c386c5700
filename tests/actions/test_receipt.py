"""The receipt: after sending, the visitor gets one email through the outbox saying what was
sent for them and to whom, the letter to print, whom to call and the link to share."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from advocacy.actions.models import Action
from advocacy.campaigns import service as campaign_service
from advocacy.delivery.models import OutboxMessage
from advocacy.delivery.worker import Worker
from advocacy.extensions import db
from tests.actions.helpers import BOTH, LOWER, send_mail_to, start, submission_key
from tests.delivery.conftest import SMTPServer


@pytest.fixture
def smtp(smtp: SMTPServer, app: Flask) -> SMTPServer:
    """The shared SMTP server, with the app's mail going to it."""
    send_mail_to(app, smtp)
    return smtp


def send(client: FlaskClient, slug: str) -> str:
    page = start(client, slug)
    key = submission_key(page)
    response = client.post(f"/c/{slug}/send", data={"submission_key": key})
    assert response.status_code == 303
    db.session.commit()
    return key


def receipts(smtp: SMTPServer) -> list[str]:
    found = [item for item in smtp.received if item.rcpt_tos == ("alex@example.org",)]
    return [item.message.get_content().replace("\r\n", "\n") for item in found]


def test_the_receipt_says_what_was_sent_and_what_to_do_next(
    ready: FlaskClient, smtp: SMTPServer
) -> None:
    key = send(ready, LOWER)
    Worker("receipt-test").run()
    [body] = receipts(smtp)
    thanks = f"https://act.example.org/c/{LOWER}/thanks/{key}"
    assert body.startswith("Hello Alex Rivera,\n\n")
    assert "- An email to Ada Alder: Please make sure our state holds every buyer" in body
    assert (
        "- A letter to The American Law Institute, for you to print and post: "
        f"{thanks}/letter/american-law-institute"
    ) in body
    assert "\nThe American Law Institute: 215-243-1600\n" in body
    assert "\nAda Alder: 555-0100 (capitol office)\n" in body
    assert "I am calling to thank the American Law Institute for reversing" in body
    assert f"See what happens to your messages: {thanks}\n" in body
    assert f"Ask others to join: https://act.example.org/c/{LOWER}?source=share-receipt\n" in body
    [item] = [i for i in smtp.received if i.rcpt_tos == ("alex@example.org",)]
    assert item.message["Subject"] == (
        "What you sent: Keep buyers of children accountable in every state"
    )
    assert item.message["Reply-To"] is None  # from the site, not in anyone's name


def test_a_campaign_may_turn_the_receipt_off(
    ready: FlaskClient, smtp: SMTPServer, campaigns: Path
) -> None:
    path = campaigns / f"{BOTH}.yaml"
    path.write_text(path.read_text() + "receipt: false\n")
    campaign_service.sync_folder(campaigns)
    send(ready, BOTH)
    kinds = set(db.session.scalars(select(OutboxMessage.kind)))
    assert kinds == {"contact"}
    Worker("receipt-test").run()
    assert receipts(smtp) == []


def test_with_confirmation_the_receipt_waits_for_it(
    ready: FlaskClient, app: Flask, smtp: SMTPServer
) -> None:
    app.config["REQUIRE_CONFIRMATION"] = True
    send(ready, LOWER)
    receipt = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "receipt"))
    assert receipt is not None and receipt.status == "held"
    Worker("receipt-test").run()
    bodies = receipts(smtp)
    assert len(bodies) == 1 and "confirm" in bodies[0]  # only the confirmation mail so far

    from advocacy.actions import confirmation

    action = db.session.scalars(select(Action)).one()
    assert confirmation.confirm(action)
    Worker("receipt-test").run()
    assert len(receipts(smtp)) == 2
    assert any(body.startswith("Hello Alex Rivera,\n\nThank you") for body in receipts(smtp))
