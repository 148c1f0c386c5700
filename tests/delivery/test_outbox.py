"""queue: an outbox row in the caller's transaction, due now or held, with its Message-ID;
and the outbox's independence from the features that register kinds of message."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from advocacy.actions.models import Contact
from advocacy.dbtypes import utcnow
from advocacy.delivery import outbox
from advocacy.delivery.models import OutboxMessage
from advocacy.extensions import db

from .factory import ContactSpec, make_contact, queue_contacts


def count(model: type) -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def test_queue_does_not_commit_so_a_rollback_drops_everything(app: Flask) -> None:
    contact = make_contact(ContactSpec(target_email="rep@legislature.example.gov"))
    outbox.queue("contact", contact_id=contact.id)
    db.session.rollback()
    assert count(OutboxMessage) == 0
    assert count(Contact) == 0


def test_queue_writes_a_due_row_with_its_own_message_id(app: Flask) -> None:
    before = utcnow()
    first, second = (
        make_contact(ContactSpec(target_email=f"rep{n}@legislature.example.gov")) for n in (1, 2)
    )
    outbox.queue("contact", contact_id=first.id)
    outbox.queue("contact", contact_id=second.id, held=True)
    db.session.commit()
    rows = {row.contact_id: row for row in db.session.scalars(sa.select(OutboxMessage))}
    due, held = rows[first.id], rows[second.id]
    assert (due.kind, due.status, due.attempts, due.action_id) == ("contact", "pending", 0, None)
    assert due.next_attempt_at >= before and due.claimed_by is None
    assert held.status == "held"
    # A Message-ID of the site's domain (MAIL_FROM's), naming the kind; one per message.
    for row in (due, held):
        assert re.fullmatch(r"<[0-9.]+\.contact@speakup\.example\.org>", row.message_id)
    assert due.message_id != held.message_id


def test_only_registered_kinds_can_be_queued(app: Flask) -> None:
    with pytest.raises(ValueError, match="no message kind"):
        outbox.queue("telegram", contact_id=1)
    assert not db.session.new


def test_a_kind_name_is_registered_once_and_fits_its_column() -> None:
    def load(session: object, rows: object) -> dict[int, object]:
        return {}

    with pytest.raises(ValueError, match="registered already"):
        outbox.register_kind("contact", load=load)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="1 to 16"):
        outbox.register_kind("a-very-long-kind-name", load=load)  # type: ignore[arg-type]


def test_retry_of_an_unknown_campaign_is_refused_and_changes_nothing(app: Flask) -> None:
    [contact_id] = queue_contacts(1)
    db.session.execute(sa.update(OutboxMessage).values(status="dead"))
    db.session.commit()
    with pytest.raises(outbox.UnknownCampaign):
        outbox.retry_dead_letters("no-such-campaign")
    assert outbox.outbox_counts() == {"dead": 1}
    assert outbox.retry_dead_letters("protect-children") == 1
    assert outbox.outbox_counts() == {"pending": 1}
    assert db.session.get(Contact, contact_id) is not None


def test_the_outbox_imports_nothing_of_the_features_that_use_it() -> None:
    """Kinds of message are registered by their features; delivery never imports them."""
    package = Path(outbox.__file__).parent
    imported = set()
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                imported.add("." * node.level + (node.module or ""))
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    assert imported, "no imports found"
    features = ("actions", "campaigns", "lookup", "admin", "exports", "jobs")
    for name in imported:
        parts = name.lstrip(".").split(".")
        relative_to_advocacy = name.startswith("..") or parts[0] == "advocacy"
        top = parts[1] if parts[0] == "advocacy" and len(parts) > 1 else parts[0]
        assert not (relative_to_advocacy and top in features), name
