"""enqueue: one outbox row per email contact, in the caller's transaction, stable Message-ID."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask import Flask

from advocacy.actions.models import Contact
from advocacy.delivery.models import OutboxMessage
from advocacy.delivery.outbox import enqueue, message_id_for
from advocacy.extensions import db

from .conftest import MAIL_FROM
from .factory import ContactSpec, make_contact


def count(model: type) -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def test_enqueue_does_not_commit_so_a_rollback_drops_everything(app: Flask) -> None:
    contact = make_contact(ContactSpec(target_email="rep@legislature.example.gov"))
    row = enqueue(contact)
    assert row in db.session.new or row.id is None
    db.session.rollback()
    assert count(OutboxMessage) == 0
    assert count(Contact) == 0


def test_enqueue_flushes_an_unsaved_contact_and_commits_with_it(app: Flask) -> None:
    contact = make_contact(ContactSpec(target_email="rep@legislature.example.gov"))
    fresh = Contact(
        **{
            column.key: getattr(contact, column.key)
            for column in Contact.__table__.columns
            if column.key not in ("id", "created_at", "target_id")
        },
        target_id=contact.target_id + "-second",  # one contact per action and target
    )
    db.session.add(fresh)
    row = enqueue(fresh)  # no id yet: enqueue flushes
    assert fresh.id is not None
    db.session.commit()
    stored = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.contact_id == fresh.id))
    assert stored is not None and stored.id == row.id
    assert (stored.status, stored.attempts, stored.claimed_by) == ("pending", 0, None)


def test_message_id_is_deterministic_and_enqueue_is_idempotent(app: Flask) -> None:
    contact = make_contact(ContactSpec(target_email="rep@legislature.example.gov"))
    first = enqueue(contact)
    assert enqueue(contact) is first
    db.session.commit()
    assert count(OutboxMessage) == 1
    assert re.fullmatch(
        rf"<contact-{contact.id}\.[0-9a-f]{{12}}@speakup\.example\.org>", first.message_id
    )
    db.session.expire_all()
    reloaded = db.session.get(Contact, contact.id)
    assert reloaded is not None
    assert message_id_for(reloaded, MAIL_FROM) == first.message_id
    assert enqueue(reloaded).message_id == first.message_id
    db.session.commit()
    assert count(OutboxMessage) == 1


@pytest.mark.parametrize("channel", ["call", "postal"])
def test_calls_and_letters_are_never_enqueued(app: Flask, channel: str) -> None:
    contact = make_contact(ContactSpec(channel=channel, target_email="rep@legislature.example.gov"))
    with pytest.raises(ValueError, match="only email"):
        enqueue(contact)
    db.session.commit()
    assert count(OutboxMessage) == 0
