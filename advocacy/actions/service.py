"""The action flow's decisions: drafts, filled messages, and the one send transaction."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..campaigns import templating
from ..campaigns.models import Campaign, CampaignVersion
from ..campaigns.schema import CampaignDefinition
from ..dbtypes import utcnow
from ..delivery.outbox import enqueue
from ..extensions import db
from ..lookup.service import LookupResult
from .models import Action, Constituent, Contact
from .recipients import CHAMBERS_FOR_RULE, Recipient, constituent_values, recipients_for


class ActionProblem(ValueError):
    """Something the visitor can fix; the message says what."""


class AlreadyActed(Exception):
    def __init__(self, action: Action) -> None:
        super().__init__("already acted")
        self.action = action


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
    result: LookupResult,
    definition: CampaignDefinition,
    city: str | None,
    zip_code: str | None,
) -> None:
    """Keep the matched address and the members of the chambers this campaign writes to."""
    allowed = CHAMBERS_FOR_RULE.get(definition.legislator_chambers or "", set())
    draft.matched_address = result.matched_address or ""
    draft.state = result.state or ""
    draft.city = city or ""
    draft.zip_code = zip_code or ""
    draft.confidence = result.confidence
    draft.legislator_ids = [
        member.id
        for group in result.districts
        if group.chamber in allowed
        for member in group.members
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


def fill_messages(definition: CampaignDefinition, draft: Draft) -> list[FilledMessage]:
    constituent = constituent_values(draft.name, draft.city, draft.state)
    campaign = {"title": definition.title}
    filled = []
    for recipient in recipients_for(definition, draft.legislator_ids):
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


def recent_action(email: str, campaign_id: int) -> Action | None:
    window = timedelta(hours=current_app.config["DUPLICATE_WINDOW_HOURS"])
    return db.session.scalar(
        select(Action)
        .where(
            Action.duplicate_key == duplicate_key(email, campaign_id),
            Action.created_at > utcnow() - window,
        )
        .order_by(Action.created_at.desc())
        .limit(1)
    )


def action_by_key(submission_key: str) -> Action | None:
    return db.session.scalar(select(Action).where(Action.submission_key == submission_key))


def _checked_text(text: str, limit: int, what: str) -> str:
    cleaned = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not cleaned:
        raise ActionProblem(f"The {what} is empty. Please write a few words.")
    if len(cleaned) > limit:
        raise ActionProblem(
            f"The {what} is {len(cleaned)} characters long; the limit is "
            f"{limit}. Please shorten it."
        )
    return cleaned + "\n"


def submit(
    campaign: Campaign,
    version: CampaignVersion,
    definition: CampaignDefinition,
    draft: Draft,
    bodies: dict[str, str],
) -> Action:
    """Record the action, one contact per reachable recipient, and their outbox rows in ONE
    transaction. Double submits return the first action; repeats within the window raise."""
    existing = action_by_key(draft.submission_key)
    if existing is not None:
        return existing
    earlier = recent_action(draft.email, campaign.id)
    if earlier is not None:
        raise AlreadyActed(earlier)
    messages = fill_messages(definition, draft)
    reachable = [m for m in messages if m.recipient.channel is not None]
    if not reachable:
        raise ActionProblem(
            "None of your recipients can receive a written message. "
            "Please use the phone numbers below instead."
        )

    mode = definition.message.mode
    bodies_to_send = []
    for message in reachable:  # every check before anything is added to the session
        body = message.body
        if mode != "locked":
            body = _checked_text(
                bodies.get(message.field_name, message.body),
                definition.message.max_body_length,
                f"message to {message.recipient.name}",
            )
        bodies_to_send.append(body)

    now = utcnow()
    constituent = Constituent(
        name=draft.name,
        email=draft.email,
        phone=draft.phone or None,
        street_address=draft.street_address,
        city=draft.city or None,
        state=draft.state or None,
        zip_code=draft.zip_code or None,
        opt_in=draft.opt_in,
        created_at=now,
    )
    action = Action(
        submission_key=draft.submission_key,
        campaign_id=campaign.id,
        campaign_version_id=version.id,
        constituent=constituent,
        duplicate_key=duplicate_key(draft.email, campaign.id),
        matched_address=draft.matched_address or None,
        state=draft.state or None,
        created_at=now,
    )
    try:
        db.session.add(action)
        for message, body in zip(reachable, bodies_to_send, strict=True):
            recipient = message.recipient
            contact = Contact(
                action=action,
                campaign_id=campaign.id,
                campaign_version_id=version.id,
                channel=recipient.channel,
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
                subject=message.subject,
                body=body,
                personalised=body.strip() != message.body.strip(),
                status="queued" if recipient.channel == "email" else "logged",
                created_at=now,
            )
            db.session.add(contact)
            if recipient.channel == "email":
                enqueue(contact)
    except Exception:
        db.session.rollback()  # nothing half-written stays in the session
        raise
    try:
        db.session.commit()
    except IntegrityError:
        # The same form was sent twice at once; the other request won. Show its result.
        db.session.rollback()
        winner = action_by_key(draft.submission_key)
        if winner is None:
            raise
        return winner
    return action


def log_call(action: Action, recipient: Recipient, definition: CampaignDefinition) -> Contact:
    """Record an "I called" click once per action and recipient."""
    for contact in action.contacts:
        if contact.channel == "call" and contact.target_id == recipient.id:
            return contact
    script = definition.call_script or ""
    contact = Contact(
        action=action,
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
        created_at=utcnow(),
        sent_at=utcnow(),
    )
    db.session.add(contact)
    db.session.commit()
    return contact


def call_recipients(action: Action, definition: CampaignDefinition) -> list[Recipient]:
    """Everyone this action wrote to who can also be called (legislators and fixed targets)."""
    ids = [c.target_id for c in action.contacts if c.target_kind == "legislator"]
    return [r for r in recipients_for(definition, ids) if r.phone]


def format_when(moment: datetime) -> str:
    return f"{moment:%B %-d, %Y}"
