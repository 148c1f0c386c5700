"""A message typed into the form reaches a real SMTP server (aiosmtpd) through the worker."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from advocacy.actions.models import Contact
from advocacy.config import smtp_settings
from advocacy.delivery.worker import Worker
from advocacy.extensions import db
from tests.actions.helpers import LOWER, field_names, start, submission_key
from tests.delivery.conftest import SMTPServer

MAIL_FROM = "advocacy@speakup.example.org"


def test_form_to_send_to_worker_to_smtp(ready: FlaskClient, app: Flask, smtp: SMTPServer) -> None:
    app.config.update(
        smtp_settings(f"smtp://127.0.0.1:{smtp.port}"),
        DELIVERY_MODE="smtp",
        MAIL_FROM=MAIL_FROM,
        SITE_NAME="Speak Up",
    )
    page = start(ready, LOWER)
    first = field_names(page)[0]
    response = ready.post(
        f"/c/{LOWER}/send",
        data={
            "submission_key": submission_key(page),
            first: "Dear Representative Alder,\n\nMy own words: please act this session.\n\n"
            "Alex Rivera",
        },
    )
    assert response.status_code == 303
    edited = db.session.scalar(select(Contact).where(Contact.personalised.is_(True)))
    assert edited is not None and edited.target_name == "Ada Alder"
    db.session.commit()

    report = Worker("form-test").run()
    # Five representatives and the visitor's receipt; ALI is by post.
    assert (report.claimed, report.sent) == (6, 6)
    by_recipient = {item.rcpt_tos: item for item in smtp.received}
    assert set(by_recipient) == {
        (f"{first_name}@leg.example.gov",) for first_name in ("ada", "ben", "cy", "di", "ed")
    } | {("alex@example.org",)}
    item = by_recipient[("ada@leg.example.gov",)]
    message = item.message
    assert item.mail_from == MAIL_FROM
    assert [a.addr_spec for a in message["From"].addresses] == [MAIL_FROM]
    assert message["From"].addresses[0].display_name == "Alex Rivera via Speak Up"
    assert [(a.display_name, a.addr_spec) for a in message["Reply-To"].addresses] == [
        ("Alex Rivera", "alex@example.org")
    ]
    assert [(a.display_name, a.addr_spec) for a in message["To"].addresses] == [
        ("Ada Alder", "ada@leg.example.gov")
    ]
    assert (
        str(message["Subject"])
        == "Please make sure our state holds every buyer of a child accountable"
    )
    body = message.get_content().replace("\r\n", "\n")
    assert body.startswith("Dear Representative Alder,\n")
    assert "My own words: please act this session." in body
    other = by_recipient[("ben@leg.example.gov",)].message.get_content().replace("\r\n", "\n")
    assert other.startswith("Dear Representative Birch,\n")
    assert "My own words" not in other and "Model Penal Code" in other
    db.session.expire_all()
    statuses = {c.target_name: c.status for c in db.session.scalars(select(Contact))}
    assert statuses["Ada Alder"] == "sent" and statuses["The American Law Institute"] == "logged"
