"""What one send writes: the action, one contact per recipient reached, and the outbox rows of
the emailed ones, together or not at all; repeats and double submits write nothing more."""

from __future__ import annotations

import dataclasses
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from advocacy.actions import operations
from advocacy.actions.drafts import Draft
from advocacy.actions.models import Action, Constituent, Contact
from advocacy.campaigns.service import published_campaign
from advocacy.delivery import outbox
from advocacy.delivery.models import OutboxMessage
from advocacy.extensions import db
from tests.actions.helpers import (
    FORM,
    LOWER,
    count,
    field_names,
    nh,
    run_together,
    session_cookie,
    start,
    submission_key,
)
from tests.fakes.upstream import FakeUpstreams

MESSAGE_ID = re.compile(r"<[^<>@\s]+@localhost>")


def test_each_email_contact_has_its_own_outbox_row_and_the_letter_none(
    ready: FlaskClient, app: Flask
) -> None:
    page = start(ready, LOWER)
    ready.post(f"/c/{LOWER}/send", data={"submission_key": submission_key(page)})
    contacts = {c.id: c for c in db.session.scalars(select(Contact))}
    rows = list(db.session.scalars(select(OutboxMessage)))
    emailed = {i for i, c in contacts.items() if c.channel == "email"}
    assert len(emailed) == 5
    assert sorted(r.contact_id for r in rows if r.contact_id is not None) == sorted(emailed)
    assert len({r.message_id for r in rows}) == len(rows)
    for row in rows:
        assert row.kind in ("contact", "receipt") and row.status == "pending", row.kind
        assert row.attempts == 0 and MESSAGE_ID.fullmatch(row.message_id), row.message_id
    assert [r.kind for r in rows].count("receipt") == 1
    letter = next(c for c in contacts.values() if c.channel == "postal")
    assert letter.target_kind == "fixed" and letter.status == "logged"
    # Each message went into the contact of the person it was written for.
    for contact in contacts.values():
        assert contact.target_name.split()[-1] in (contact.body or ""), contact.target_name


def test_a_held_send_has_its_confirmation_row_and_held_contact_rows(
    ready: FlaskClient, app: Flask
) -> None:
    app.config["REQUIRE_CONFIRMATION"] = True
    page = start(ready, LOWER)
    ready.post(f"/c/{LOWER}/send", data={"submission_key": submission_key(page)})
    action = db.session.scalars(select(Action)).one()
    rows = list(db.session.scalars(select(OutboxMessage)))
    confirmations = [r for r in rows if r.kind == "confirmation"]
    assert len(confirmations) == 1 and confirmations[0].action_id == action.id
    assert confirmations[0].status == "pending"
    held = [r for r in rows if r.kind == "contact"]
    assert len(held) == 5 and {r.status for r in held} == {"held"}
    emailed = db.session.scalars(select(Contact).where(Contact.channel == "email")).all()
    assert {c.status for c in emailed} == {"unconfirmed"}
    assert action.confirm_by is not None and action.confirmed_at is None


def test_nothing_is_written_when_the_outbox_cannot_take_the_messages(
    ready: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = start(ready, LOWER)
    real = outbox.queue
    queued: list[str] = []

    def fail_on_the_third(kind: str, **values: object) -> OutboxMessage:
        queued.append(kind)
        if len(queued) == 3:
            raise RuntimeError("the outbox refused")
        return real(kind, **values)  # type: ignore[arg-type]

    monkeypatch.setattr(outbox, "queue", fail_on_the_third)
    sent = ready.post(f"/c/{LOWER}/send", data={"submission_key": submission_key(page)})
    assert sent.status_code == 500 and "Something went wrong" in sent.get_data(as_text=True)
    assert len(queued) == 3
    assert (count(Action), count(Constituent), count(Contact), count(OutboxMessage)) == (0, 0, 0, 0)


def test_a_repeat_is_answered_as_one_even_when_its_message_would_be_refused(
    ready: FlaskClient, app: Flask
) -> None:
    page = start(ready, LOWER)
    with ready.session_transaction() as cookie:
        draft = Draft.from_session(cookie["draft"])
    assert draft is not None
    sent = ready.post(f"/c/{LOWER}/send", data={"submission_key": submission_key(page)})
    assert sent.status_code == 303
    campaign = published_campaign(LOWER)
    assert campaign is not None
    emptied = {field_names(page)[0]: ""}  # "the message ... is empty" on its own

    def again(submitted: Draft) -> None:
        operations.submit(campaign, submitted, emptied)

    with app.test_request_context():
        again(draft)  # the same submission, sent twice: nothing more, and no complaint
        with pytest.raises(operations.AlreadyActed):
            again(dataclasses.replace(draft, submission_key="another-key-of-sixteen"))
        with pytest.raises(operations.ActionProblem, match="empty"):
            again(dataclasses.replace(draft, submission_key="a-third-key-sixteen", email="x@y.org"))
    assert (count(Action), count(Contact)) == (1, 6)


def test_the_address_step_knows_who_acted_whatever_the_address(
    ready: FlaskClient, app: Flask, upstream: FakeUpstreams
) -> None:
    page = start(ready, LOWER)
    ready.post(f"/c/{LOWER}/send", data={"submission_key": submission_key(page)})
    other_address = "9 ELM ST, NASHUA, NH, 03060"
    upstream.add_address(other_address, nh(other_address))
    for address in (FORM["street_address"], other_address):  # known, then new to the site
        again = app.test_client().post(f"/c/{LOWER}/act", data={**FORM, "street_address": address})
        assert again.status_code == 303, address
        assert again.headers["Location"] == f"/c/{LOWER}/already", address
    fresh = app.test_client().post(f"/c/{LOWER}/act", data={**FORM, "email": "new@example.org"})
    assert fresh.headers["Location"] == f"/c/{LOWER}/write"


def test_simultaneous_sends_all_get_through(ready: FlaskClient, app: Flask) -> None:
    visitors = [app.test_client() for _ in range(6)]
    keys = []
    for n, visitor in enumerate(visitors):
        keys.append(submission_key(start(visitor, LOWER, email=f"v{n}@example.org")))
    sent = run_together(
        app,
        [
            (lambda client, key=key: client.post(f"/c/{LOWER}/send", data={"submission_key": key}))
            for key in keys
        ],
        [session_cookie(visitor) for visitor in visitors],
    )
    assert [response.status_code for response in sent] == [303] * 6
    assert all("/thanks/" in response.headers["Location"] for response in sent)
    assert count(Action) == 6


def test_a_visitors_pages_leave_the_session_cookie_alone(ready: FlaskClient) -> None:
    campaign_page = ready.get(f"/c/{LOWER}")
    assert campaign_page.status_code == 200 and "Set-Cookie" not in campaign_page.headers
    acted = ready.post(f"/c/{LOWER}/act", data=FORM)
    assert acted.status_code == 303 and "Set-Cookie" in acted.headers  # the draft
    assert ready.get(f"/c/{LOWER}/write").status_code == 200  # its form's token: a new cookie
    page = ready.get(f"/c/{LOWER}/write")
    assert page.status_code == 200
    assert "Set-Cookie" not in page.headers  # nothing changed: nothing to sign and send
    assert "/admin/sign-in" in page.get_data(as_text=True)
