"""The write side of the transactional outbox.

``enqueue`` adds an outbox row in the caller's transaction: the action, its contacts and
their outbox rows are committed together or not at all, so no message is lost and none is
sent for an action that was rolled back. The worker (``worker.py``) delivers the rows.

Outbox statuses: ``pending`` (due at ``next_attempt_at``; after a failed try ``attempts`` >
0 and ``last_error`` is set), ``sending`` (claimed by a worker until ``claimed_until``),
``sent`` and ``dead`` (gave up; ``retry_dead_letters`` puts it back in the queue).

``held`` rows belong to an action waiting for its visitor's email confirmation
(``ADVOCACY_REQUIRE_CONFIRMATION``): no worker claims them. Confirming releases them
(``pending``, due now); the ``expire-unconfirmed`` job deletes them when the link expires.
Rows of kind ``confirmation`` (``enqueue_confirmation``) carry no contact: they are the mail
asking the constituent to confirm, and only ever go to the constituent's own address.

``send_started_at`` is set while a worker is in the SMTP DATA phase of a row. A dead row that
still has it was being sent when its worker died (``last_error`` says "delivery may have
happened; check before retrying"): it may have arrived, so it is never retried on its own.
``advocacy deliver retry`` requeues it like any dead letter; that is the operator's call.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, cast

from flask import current_app
from sqlalchemy import Text, bindparam, func, insert, literal_column, or_, select, update
from sqlalchemy import cast as sql_cast
from sqlalchemy.engine import Connection, CursorResult

from ..actions.models import Action, Constituent, Contact
from ..campaigns.models import Campaign
from ..dbtypes import utcnow
from ..extensions import db
from .mailer import address_domain
from .models import OutboxMessage


class UnknownCampaign(LookupError):
    """No campaign has the given slug."""


def _stable_message_id(
    label: str, digest_prefix: str, row_id: int | None, created: datetime, mail_from: str
) -> str:
    """``<LABEL-ID.HASH@DOMAIN>``: the same on every try; HASH ties the id to the row's
    creation time, so two databases (or a reset one) never produce the same id."""
    if row_id is None:
        raise ValueError(f"no row id yet for a {label} Message-ID (flush first)")
    if created.tzinfo is None:  # not yet round-tripped through the UTC column type
        created = created.replace(tzinfo=UTC)
    parts = stamp_and_domain(created, mail_from)
    digest = hashlib.sha256(f"{digest_prefix}{row_id}:{parts['stamp']}".encode()).hexdigest()
    return f"<{label}-{row_id}.{digest[:12]}@{parts['domain']}>"


def stamp_and_domain(created: datetime, mail_from: str) -> dict[str, str]:
    """The parameters ``:stamp`` and ``:domain`` of ``message_id_sql`` for rows created at
    ``created``."""
    return {
        "stamp": created.astimezone(UTC).strftime("%Y%m%dT%H%M%S"),
        "domain": address_domain(mail_from),
    }


def message_id_expression(label: str, digest_prefix: str, row_id: Any) -> Any:
    """``_stable_message_id`` as a PostgreSQL expression of the column ``row_id`` and the
    parameters of ``stamp_and_domain``, for rows made by one INSERT ... SELECT."""

    def constant(value: str) -> Any:  # written into the SQL: only this module's own words
        return literal_column(f"'{value}'")

    row_id_text = sql_cast(row_id, Text)
    hashed = func.convert_to(
        constant(digest_prefix) + row_id_text + constant(":") + bindparam("stamp"),
        constant("UTF8"),
    )
    digest = func.left(func.encode(func.sha256(hashed), constant("hex")), literal_column("12"))
    return (
        constant(f"<{label}-")
        + row_id_text
        + constant(".")
        + digest
        + constant("@")
        + bindparam("domain")
        + constant(">")
    )


def message_id_for(contact: Contact, mail_from: str) -> str:
    """The Message-ID of ``contact``'s mail: the same on every try, so a retry is the same
    mail. ``<contact-ID.HASH@DOMAIN>``, DOMAIN being MAIL_FROM's."""
    return _stable_message_id("contact", "", contact.id, contact.created_at, mail_from)


def enqueue(contact: Contact, *, held: bool = False) -> OutboxMessage:
    """Add the outbox row for an email ``contact`` to the session. Does not commit.

    ``held``: the row waits (status ``held``) until the action is confirmed by email.

    Idempotent: a contact already in the outbox returns its existing row. Contacts made by
    phone or post are never queued (``ValueError``).
    """
    if contact.channel != "email":
        raise ValueError(f"only email contacts are delivered, not {contact.channel!r}")
    if contact.id is None or contact.created_at is None:
        db.session.add(contact)
        db.session.flush()
    existing = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.contact_id == contact.id)
    )
    if existing is not None:
        return existing
    return _new_row(contact, held, utcnow())


def _new_row_values(
    kind: str,
    contact_id: int | None,
    action_id: int | None,
    status: str,
    message_id: str,
    now: datetime,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "contact_id": contact_id,
        "action_id": action_id,
        "status": status,
        "attempts": 0,
        "next_attempt_at": now,
        "message_id": message_id,
        "created_at": now,
        "updated_at": now,
    }


def contact_row(
    contact_id: int, contact_created: datetime, *, held: bool, now: datetime
) -> dict[str, Any]:
    """The outbox row (column values) of a new email contact: due now, or ``held``."""
    mail_from = current_app.config["MAIL_FROM"]
    message_id = _stable_message_id("contact", "", contact_id, contact_created, mail_from)
    status = "held" if held else "pending"
    return _new_row_values("contact", contact_id, None, status, message_id, now)


def confirmation_row(action_id: int, action_created: datetime, now: datetime) -> dict[str, Any]:
    """The outbox row (column values) of the mail asking a new action's visitor to confirm."""
    mail_from = current_app.config["MAIL_FROM"]
    message_id = _stable_message_id("confirm", "confirm:", action_id, action_created, mail_from)
    return _new_row_values("confirmation", None, action_id, "pending", message_id, now)


_INSERT_ROWS = insert(OutboxMessage)


def insert_rows(connection: Connection, rows: list[dict[str, Any]]) -> None:
    """Write new outbox rows (from ``contact_row``/``confirmation_row``) in the caller's
    transaction: one statement for all of them. For contacts and actions inserted a moment
    ago in the same transaction, which cannot have a row yet."""
    if rows:
        connection.execute(_INSERT_ROWS, rows)


def _new_row(contact: Contact, held: bool, now: datetime) -> OutboxMessage:
    message = OutboxMessage(**contact_row(contact.id, contact.created_at, held=held, now=now))
    db.session.add(message)
    return message


def enqueue_confirmation(action: Action) -> OutboxMessage:
    """Add the mail asking ``action``'s constituent to confirm. Does not commit. Idempotent."""
    if action.id is None or action.created_at is None:
        db.session.add(action)
        db.session.flush()
    existing = db.session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.kind == "confirmation", OutboxMessage.action_id == action.id
        )
    )
    if existing is not None:
        return existing
    message = OutboxMessage(**confirmation_row(action.id, action.created_at, utcnow()))
    db.session.add(message)
    return message


def retry_dead_letters(campaign_slug: str | None = None) -> int:
    """Put dead letters (of one campaign, or all) back in the queue, due now. Commits.

    Attempts start again from zero; the contact goes back to ``queued``. Returns how many
    messages were requeued. Raises ``UnknownCampaign`` for a slug that does not exist.
    """
    now = utcnow()
    # Messages of people whose personal data retention has removed have no text left to send.
    anonymised = (
        select(Contact.id)
        .join(Action, Contact.action_id == Action.id)
        .join(Constituent, Action.constituent_id == Constituent.id)
        .where(Constituent.anonymised_at.is_not(None))
    )
    condition: list[Any] = [
        OutboxMessage.status == "dead",
        or_(OutboxMessage.contact_id.is_(None), OutboxMessage.contact_id.not_in(anonymised)),
    ]
    if campaign_slug is not None:
        campaign_id = db.session.scalar(select(Campaign.id).where(Campaign.slug == campaign_slug))
        if campaign_id is None:
            raise UnknownCampaign(campaign_slug)
        condition.append(
            OutboxMessage.contact_id.in_(
                select(Contact.id).where(Contact.campaign_id == campaign_id)
            )
        )
    try:
        found = list(db.session.scalars(select(OutboxMessage.contact_id).where(*condition)))
        contact_ids = [i for i in found if i is not None]  # confirmation mails have no contact
        if not found:
            db.session.rollback()
            return 0
        result = db.session.execute(
            update(OutboxMessage)
            .where(*condition)
            .values(
                status="pending",
                attempts=0,
                next_attempt_at=now,
                claimed_by=None,
                claimed_until=None,
                send_started_at=None,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        db.session.execute(
            update(Contact)
            .where(Contact.id.in_(contact_ids), Contact.status.in_(("dead", "bounced")))
            .values(status="queued")
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return int(cast(CursorResult[Any], result).rowcount)


def outbox_counts() -> dict[str, int]:
    """How many outbox rows are in each status."""
    rows = db.session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    ).all()
    return {status: int(count) for status, count in rows}


def unconfirmed_count() -> int:
    """Dead letters that were being sent when their worker died (may have been delivered)."""
    return int(
        db.session.scalar(
            select(func.count()).where(
                OutboxMessage.status == "dead", OutboxMessage.send_started_at.is_not(None)
            )
        )
        or 0
    )


def queue(
    kind: str, *, contact_id: int | None = None, action_id: int | None = None, held: bool = False
) -> OutboxMessage:
    """Add a message to send to the caller's transaction (no commit): due now, or ``held``
    until its action is confirmed. Its Message-ID is made here, once, so every retry of it
    is the same mail."""
    from email.utils import make_msgid

    now = utcnow()
    message = OutboxMessage(
        kind=kind,
        contact_id=contact_id,
        action_id=action_id,
        status="held" if held else "pending",
        attempts=0,
        next_attempt_at=now,
        message_id=make_msgid(domain=address_domain(current_app.config["MAIL_FROM"])),
        created_at=now,
        updated_at=now,
    )
    db.session.add(message)
    return message
