"""The transactional outbox: a message is queued in the transaction that makes what it is
about, and delivered later by the worker (``worker.py``). The outbox knows a message only by
its *kind*, registered by the feature that owns it (``register_kind``).

Statuses: ``pending`` (due at ``next_attempt_at``), ``sending`` (claimed by a worker until
``claimed_until``), ``sent``, ``dead`` (given up; ``retry_dead_letters`` requeues it) and
``held`` (not claimed until its owner makes it ``pending``: queued so, or held by its kind's
``load`` answering ``Hold`` for it when the worker was about to send it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import make_msgid

from flask import current_app
from sqlalchemy import ColumnElement, func, insert, select, true, update
from sqlalchemy.engine import Connection

from ..dbtypes import utcnow
from ..extensions import db
from .mailer import MessageData, address_domain
from .models import OutboxMessage
from .webhooks import WebhookPost


class UnknownCampaign(LookupError):
    """No campaign has the given slug."""


@dataclass(frozen=True)
class Queued:
    """An outbox row as a kind's hooks see it: which message, and whose."""

    id: int
    kind: str
    contact_id: int | None
    action_id: int | None


@dataclass(frozen=True)
class Outcome:
    """What happened to a message: ``sent``, ``logged`` (log mode), ``retry`` (tried again
    later), ``bounced`` (refused for good), ``dead``, ``unconfirmed`` (may have been sent;
    not retried), ``held`` (not sent: its kind held it, see ``Hold``) or ``requeued`` (an
    operator put a dead letter back in the queue)."""

    result: str
    error: str | None = None
    # The HTTP status a webhook endpoint answered with, when it answered.
    status_code: int | None = None


@dataclass(frozen=True)
class Hold:
    """A kind's ``load`` answer for a message that must not be sent now: the row becomes
    ``held`` (not claimed again until its owner makes it ``pending``) and ``on_outcome``
    hears ``held`` with ``reason``."""

    reason: str


Load = Callable[[Connection, Sequence[Queued]], Mapping[int, MessageData | WebhookPost | Hold]]
OnOutcome = Callable[[Connection, Queued, Outcome], None]
Retryable = Callable[[str | None], ColumnElement[bool]]


@dataclass(frozen=True)
class Kind:
    load: Load
    on_outcome: OnOutcome | None = None
    retryable: Retryable | None = None


_kinds: dict[str, Kind] = {}


def register_kind(
    name: str,
    *,
    load: Load,
    on_outcome: OnOutcome | None = None,
    retryable: Retryable | None = None,
) -> None:
    """Make ``name`` a kind of message the outbox can queue and deliver.

    * ``load(connection, rows)``: the messages of claimed rows of this kind, as
      ``{row.id: MessageData}`` (or ``WebhookPost``: an HTTP POST, not mail); a row left out
      has nothing to send and is dead-lettered; a row answered with ``Hold(reason)`` is held,
      not sent.
    * ``on_outcome(connection, row, outcome)``: record the outcome on the owner's rows, in
      the transaction that records it on the outbox row (only if that row was still the
      worker's). ``retry_dead_letters`` calls it with ``requeued``.
    * ``retryable(campaign_slug)``: a condition on ``OutboxMessage`` picking this kind's dead
      rows that may be requeued (only the campaign's, when a slug is given); raises
      ``UnknownCampaign`` for a slug that does not exist. Without it: all of them when no
      campaign is given, none when one is.
    """
    if not 0 < len(name) <= 16:  # the length of OutboxMessage.kind
        raise ValueError(f"a kind's name has 1 to 16 characters: {name!r}")
    kind = Kind(load, on_outcome, retryable)
    if _kinds.setdefault(name, kind) != kind:
        raise ValueError(f"the message kind {name!r} is registered already")


def kind_named(name: str) -> Kind | None:
    return _kinds.get(name)


def queue(
    kind: str,
    *,
    contact_id: int | None = None,
    action_id: int | None = None,
    held: bool = False,
) -> OutboxMessage:
    """Add a message of ``kind`` about the given rows to the session, due now (or ``held``).

    Does not commit: it is written with the caller's transaction or not at all.
    """
    if kind not in _kinds:
        raise ValueError(f"no message kind {kind!r} is registered")
    now = utcnow()
    message = OutboxMessage(
        kind=kind,
        contact_id=contact_id,
        action_id=action_id,
        status="held" if held else "pending",
        attempts=0,
        next_attempt_at=now,
        message_id=_new_message_id(kind),
        created_at=now,
        updated_at=now,
    )
    db.session.add(message)
    return message


def queue_on(connection: Connection, kind: str) -> int:
    """Insert a message of ``kind`` (about no contact or action: its kind keeps what it is
    about) due now, with ``connection``'s transaction, and return its id. For kinds queued
    where only a connection is at hand (another kind's ``on_outcome``)."""
    if kind not in _kinds:
        raise ValueError(f"no message kind {kind!r} is registered")
    now = utcnow()
    return int(
        connection.scalar(
            insert(OutboxMessage)
            .values(
                kind=kind,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                message_id=_new_message_id(kind),
                created_at=now,
                updated_at=now,
            )
            .returning(OutboxMessage.id)
        )
    )


def _new_message_id(kind: str) -> str:
    """The Message-ID of a new message. Stored on its row, so every try sends the same one and
    a receiving system can recognise a repeat."""
    return make_msgid(idstring=kind, domain=address_domain(current_app.config["MAIL_FROM"]))


def retry_dead_letters(campaign_slug: str | None = None) -> int:
    """Put dead letters (of one campaign, or all) back in the queue, due now. Commits.

    Attempts start again from zero, and each kind's ``on_outcome`` hears ``requeued``.
    Returns how many were requeued. Raises ``UnknownCampaign`` for a slug that does not exist.
    """
    now = utcnow()
    requeued = 0
    with db.engine.begin() as connection:
        for name, kind in _kinds.items():
            if kind.retryable is not None:
                which = kind.retryable(campaign_slug)
            elif campaign_slug is None:
                which = true()
            else:
                continue
            rows = connection.execute(
                select(
                    OutboxMessage.id,
                    OutboxMessage.kind,
                    OutboxMessage.contact_id,
                    OutboxMessage.action_id,
                ).where(OutboxMessage.kind == name, OutboxMessage.status == "dead", which)
            ).all()
            for row in rows:
                result = connection.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == row.id, OutboxMessage.status == "dead")
                    .values(
                        status="pending",
                        attempts=0,
                        next_attempt_at=now,
                        claimed_by=None,
                        claimed_until=None,
                        send_started_at=None,
                        updated_at=now,
                    )
                )
                if result.rowcount != 1:
                    continue  # requeued by someone else meanwhile
                requeued += 1
                if kind.on_outcome is not None:
                    kind.on_outcome(connection, Queued(*row), Outcome("requeued"))
    return requeued


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
