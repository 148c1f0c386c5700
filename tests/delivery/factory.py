"""Rows for delivery tests, made directly with the models (no web form involved)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar

import sqlalchemy as sa
from flask import Flask

from advocacy.actions.models import Action, Constituent, Contact
from advocacy.campaigns.models import Campaign, CampaignVersion
from advocacy.dbtypes import utcnow
from advocacy.delivery.models import OutboxMessage
from advocacy.delivery.outbox import queue
from advocacy.extensions import db
from advocacy.lookup.models import Legislator


def make_campaign(slug: str = "protect-children", *, source: str = "file") -> Campaign:
    """The live campaign ``slug`` with one version (made unless it exists; not committed)."""
    campaign = db.session.scalar(sa.select(Campaign).where(Campaign.slug == slug))
    if campaign is not None:
        return campaign
    campaign = Campaign(slug=slug, title=f"Campaign {slug}", status="live", source=source)
    db.session.add(campaign)
    db.session.flush()
    version = CampaignVersion(
        campaign_id=campaign.id, number=1, content_hash="0" * 64, definition={"slug": slug}
    )
    db.session.add(version)
    db.session.flush()
    campaign.current_version_id = version.id
    return campaign


@dataclass
class ContactSpec:
    target_email: str | None = None
    target_name: str = "Representative Ortiz"
    subject: str = "Protect children in Pennsylvania"
    body: str = "Dear Representative Ortiz,\n\nPlease protect every child.\n\nJane Voter"
    name: str | None = "Jane Voter"
    email: str | None = "jane.voter@example.com"
    channel: str = "email"
    extra: dict[str, object] = field(default_factory=dict)


def make_contact(spec: ContactSpec, *, campaign_slug: str = "protect-children") -> Contact:
    """One action by one constituent with one contact (not committed, not queued)."""
    campaign = make_campaign(campaign_slug)
    constituent = Constituent(name=spec.name, email=spec.email, state="PA")
    db.session.add(constituent)
    db.session.flush()
    action = Action(
        submission_key=uuid.uuid4().hex,
        campaign_id=campaign.id,
        campaign_version_id=campaign.current_version_id,
        constituent_id=constituent.id,
        duplicate_key=uuid.uuid4().hex,
        state="PA",
    )
    db.session.add(action)
    db.session.flush()
    # Written to a legislator who holds their seat: a message to someone who has left office
    # is held, not sent (tests/delivery/test_recipient_left.py).
    target_id = f"ocd-person/{uuid.uuid4()}"
    db.session.add(
        Legislator(
            id=target_id,
            state="pa",
            chamber="lower",
            district="1",
            name=spec.target_name,
            email=spec.target_email,
        )
    )
    contact = Contact(
        action_id=action.id,
        campaign_id=campaign.id,
        campaign_version_id=campaign.current_version_id,
        channel=spec.channel,
        target_kind="legislator",
        target_id=target_id,
        target_name=spec.target_name,
        target_email=spec.target_email,
        target_state="PA",
        subject=spec.subject,
        body=spec.body,
        **spec.extra,
    )
    db.session.add(contact)
    db.session.flush()
    return contact


def queue_contacts(
    count: int = 1, *, campaign_slug: str = "protect-children", **overrides: object
) -> list[int]:
    """``count`` queued email contacts to distinct legislators, committed. Returns ids."""
    ids = []
    for index in range(count):
        values: dict[str, object] = {"target_email": f"rep{index}@legislature.example.gov"}
        values.update(overrides)
        contact = make_contact(ContactSpec(**values), campaign_slug=campaign_slug)  # type: ignore[arg-type]
        queue("contact", contact_id=contact.id)
        ids.append(contact.id)
    db.session.commit()
    return ids


def queue_specs(specs: list[ContactSpec]) -> list[int]:
    ids = []
    for spec in specs:
        contact = make_contact(spec)
        queue("contact", contact_id=contact.id)
        ids.append(contact.id)
    db.session.commit()
    return ids


@dataclass(frozen=True)
class State:
    contact_status: str
    contact_error: str | None
    sent_at: object
    outbox_status: str
    attempts: int
    next_attempt_at: object
    claimed_by: str | None
    message_id: str
    outbox_error: str | None


def state(contact_id: int) -> State:
    db.session.expire_all()
    contact = db.session.get(Contact, contact_id)
    outbox = db.session.scalar(
        sa.select(OutboxMessage).where(OutboxMessage.contact_id == contact_id)
    )
    assert contact is not None and outbox is not None
    result = State(
        contact_status=contact.status,
        contact_error=contact.last_error,
        sent_at=contact.sent_at,
        outbox_status=outbox.status,
        attempts=outbox.attempts,
        next_attempt_at=outbox.next_attempt_at,
        claimed_by=outbox.claimed_by,
        message_id=outbox.message_id,
        outbox_error=outbox.last_error,
    )
    db.session.commit()
    return result


def make_all_due() -> None:
    """Pretend the backoff delays have passed."""
    db.session.execute(sa.update(OutboxMessage).values(next_attempt_at=utcnow()))
    db.session.commit()


def expire_leases() -> None:
    """Pretend every claim's lease ran out (as if its worker had died)."""
    db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.status == "sending")
        .values(claimed_until=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()


T = TypeVar("T")


def in_thread(app: Flask, work: Callable[[], T]) -> Future[T]:
    """Start ``work`` in a thread of its own, with its own app context (and so its own
    database session), as another worker would run."""

    def run() -> T:
        with app.app_context():
            return work()

    executor = ThreadPoolExecutor(max_workers=1)
    try:
        return executor.submit(run)
    finally:
        executor.shutdown(wait=False)
