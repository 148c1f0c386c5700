"""What the action flow asks of the database: the send writes its rows in one transaction,
the act step reuses a remembered address lookup once the database confirms it, and pages and
the address step may reuse the campaign's status, and the write page and the send the
legislators' rows, for ADVOCACY_PUBLIC_CACHE_SECONDS (the send writes only while the campaign
is still as seen)."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select, update

from advocacy.actions import service
from advocacy.actions.models import Action, Constituent, Contact
from advocacy.campaigns import service as campaign_service
from advocacy.campaigns.models import Campaign
from advocacy.campaigns.pages import published
from advocacy.delivery.models import OutboxMessage
from advocacy.extensions import db
from advocacy.lookup import service as lookup_service
from advocacy.lookup.models import Legislator
from tests.actions.helpers import (
    FORM,
    LOWER,
    count,
    field_names,
    nh,
    start,
    submission_key,
    write_roster,
)
from tests.conftest import POSTGRES_URL, Clock
from tests.fakes.upstream import FakeUpstreams
from tests.lookup.people import ROSTERS, Row
from tests.queries import counted_statements

INSERT = re.compile(r"^\s*INSERT INTO (\w+)", re.IGNORECASE)


def inserts(statements: list[str]) -> list[str]:
    return [m.group(1) for s in statements if (m := INSERT.match(s))]


def test_a_send_writes_its_tables_in_order(ready: FlaskClient, app: Flask) -> None:
    page = start(ready, LOWER)  # five representatives by email, the ALI by post
    with counted_statements() as statements:
        sent = ready.post(f"/c/{LOWER}/send", data={"submission_key": submission_key(page)})
    assert sent.status_code == 303
    tables = list(dict.fromkeys(inserts(statements)))
    assert tables == ["constituent", "action", "contact", "outbox"]
    assert (count(Constituent), count(Action), count(Contact)) == (1, 1, 6)
    assert count(OutboxMessage) == 5


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
    for row in rows:
        contact = contacts[row.contact_id or 0]
        assert row.kind == "contact" and row.status == "pending" and row.attempts == 0
        assert re.fullmatch(r"<[0-9.]+\.contact@[a-z0-9.-]+>", row.message_id)
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
    assert re.fullmatch(r"<[0-9.]+\.confirmation@[a-z0-9.-]+>", confirmations[0].message_id)
    held = [r for r in rows if r.kind == "contact"]
    assert len(held) == 5 and {r.status for r in held} == {"held"}
    emailed = db.session.scalars(select(Contact).where(Contact.channel == "email")).all()
    assert {c.status for c in emailed} == {"unconfirmed"}
    assert action.confirm_by is not None and action.confirmed_at is None


def test_a_repeat_is_answered_as_one_even_when_its_message_would_be_refused(
    ready: FlaskClient, app: Flask
) -> None:
    page = start(ready, LOWER)
    with ready.session_transaction() as cookie:
        draft = service.Draft.from_session(cookie["draft"])
    assert draft is not None
    sent = ready.post(f"/c/{LOWER}/send", data={"submission_key": submission_key(page)})
    assert sent.status_code == 303
    campaign = published(LOWER, fresh=True)
    assert campaign is not None
    emptied = {field_names(page)[0]: ""}  # "the message ... is empty" on its own

    def again(submitted: service.Draft) -> None:
        service.submit(campaign, submitted, emptied)

    with app.test_request_context():
        again(draft)  # the same submission, sent twice: nothing more, and no complaint
        with pytest.raises(service.AlreadyActed):
            again(dataclasses.replace(draft, submission_key="another-key-of-sixteen"))
        with pytest.raises(service.ActionProblem, match="empty"):
            again(dataclasses.replace(draft, submission_key="a-third-key-sixteen", email="x@y.org"))
    assert (count(Action), count(Contact)) == (1, 6)


def test_the_act_step_reuses_a_remembered_lookup_after_one_check(
    ready: FlaskClient, app: Flask, upstream: FakeUpstreams, directory: Path
) -> None:
    start(ready, LOWER)
    other = app.test_client()
    with counted_statements() as statements:
        acted = other.post(f"/c/{LOWER}/act", data={**FORM, "email": "sam@example.org"})
    assert acted.status_code == 303
    # The campaign, then the lookup's freshness with the same person's earlier action.
    assert len(statements) == 2, statements
    assert "FROM campaign" in statements[0] and "FROM action" in statements[1], statements
    assert upstream.geocoder_calls() == 1

    # A new roster is used at once, not the remembered answer.
    rows = [row for row in ROSTERS["nh"] if row.given != "Ada"]
    write_roster(
        directory, "nh", [*rows, Row("lower", "Hillsborough 23", "Abe", "Aspen")], no_address=set()
    )
    page = start(app.test_client(), LOWER, email="kim@example.org")
    assert "Abe Aspen" in page and "Ada Alder" not in page
    assert upstream.geocoder_calls() == 1  # the address itself is still cached


@pytest.mark.parametrize("remembered", [True, False], ids=["remembered", "not-remembered"])
def test_the_address_step_knows_who_acted_whatever_the_lookup_path(
    ready: FlaskClient,
    app: Flask,
    upstream: FakeUpstreams,
    monkeypatch: pytest.MonkeyPatch,
    remembered: bool,
) -> None:
    page = start(ready, LOWER)
    ready.post(f"/c/{LOWER}/send", data={"submission_key": submission_key(page)})
    other_address = "9 ELM ST, NASHUA, NH, 03060"
    upstream.add_address(other_address, nh(other_address))
    if not remembered:  # no cache row to check: the question is asked on its own
        monkeypatch.setattr(lookup_service, "_freshness", lambda *_args: None)
    for address in (FORM["street_address"], other_address):  # known, then new to the site
        again = app.test_client().post(f"/c/{LOWER}/act", data={**FORM, "street_address": address})
        assert again.status_code == 303, address
        assert again.headers["Location"] == f"/c/{LOWER}/already", address
    fresh = app.test_client().post(f"/c/{LOWER}/act", data={**FORM, "email": "new@example.org"})
    assert fresh.headers["Location"] == f"/c/{LOWER}/write"


def test_a_page_may_reuse_the_campaigns_status_but_a_send_reads_it(
    ready: FlaskClient, clock: Clock
) -> None:
    page = start(ready, LOWER)
    with counted_statements() as statements:
        assert ready.get(f"/c/{LOWER}/write").status_code == 200
    assert not any("FROM campaign" in s for s in statements), statements
    db.session.execute(update(Campaign).where(Campaign.slug == LOWER).values(status="paused"))
    db.session.commit()
    assert ready.get(f"/c/{LOWER}/write").status_code == 200  # a moment late, still writable
    refused = ready.post(f"/c/{LOWER}/send", data={"submission_key": submission_key(page)})
    assert refused.status_code == 409 and "Nothing was sent" in refused.get_data(as_text=True)
    assert count(Action) == 0


def test_the_address_step_may_reuse_the_campaigns_status_but_a_send_reads_it(
    ready: FlaskClient, app: Flask, clock: Clock
) -> None:
    start(app.test_client(), LOWER, email="first@example.org")  # status remembered now
    db.session.execute(update(Campaign).where(Campaign.slug == LOWER).values(status="paused"))
    db.session.commit()
    with counted_statements() as statements:
        page = start(ready, LOWER)  # a moment late: the address step goes on to the draft
    assert not any("FROM campaign" in s for s in statements), statements
    refused = ready.post(f"/c/{LOWER}/send", data={"submission_key": submission_key(page)})
    assert refused.status_code == 409 and "Nothing was sent" in refused.get_data(as_text=True)
    assert count(Action) == 0

    clock.now += 5  # once the moment has passed, the address step knows too
    late = app.test_client().post(f"/c/{LOWER}/act", data={**FORM, "email": "kim@example.org"})
    assert late.status_code == 409 and "Nothing was sent" in late.get_data(as_text=True)


def test_the_write_page_and_the_send_may_reuse_the_legislators_rows_for_a_moment(
    ready: FlaskClient, app: Flask, clock: Clock
) -> None:
    start(app.test_client(), LOWER, email="first@example.org")  # rows remembered now
    ada = db.session.scalars(select(Legislator).where(Legislator.name == "Ada Alder")).one()
    email_before = ada.email
    ada.name, ada.email = "Ada Alder-Birch", "ada.birch@example.org"
    db.session.commit()
    ready.post(f"/c/{LOWER}/act", data=FORM)
    with counted_statements() as statements:
        page = ready.get(f"/c/{LOWER}/write").get_data(as_text=True)
    assert statements == []  # campaign and legislators from a moment ago
    assert "Ada Alder" in page and "Alder-Birch" not in page
    with counted_statements() as statements:
        sent = ready.post(f"/c/{LOWER}/send", data={"submission_key": submission_key(page)})
    assert sent.status_code == 303
    assert not [s for s in statements if "FROM legislator" in s]
    to_ada = db.session.scalars(select(Contact).where(Contact.target_id == ada.id)).one()
    assert (to_ada.target_name, to_ada.target_email) == ("Ada Alder", email_before)

    clock.now += 5  # once the moment has passed, both read the rows again
    visitor = app.test_client()
    page = start(visitor, LOWER, email="kim@example.org")
    assert "Alder-Birch" in page
    sent = visitor.post(f"/c/{LOWER}/send", data={"submission_key": submission_key(page)})
    assert sent.status_code == 303
    latest = db.session.scalars(
        select(Contact).where(Contact.target_id == ada.id).order_by(Contact.id.desc())
    ).first()
    assert latest is not None
    assert (latest.target_name, latest.target_email) == ("Ada Alder-Birch", "ada.birch@example.org")


def new_version(campaigns: Path) -> None:
    path = campaigns / f"{LOWER}.yaml"
    path.write_text(path.read_text() + "limits:\n  per_legislator_per_day: 50\n")
    campaign_service.sync_folder(campaigns)


@pytest.mark.parametrize(
    "change",
    [
        {"status": "paused"},
        {"ends_at": datetime(2020, 1, 1, tzinfo=UTC)},
        {"starts_at": datetime(2099, 1, 1, tzinfo=UTC)},
        None,  # a new version of its text
    ],
    ids=["status", "end", "start", "version"],
)
def test_the_write_goes_ahead_only_while_the_campaign_is_as_seen(
    ready: FlaskClient, app: Flask, campaigns: Path, change: dict[str, object] | None
) -> None:
    start(ready, LOWER)
    with ready.session_transaction() as cookie:
        draft = service.Draft.from_session(cookie["draft"])
    seen = published(LOWER, fresh=True)
    assert draft is not None and seen is not None
    if change is None:
        new_version(campaigns)
    else:
        db.session.execute(update(Campaign).where(Campaign.id == seen.id).values(**change))
        db.session.commit()
    with app.test_request_context(), pytest.raises(service.CampaignChanged):
        service.submit(seen, draft, {})
    assert (count(Constituent), count(Action), count(Contact), count(OutboxMessage)) == (0,) * 4
    with app.test_request_context():  # as it is now, it goes ahead (if it may)
        now = published(LOWER, fresh=True)
        assert now is not None
        if campaign_service.public_state(now).actionable:
            service.submit(now, draft, {})
            assert count(Action) == 1


def test_a_send_with_the_status_from_a_moment_ago_decides_again_when_it_changed(
    ready: FlaskClient, campaigns: Path, clock: Clock
) -> None:
    page = start(ready, LOWER)  # the campaign as it was, remembered for the window
    new_version(campaigns)
    with counted_statements() as statements:
        sent = ready.post(f"/c/{LOWER}/send", data={"submission_key": submission_key(page)})
    assert sent.status_code == 303 and sent.headers["Location"] == f"/c/{LOWER}/write"
    assert count(Action) == 0
    assert sum("FROM campaign" in s for s in statements) >= 2  # seen changed; read again
    assert "just updated" in ready.get(f"/c/{LOWER}/write").get_data(as_text=True)


def test_steps_before_the_send_read_outside_a_transaction_and_the_send_is_one(
    ready: FlaskClient, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    levels: dict[str, str] = {}

    def isolation() -> str:
        return str(db.session.connection().get_execution_options().get("isolation_level"))

    real_recent, real_serialise = service.recent_action, service._serialise

    def recent(email: str, campaign_id: int) -> object:
        levels["act"] = isolation()
        return real_recent(email, campaign_id)

    def serialise(key: str) -> None:
        levels.setdefault("send", isolation())
        real_serialise(key)

    monkeypatch.setattr(service, "recent_action", recent)
    monkeypatch.setattr(service, "_serialise", serialise)
    start(app.test_client(), LOWER, email="first@example.org")  # the address is cached now
    db.session.close()  # as under a server, the request begins with no transaction
    page = start(ready, LOWER)  # the act and write steps, in this test's one session
    sent = ready.post(f"/c/{LOWER}/send", data={"submission_key": submission_key(page)})
    assert sent.status_code == 303
    assert levels["send"] != "AUTOCOMMIT"  # the advisory lock lasts until the commit
    # PostgreSQL: no BEGIN/ROLLBACK for the reads; SQLite's driver begins none for a read.
    assert (levels["act"] == "AUTOCOMMIT") == bool(POSTGRES_URL)


@pytest.mark.skipif(not POSTGRES_URL, reason="PostgreSQL only: on SQLite the session reads")
def test_the_address_step_reads_without_the_orm_session(ready: FlaskClient, app: Flask) -> None:
    """Its one statement goes through a connection taken for it alone (read_connection): the
    session's bookkeeping around a connection cost about as much as the statement."""
    app.config["PUBLIC_CACHE_SECONDS"] = 3600  # the campaign as read a moment ago, as in a site
    start(app.test_client(), LOWER, email="first@example.org")  # the address is cached now
    db.session.close()  # as under a server, the request begins with no transaction
    begun: list[object] = []

    def on_begin(session: object, transaction: object, connection: object) -> None:
        begun.append(connection)

    event.listen(db.session, "after_begin", on_begin)
    try:
        with counted_statements() as statements:
            acted = ready.post(f"/c/{LOWER}/act", data={**FORM, "email": "second@example.org"})
    finally:
        event.remove(db.session, "after_begin", on_begin)
    assert acted.status_code == 303 and acted.headers["Location"] == f"/c/{LOWER}/write"
    assert len(statements) == 1 and "lookup_cache" in statements[0]
    assert begun == []


def test_a_visitors_pages_leave_the_session_cookie_alone(ready: FlaskClient) -> None:
    acted = ready.post(f"/c/{LOWER}/act", data=FORM)
    assert acted.status_code == 303 and "Set-Cookie" in acted.headers  # the draft
    page = ready.get(f"/c/{LOWER}/write")
    assert page.status_code == 200
    assert "Set-Cookie" not in page.headers  # nothing changed: nothing to sign and send
    assert "/admin/sign-in" in page.get_data(as_text=True)
