"""The action flow's decisions: drafts, filled messages, and the one send transaction."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import BigInteger, bindparam, func, select
from sqlalchemy.exc import IntegrityError

from ..campaigns import templating
from ..campaigns.pages import public_cache_seconds
from ..campaigns.schema import CampaignDefinition
from ..campaigns.service import PublishedCampaign
from ..database import writers_queue
from ..dbtypes import utcnow
from ..extensions import db
from ..lookup.service import AddressMatch, Along
from . import confirmation
from .inserts import RECENT, SAME_OR_RECENT, Found, NewAction, insert_action
from .inserts import CampaignChanged as CampaignChanged  # raised by submit
from .models import Action, Contact
from .recipients import CHAMBERS_FOR_RULE, Recipient, constituent_values, recipients_for
from .text import strip_controls

# What ``secrets.token_urlsafe(24)`` makes; anything else is not one of our keys.
SUBMISSION_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")


class ActionProblem(ValueError):
    """Something the visitor can fix; the message says what."""


class AlreadyActed(Exception):
    """The same person took part in this campaign within the duplicate window (``when``)."""

    def __init__(self, when: datetime) -> None:
        super().__init__("already acted")
        self.when = when


@dataclass
class Draft:
    """What the visitor has told us so far, kept in the (signed) session between steps."""

    slug: str
    version_id: int
    name: str
    email: str
    street_address: str
    phone: str
    opt_in: bool
    submission_key: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    matched_address: str = ""
    city: str = ""
    state: str = ""
    zip_code: str = ""
    confidence: str = "none"
    legislator_ids: list[str] = field(default_factory=list)

    def to_session(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_session(cls, data: object) -> Draft | None:
        if not isinstance(data, dict):
            return None
        try:
            return cls(**data)
        except TypeError:
            return None


def apply_lookup(
    draft: Draft,
    match: AddressMatch,
    definition: CampaignDefinition,
    city: str | None,
    zip_code: str | None,
) -> None:
    """Keep the matched address and the members of the chambers this campaign writes to."""
    allowed = CHAMBERS_FOR_RULE.get(definition.legislator_chambers or "", set())
    draft.matched_address = match.matched_address or ""
    draft.state = match.state or ""
    draft.city = city or ""
    draft.zip_code = zip_code or ""
    draft.confidence = match.confidence
    draft.legislator_ids = [
        member_id
        for chamber, member_ids in match.seats
        if chamber in allowed
        for member_id in member_ids
    ]


@dataclass(frozen=True)
class FilledMessage:
    recipient: Recipient
    subject: str
    body: str

    @property
    def field_name(self) -> str:
        return (
            "body-"
            + hashlib.sha256(f"{self.recipient.kind}:{self.recipient.id}".encode()).hexdigest()[:16]
        )


def fill_messages(
    definition: CampaignDefinition, draft: Draft, *, max_age: float = 0.0
) -> list[FilledMessage]:
    """The draft's messages to its recipients (their directory rows read now, or up to
    ``max_age`` seconds ago)."""
    constituent = constituent_values(draft.name, draft.city, draft.state)
    campaign = {"title": definition.title}
    filled = []
    for recipient in recipients_for(definition, draft.legislator_ids, max_age=max_age):
        context = {
            "constituent": constituent,
            "target": recipient.template_values(),
            "campaign": campaign,
        }
        subject = templating.render(
            definition.message.subject, context, limit=definition.message.max_subject_length
        )
        body = (
            ""
            if definition.message.mode == "blank"
            else templating.render(
                definition.message.body, context, limit=definition.message.max_body_length
            )
        )
        filled.append(FilledMessage(recipient, " ".join(subject.split()), body.strip() + "\n"))
    return filled


def duplicate_key(email: str, campaign_id: int) -> str:
    return hashlib.sha256(f"{campaign_id}:{email.strip().lower()}".encode()).hexdigest()


def _recent_window(now: datetime) -> dict[str, Any]:
    window = timedelta(hours=current_app.config["DUPLICATE_WINDOW_HOURS"])
    return {"since": now - window, "now": now}


def recent_action(email: str, campaign_id: int) -> Along:
    """When the same person acted on this campaign within the duplicate window, if they did
    (the query, to ask along with the address lookup's own).

    An action never confirmed by email in time does not count: it sent nothing, and whoever
    typed someone else's address must not keep that person from acting. One still waiting
    for its confirmation does count (otherwise each new try would mail the address again).
    """
    parameters = {"duplicate_key": duplicate_key(email, campaign_id), **_recent_window(utcnow())}
    return Along(RECENT, parameters)


def valid_submission_key(value: str) -> bool:
    return SUBMISSION_KEY.fullmatch(value) is not None


def action_by_key(submission_key: str) -> Action | None:
    if not valid_submission_key(submission_key):
        return None
    return db.session.scalar(select(Action).where(Action.submission_key == submission_key))


def _checked_text(value: str, limit: int, what: str) -> str:
    cleaned = strip_controls(value).strip()
    if not cleaned:
        raise ActionProblem(f"The {what} is empty. Please write a few words.")
    if len(cleaned) > limit:
        raise ActionProblem(
            f"The {what} is {len(cleaned)} characters long; the limit is "
            f"{limit}. Please shorten it."
        )
    return cleaned + "\n"


# Built once (a text() made per call costs its cache key and result set-up every time).
_ADVISORY_LOCK = select(func.pg_advisory_xact_lock(bindparam("id", type_=BigInteger)))


def _serialise(key: str) -> None:
    """Hold a lock for ``key`` until the current transaction ends.

    PostgreSQL: a transaction-level advisory lock on the first 64 bits of the (hex) key.
    SQLite: ``BEGIN IMMEDIATE``, the database's write lock (SQLite has one writer anyway).
    Everything read after this sees what an earlier holder committed.
    """
    connection = db.session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        lock_id = int.from_bytes(bytes.fromhex(key[:16]), "big", signed=True)
        connection.execute(_ADVISORY_LOCK, {"id": lock_id})
    elif dialect == "sqlite":
        raw = connection.connection.dbapi_connection
        if raw is not None and not raw.in_transaction:  # already writing: already locked
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def per_legislator_cap(definition: CampaignDefinition) -> int | None:
    limits = definition.limits
    return limits.per_legislator_per_day if limits is not None else None


def day_start(now: datetime) -> datetime:
    """Midnight of ``now``'s day in ADVOCACY_TIMEZONE (an aware datetime)."""
    try:
        zone = ZoneInfo(str(current_app.config.get("TIMEZONE") or "UTC"))
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    local = now.astimezone(zone)
    return datetime.combine(local.date(), time(), tzinfo=zone)


def capped_targets(
    campaign_id: int, definition: CampaignDefinition, target_ids: list[str], now: datetime
) -> set[str]:
    """The legislators among ``target_ids`` whose cap for today is reached (one query).

    Counted: this campaign's written contacts (email or post, not calls) to them since
    midnight in ADVOCACY_TIMEZONE, except those that expired unconfirmed (an unconfirmed
    one holds its place until it expires).
    """
    cap = per_legislator_cap(definition)
    if cap is None or not target_ids:
        return set()
    rows = db.session.execute(
        select(Contact.target_id, func.count())
        .where(
            Contact.campaign_id == campaign_id,
            Contact.target_kind == "legislator",
            Contact.target_id.in_(sorted(set(target_ids))),
            Contact.channel != "call",
            Contact.status != "expired",
            Contact.created_at >= day_start(now),
        )
        .group_by(Contact.target_id)
    ).all()
    return {target_id for target_id, count in rows if count >= cap}


def submit(campaign: PublishedCampaign, draft: Draft, bodies: dict[str, str]) -> None:
    """Record the action, one contact per reachable recipient, and their outbox rows in ONE
    transaction. A double submit (same submission key) records nothing more; a repeat within
    the window raises ``AlreadyActed``; a message the visitor must fix, ``ActionProblem``.

    ``campaign`` is the campaign as the caller decided on it (maybe read a moment ago): the
    rows are written only while the database still has its status, schedule and current
    version, else ``CampaignChanged`` is raised and nothing is written.

    Submissions by the same person to the same campaign (same ``duplicate_key``) are
    serialised, so simultaneous requests (a double click, two tabs, a retried POST) make one
    action: the first commits, the others then find it (same submission key: nothing to do;
    another key: ``AlreadyActed``).

    A campaign with a per-legislator daily cap also serialises all its submissions (after the
    per-person lock, always in that order) while the cap is counted and the contacts written,
    so two visitors cannot both take the last place: PostgreSQL takes a second advisory lock
    for the campaign; SQLite's write lock already covers it.

    The messages are filled in before any lock is taken, so the lock is held only for the
    checks and the inserts; the legislators' rows may be the ones read less than
    ADVOCACY_PUBLIC_CACHE_SECONDS ago (as for the write page the visitor just read).
    """
    messages = fill_messages(campaign.definition, draft, max_age=public_cache_seconds())
    key = duplicate_key(draft.email, campaign.id)
    with writers_queue():
        _submit_in_turn(campaign, draft, bodies, messages, key)


def _submit_in_turn(
    campaign: PublishedCampaign,
    draft: Draft,
    bodies: dict[str, str],
    messages: list[FilledMessage],
    key: str,
) -> None:
    session = db.session
    try:
        _serialise(key)
        if per_legislator_cap(campaign.definition) is not None:
            _serialise(hashlib.sha256(f"cap:{campaign.id}".encode()).hexdigest())
        now = utcnow()
        try:
            new = _new_action(campaign, draft, messages, bodies, key, now)
        except ActionProblem:
            found = _same_or_recent(draft.submission_key, key, now)
            if found is None:
                raise
        else:
            found = insert_action(session.connection(), new)
        # A double submit (the same key) or a repeat wins over anything wrong with this one.
        if found is not None:
            session.commit()  # ends the transaction (and the lock)
            if found.submission_key == draft.submission_key:
                return
            raise AlreadyActed(found.created_at)
        session.commit()
    except IntegrityError:
        # Only possible if another request got past the lock (e.g. a different duplicate
        # key for the same submission): the other request won, and shows its result.
        session.rollback()
        if action_by_key(draft.submission_key) is None:
            raise
    except BaseException:
        session.rollback()  # nothing half-written stays in the transaction
        raise


def _same_or_recent(submission_key: str, key: str, now: datetime) -> Found | None:
    parameters = {"submission_key": submission_key, "duplicate_key": key, **_recent_window(now)}
    found = db.session.connection().execute(SAME_OR_RECENT, parameters).first()
    return None if found is None else Found(*found)


def _new_action(
    campaign: PublishedCampaign,
    draft: Draft,
    messages: list[FilledMessage],
    bodies: dict[str, str],
    key: str,
    now: datetime,
) -> NewAction:
    """The rows to write for this submission (``ActionProblem`` if there is nothing to send
    or a message the visitor must fix)."""
    campaign_id, version_id, definition = campaign.id, campaign.version_id, campaign.definition
    capped = capped_targets(
        campaign_id,
        definition,
        [m.recipient.id for m in messages if m.recipient.kind == "legislator"],
        now,
    )
    reachable = [
        m
        for m in messages
        if m.recipient.channel is not None
        and not (m.recipient.kind == "legislator" and m.recipient.id in capped)
    ]
    if not reachable and not any(m.recipient.phone for m in messages):
        if capped:
            raise ActionProblem(
                "Your legislators have received as many messages from this campaign as it "
                "sends them in one day. Nothing was sent; please try again tomorrow."
            )
        raise ActionProblem(
            "None of your recipients can receive a written message or a call. "
            "Please choose your district again."
        )
    # With no one to write to but someone to call, the action has no written contacts:
    # the thank-you page gives the phone numbers, the call script and "I called" buttons.

    mode = definition.message.mode
    bodies_to_send = []
    for message in reachable:  # every check before anything is written
        body = message.body
        if mode != "locked":
            body = _checked_text(
                bodies.get(message.field_name, message.body),
                definition.message.max_body_length,
                f"message to {message.recipient.name}",
            )
        bodies_to_send.append(body)

    hold = confirmation.required() and any(m.recipient.channel == "email" for m in reachable)
    return NewAction(
        constituent={
            "name": draft.name,
            "email": draft.email,
            "phone": draft.phone or None,
            "street_address": draft.street_address,
            "city": draft.city or None,
            "state": draft.state or None,
            "zip_code": draft.zip_code or None,
            "opt_in": draft.opt_in,
        },
        action={
            "submission_key": draft.submission_key,
            "campaign_id": campaign_id,
            "campaign_version_id": version_id,
            "duplicate_key": key,
            "matched_address": draft.matched_address or None,
            "state": draft.state or None,
            "legislator_ids": list(dict.fromkeys(draft.legislator_ids)),
            "capped_target_ids": sorted(capped) or None,
            "confirm_by": confirmation.deadline(now) if hold else None,
        },
        contacts=[
            _contact_row(message, body, hold)
            for message, body in zip(reachable, bodies_to_send, strict=True)
        ],
        campaign_id=campaign_id,
        campaign_version_id=version_id,
        hold=hold,
        now=now,
        since=_recent_window(now)["since"],
        seen_campaign={
            "seen_status": campaign.status,
            "seen_starts_at": campaign.starts_at,
            "seen_ends_at": campaign.ends_at,
        },
    )


def _contact_row(message: FilledMessage, body: str, hold: bool) -> dict[str, Any]:
    """A new contact's own column values (``inserts`` adds its action's, and the time)."""
    recipient = message.recipient
    if recipient.channel == "email":
        status = "unconfirmed" if hold else "queued"
    else:
        status = "logged"
    return {
        "channel": recipient.channel,
        "target_kind": recipient.kind,
        "target_id": recipient.id,
        "target_name": recipient.name,
        "target_title": recipient.title or None,
        "target_party": recipient.party or None,
        "target_email": recipient.email or None,
        "target_phone": recipient.phone or None,
        "target_state": recipient.state or None,
        "target_chamber": recipient.chamber or None,
        "target_district": recipient.district or None,
        "subject": message.subject,
        "body": body,
        "personalised": body.strip() != message.body.strip(),
        "status": status,
    }


def _call_contact(action_id: int, target_id: str) -> Contact | None:
    return db.session.scalar(
        select(Contact).where(
            Contact.action_id == action_id,
            Contact.channel == "call",
            Contact.target_id == target_id,
        )
    )


def log_call(action: Action, recipient: Recipient, definition: CampaignDefinition) -> Contact:
    """Record an "I called" click once per action and recipient (a unique index guards
    against simultaneous clicks; the loser returns the winner's contact)."""
    action_id = action.id
    existing = _call_contact(action_id, recipient.id)
    if existing is not None:
        return existing
    script = definition.call_script or ""
    now = utcnow()
    contact = Contact(
        action_id=action_id,
        campaign_id=action.campaign_id,
        campaign_version_id=action.campaign_version_id,
        channel="call",
        target_kind=recipient.kind,
        target_id=recipient.id,
        target_name=recipient.name,
        target_title=recipient.title or None,
        target_party=recipient.party or None,
        target_phone=recipient.phone or None,
        target_state=recipient.state or None,
        target_chamber=recipient.chamber or None,
        target_district=recipient.district or None,
        subject=None,
        body=script or None,
        personalised=False,
        status="called",
        created_at=now,
        sent_at=now,
    )
    db.session.add(contact)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        winner = _call_contact(action_id, recipient.id)
        if winner is None:
            raise
        return winner
    return contact


def call_recipients(action: Action, definition: CampaignDefinition) -> list[Recipient]:
    """Everyone this action's visitor can call: every legislator their address resolved to
    (written to or not, e.g. phone-only members) and the campaign's fixed targets, if they
    have a phone number."""
    if action.legislator_ids is not None:
        ids = [str(i) for i in action.legislator_ids]
    else:  # actions recorded before the ids were kept
        ids = [c.target_id for c in action.contacts if c.target_kind == "legislator"]
    return [r for r in recipients_for(definition, ids) if r.phone]


def format_when(moment: datetime) -> str:
    return f"{moment:%B %-d, %Y}"
