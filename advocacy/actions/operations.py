"""The action flow's operations on the database: the send (one transaction), calls logged,
and the questions the steps ask (has this person acted already? which caps are reached?)."""

from __future__ import annotations

import hashlib
import re
import threading
from datetime import datetime, timedelta
from typing import Any

from cachetools import TTLCache
from flask import current_app
from sqlalchemy import and_, distinct, func, or_, select
from sqlalchemy.exc import IntegrityError

from ..campaigns.schema import CampaignDefinition
from ..campaigns.service import PublishedCampaign
from ..dbtypes import utcnow
from ..delivery import outbox
from ..extensions import db
from ..i18n import gettext, language
from ..urls import day_start
from . import coach, confirmation, digests, webhooks
from .drafts import Draft, FilledMessage, fill_messages
from .models import Action, Constituent, Contact
from .recipients import Recipient, recipients_for
from .text import strip_controls

# Recipients who are legislators: the daily cap counts their messages whichever way they
# were written to.
LEGISLATOR_KINDS = ("legislator", "committee")
# What ``secrets.token_urlsafe(24)`` makes; anything else is not one of our keys.
SUBMISSION_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")


class ActionProblem(ValueError):
    """Something the visitor can fix; the message says what."""


class AlreadyActed(Exception):
    """The same person took part in this campaign within the duplicate window (``when``)."""

    def __init__(self, when: datetime) -> None:
        super().__init__("already acted")
        self.when = when


def duplicate_key(email: str, campaign_id: int) -> str:
    """Who acted on which campaign, without keeping the email address in the action."""
    return hashlib.sha256(f"{campaign_id}:{email.strip().lower()}".encode()).hexdigest()


def _counts_as_recent(now: datetime) -> object:
    """An action within the duplicate window that was confirmed, needs no confirmation, or
    may still be confirmed. One never confirmed in time sent nothing, and whoever typed
    someone else's email must not keep its owner from acting."""
    window = timedelta(hours=current_app.config["DUPLICATE_WINDOW_HOURS"])
    return and_(
        Action.created_at > now - window,
        or_(
            Action.confirm_by.is_(None),
            Action.confirmed_at.is_not(None),
            Action.confirm_by > now,
        ),
    )


def recent_action_time(email: str, campaign_id: int) -> datetime | None:
    """When this person last acted on this campaign within the duplicate window, if they did."""
    return db.session.scalar(
        select(func.max(Action.created_at)).where(
            Action.duplicate_key == duplicate_key(email, campaign_id),
            _counts_as_recent(utcnow()),
        )
    )


# How long a campaign's count of people taking part is kept: it is social proof on public
# pages, which must not wait on counting every time.
COUNT_SECONDS = 60.0
_counts_lock = threading.Lock()


def people_taking_part(campaign_id: int) -> int:
    """How many people have taken part in a campaign (one per email address; actions never
    confirmed in time do not count), at most COUNT_SECONDS old."""
    counts: TTLCache[int, int] = current_app.extensions.setdefault(
        "advocacy.counts", TTLCache(maxsize=4096, ttl=COUNT_SECONDS)
    )
    with _counts_lock:
        known = counts.get(campaign_id)
    if known is not None:
        return known
    now = utcnow()
    count = db.session.scalar(
        select(func.count(distinct(Action.duplicate_key))).where(
            Action.campaign_id == campaign_id,
            or_(
                Action.confirm_by.is_(None),
                Action.confirmed_at.is_not(None),
                Action.confirm_by > now,
            ),
        )
    )
    with _counts_lock:
        counts[campaign_id] = int(count or 0)
    return int(count or 0)


def action_by_key(submission_key: str) -> Action | None:
    if not SUBMISSION_KEY.fullmatch(submission_key):
        return None
    return db.session.scalar(select(Action).where(Action.submission_key == submission_key))


def capped_legislators(
    campaign_id: int, definition: CampaignDefinition, recipients: list[Recipient]
) -> set[str]:
    """The legislators among ``recipients`` (as such or as committee members) who have had
    the campaign's daily cap of written messages today (an unconfirmed one holds its place
    until it expires)."""
    cap = definition.limits.per_legislator_per_day if definition.limits else None
    ids = {r.id for r in recipients if r.kind in LEGISLATOR_KINDS}
    if cap is None or not ids:
        return set()
    rows = db.session.execute(
        select(Contact.target_id, func.count())
        .where(
            Contact.campaign_id == campaign_id,
            Contact.target_kind.in_(LEGISLATOR_KINDS),
            Contact.target_id.in_(ids),
            Contact.channel != "call",
            Contact.status != "expired",
            Contact.created_at >= day_start(utcnow()),
        )
        .group_by(Contact.target_id)
    ).all()
    return {target_id for target_id, count in rows if count >= cap}


def take_write_lock(name: str) -> None:
    """Hold a lock named ``name`` until the current transaction ends, so that two requests
    deciding on the same rows (one person's double click; the last place under a cap) take
    turns. PostgreSQL: a transaction-level advisory lock. SQLite: the database's write lock
    (``BEGIN IMMEDIATE``), which covers every name at once."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        lock_id = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        connection.execute(select(func.pg_advisory_xact_lock(lock_id)))
    elif connection.dialect.name == "sqlite":
        raw = connection.connection.dbapi_connection
        if raw is not None and not raw.in_transaction:  # already writing: already locked
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def _checked_body(value: str, limit: int, recipient: Recipient) -> str:
    cleaned = strip_controls(value).strip()
    if not cleaned:
        raise ActionProblem(
            gettext(
                "The message to %(name)s is empty. Please write a few words.", name=recipient.name
            )
        )
    if len(cleaned) > limit:
        raise ActionProblem(
            gettext(
                "The message to %(name)s is %(length)s characters long; the limit is "
                "%(limit)s. Please shorten it.",
                name=recipient.name,
                length=len(cleaned),
                limit=limit,
            )
        )
    return cleaned + "\n"


def _contact(action: Action, recipient: Recipient, channel: str, **values: Any) -> Contact:
    """A contact of ``action`` with ``recipient``, the target as it is now kept with it."""
    target = dict(
        action_id=action.id,
        campaign_id=action.campaign_id,
        campaign_version_id=action.campaign_version_id,
        channel=channel,
        target_kind=recipient.kind,
        target_id=recipient.id,
        target_name=recipient.name,
        target_title=recipient.title or None,
        target_party=recipient.party or None,
        target_email=recipient.email or None,
        target_phone=recipient.phone or None,
        target_state=recipient.state or None,
        target_chamber=recipient.chamber or None,
        target_district=recipient.district or None,
    )
    return Contact(**{**target, **values})


def submit(campaign: PublishedCampaign, draft: Draft, bodies: dict[str, str]) -> None:
    """Record the action, one contact per recipient who can get a written message, and their
    outbox rows, in ONE transaction.

    A double submit (same submission key) records nothing more; the same person acting
    again within the duplicate window raises ``AlreadyActed``; a message the visitor must
    fix raises ``ActionProblem``. Each person's submissions take turns (``take_write_lock``),
    and so do all of a campaign's while a daily cap is counted, so simultaneous requests
    make one action and two visitors cannot both take the last place.
    """
    definition = campaign.definition
    messages = fill_messages(definition, draft)
    person = duplicate_key(draft.email, campaign.id)
    try:
        take_write_lock(f"person:{person}")
        if definition.limits and definition.limits.per_legislator_per_day:
            take_write_lock(f"cap:{campaign.id}")
        found = db.session.execute(
            select(Action.submission_key, Action.created_at)
            .where(
                or_(
                    Action.submission_key == draft.submission_key,
                    and_(Action.duplicate_key == person, _counts_as_recent(utcnow())),
                )
            )
            .order_by((Action.submission_key == draft.submission_key).desc())
            .limit(1)
        ).first()
        if found is not None:  # a double submit or a repeat wins over a problem with this one
            db.session.rollback()
            if found.submission_key == draft.submission_key:
                return
            raise AlreadyActed(found.created_at)
        _write_action(campaign, draft, messages, bodies, person)
        db.session.commit()
    except IntegrityError:
        # Another request with the same submission key got in first: it shows its result.
        db.session.rollback()
        if action_by_key(draft.submission_key) is None:
            raise
    except BaseException:
        db.session.rollback()
        raise


def _write_action(
    campaign: PublishedCampaign,
    draft: Draft,
    messages: list[FilledMessage],
    bodies: dict[str, str],
    person: str,
) -> None:
    definition = campaign.definition
    capped = capped_legislators(campaign.id, definition, [m.recipient for m in messages])
    written = [m for m in messages if m.recipient.channel and m.recipient.id not in capped]
    if not written and not any(m.recipient.phone for m in messages):
        if capped:
            raise ActionProblem(
                gettext(
                    "Your legislators have received as many messages from this campaign as it "
                    "sends them in one day. Nothing was sent; please try again tomorrow."
                )
            )
        raise ActionProblem(
            gettext(
                "None of your recipients can receive a written message or a call. "
                "Please choose your district again."
            )
        )
    # With no one to write to but someone to call, the action has no written contacts: the
    # thank-you page gives the phone numbers, the call script and "I called" buttons.
    mode, limit = definition.message.mode, definition.message.max_body_length
    texts = [
        m.body
        if mode == "locked"
        else _checked_body(bodies.get(m.field_name, m.body), limit, m.recipient)
        for m in written
    ]
    hold = confirmation.required() and any(m.recipient.channel == "email" for m in written)
    now = utcnow()
    action = Action(
        submission_key=draft.submission_key,
        campaign_id=campaign.id,
        campaign_version_id=campaign.version_id,
        duplicate_key=person,
        matched_address=draft.matched_address or None,
        state=draft.state or None,
        legislator_ids=list(dict.fromkeys(draft.legislator_ids)),
        capped_target_ids=sorted(capped) or None,
        confirm_by=confirmation.deadline(now) if hold else None,
        source=draft.source or None,
        language=draft.language or language(),
        created_at=now,
        constituent=Constituent(
            name=draft.name,
            email=draft.email,
            phone=draft.phone or None,
            street_address=draft.street_address,
            city=draft.city or None,
            state=draft.state or None,
            zip_code=draft.zip_code or None,
            opt_in=draft.opt_in,
            created_at=now,
        ),
    )
    for message, body in zip(written, texts, strict=True):
        if message.recipient.channel != "email":
            status = "logged"
        elif hold:
            status = "unconfirmed"
        else:
            status = (
                digests.AWAITING if digests.in_digest(definition, message.recipient) else "queued"
            )
        contact = _contact(
            action,
            message.recipient,
            message.recipient.channel or "",
            subject=message.subject,
            body=body,
            personalised=body.strip() != message.body.strip(),
            own_words=coach.own_share(body, message.body),
            # Compared with the office's other messages of the day by the measure-similarity
            # job, not here: a figure for the tallies must not slow the send.
            similarity_pending=True,
            status=status,
            created_at=now,
        )
        action.contacts.append(contact)
    db.session.add(action)
    db.session.flush()  # the outbox rows refer to the new ids
    for message, contact in zip(written, action.contacts, strict=True):
        # A digest campaign's message to a legislator or official waits for the day's digest.
        if contact.channel == "email" and not digests.in_digest(definition, message.recipient):
            outbox.queue("contact", contact_id=contact.id, held=hold)
    if hold:
        outbox.queue("confirmation", action_id=action.id)
    if definition.receipt:
        outbox.queue("receipt", action_id=action.id, held=hold)
    webhooks.queue_event("action.created", action_id=action.id)


def log_call(action: Action, recipient: Recipient, definition: CampaignDefinition) -> Contact:
    """Record an "I called" click once per action and recipient (a unique index guards
    against simultaneous clicks; the loser returns the winner's contact)."""

    def existing() -> Contact | None:
        return db.session.scalar(
            select(Contact).where(
                Contact.action_id == action.id,
                Contact.channel == "call",
                Contact.target_id == recipient.id,
            )
        )

    if (contact := existing()) is not None:
        return contact
    now = utcnow()
    contact = _contact(
        action,
        recipient,
        "call",
        target_email=None,
        body=recipient.call_script or definition.call_script or None,
        personalised=False,
        status="called",
        created_at=now,
        sent_at=now,
    )
    db.session.add(contact)
    try:
        db.session.flush()
        webhooks.queue_event("call.logged", contact_id=contact.id)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        if (winner := existing()) is None:
            raise
        return winner
    return contact


def call_recipients(action: Action, definition: CampaignDefinition) -> list[Recipient]:
    """Everyone this action's visitor can call: every recipient their address resolves to
    (written to or not: their legislators, committee members, officials) and the campaign's
    fixed targets, if they have a phone number."""
    ids = [str(i) for i in action.legislator_ids or []]
    return [r for r in recipients_for(definition, ids, action.state or "") if r.phone]
