"""A kind of message registered the way a feature registers one (``outbox.register_kind``):
the worker sends what its ``load`` builds, and its ``on_outcome`` writes in the transaction
that records the outcome on the outbox row."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.engine import Connection

from advocacy.actions.models import Contact
from advocacy.delivery import outbox
from advocacy.delivery.mailer import MessageData
from advocacy.delivery.models import OutboxMessage
from advocacy.delivery.worker import NOTHING_TO_SEND, UNCONFIRMED_ERROR, run_workers
from advocacy.extensions import db

from .conftest import SMTPServer
from .factory import ContactSpec, expire_leases, make_contact

# What the "note" kind does for a contact, by contact id (anything else: a normal note).
TROUBLE: dict[int, str] = {}


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("unexpected data problem")


def load_notes(connection: Connection, rows: Sequence[outbox.Queued]) -> dict[int, MessageData]:
    """A note to a contact's target, from the site; a contact with no email has none."""
    by_contact = {row.contact_id: row.id for row in rows}
    if any(TROUBLE.get(contact_id) == "load fails" for contact_id in by_contact):
        raise RuntimeError("database went away")
    found = connection.execute(
        sa.select(Contact.id, Contact.target_email).where(Contact.id.in_(by_contact))
    )
    notes: dict[int, MessageData] = {}
    for contact_id, email in found:
        if email is None:
            continue
        body = Unprintable() if TROUBLE.get(contact_id) == "unprintable" else "A note."
        notes[by_contact[contact_id]] = MessageData(
            to_name="Staff",
            to_email=email,
            subject="Note",
            body=body,  # type: ignore[arg-type]
        )
    return notes


def note_outcome(connection: Connection, row: outbox.Queued, outcome: outbox.Outcome) -> None:
    connection.execute(
        sa.update(Contact)
        .where(Contact.id == row.contact_id)
        .values(status=f"note {outcome.result}"[:16], last_error=outcome.error)
    )
    if TROUBLE.get(row.contact_id or 0) == "outcome fails":
        raise RuntimeError("the owner's row cannot be written")


outbox.register_kind("note", load=load_notes, on_outcome=note_outcome)


@pytest.fixture(autouse=True)
def no_trouble() -> Iterator[None]:
    TROUBLE.clear()
    yield
    TROUBLE.clear()


def notes(*emails: str | None) -> list[int]:
    """A note about a new contact for each target address, committed. Returns contact ids."""
    ids = []
    for email in emails:
        contact = make_contact(ContactSpec(target_email=email))
        outbox.queue("note", contact_id=contact.id)
        ids.append(contact.id)
    db.session.commit()
    return ids


def rows() -> dict[int, tuple[str, str, str | None]]:
    """contact id -> (outbox status, contact status, outbox error)."""
    db.session.expire_all()
    found = db.session.execute(
        sa.select(OutboxMessage.contact_id, OutboxMessage.status, Contact.status)
        .add_columns(OutboxMessage.last_error)
        .join(Contact, Contact.id == OutboxMessage.contact_id)
    ).all()
    db.session.commit()
    return {contact_id: (status, owner, error) for contact_id, status, owner, error in found}


def test_a_registered_kind_is_delivered_and_its_owner_hears_each_outcome(
    app: Flask, smtp_server: SMTPServer
) -> None:
    app.config["MAIL_PORT"] = smtp_server.port
    sent, nothing = notes("staff@speakup.example.org", None)
    report = run_workers(1)
    assert (report.claimed, report.sent, report.dead) == (2, 1, 1)
    assert rows() == {
        sent: ("sent", "note sent", None),
        nothing: ("dead", "note dead", NOTHING_TO_SEND),
    }
    [item] = smtp_server.received
    message = item.message
    assert str(message["From"]) == "Speak Up <advocacy@speakup.example.org>"
    assert message["Reply-To"] is None
    assert message["Message-ID"].endswith(".note@speakup.example.org>")


def test_an_outcome_its_owner_cannot_record_is_not_recorded_at_all(
    app: Flask, smtp_server: SMTPServer
) -> None:
    """The owner's write and the outbox row's are one transaction: neither stays alone."""
    app.config["MAIL_PORT"] = smtp_server.port
    [contact_id] = notes("staff@speakup.example.org")
    TROUBLE[contact_id] = "outcome fails"
    report = run_workers(1)
    assert (report.claimed, report.sent, report.lost) == (1, 0, 1)
    assert rows() == {contact_id: ("sending", "queued", None)}
    assert len(smtp_server.received) == 1

    # It was sent, but nothing says so: the next worker does not send it again.
    del TROUBLE[contact_id]
    expire_leases()
    report = run_workers(1)
    assert (report.claimed, report.unconfirmed) == (1, 1)
    assert rows() == {contact_id: ("dead", "note unconfirmed", UNCONFIRMED_ERROR)}
    assert len(smtp_server.received) == 1


def test_an_unexpected_error_building_one_message_is_retried_and_the_batch_goes_on(
    app: Flask, smtp_server: SMTPServer
) -> None:
    app.config["MAIL_PORT"] = smtp_server.port
    odd, fine = notes("odd@speakup.example.org", "fine@speakup.example.org")
    TROUBLE[odd] = "unprintable"
    report = run_workers(1)
    assert (report.claimed, report.retrying, report.sent) == (2, 1, 1)
    error = "RuntimeError: unexpected data problem"
    assert rows() == {odd: ("pending", "note retry", error), fine: ("sent", "note sent", None)}
    assert [item.rcpt_tos for item in smtp_server.received] == [("fine@speakup.example.org",)]


def test_an_error_in_one_delivery_thread_is_raised_by_run_workers(
    app: Flask, smtp_server: SMTPServer
) -> None:
    app.config["MAIL_PORT"] = smtp_server.port
    ids = notes(*(f"staff{n}@speakup.example.org" for n in range(4)))
    TROUBLE[ids[0]] = "load fails"
    with pytest.raises(RuntimeError, match="database went away"):
        run_workers(2, "pair", batch=1)
