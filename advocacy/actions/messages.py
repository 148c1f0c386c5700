"""The outbox kinds of the action flow, registered when ``advocacy.actions`` is imported.

``contact``: a constituent's message to one target (``contact_id``); its outcome is the
contact's status. A message whose recipient (a legislator, a committee member, an executive
official) no longer holds their seat or office when the worker is about to send it is held,
never sent: the contact becomes ``recipient_left`` and staff decide (``admin.operations``:
send anyway, or discard). ``confirmation``: the mail asking an action's constituent to confirm it
(``action_id``), sent to the constituent's own address only; its outcome stays on the outbox
row. ``receipt``: what was sent for the visitor (``action_id``), to their own address.
``followup``: "did they reply?" (``action_id``, see ``followups.py``), to the visitor only.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, select, true, update
from sqlalchemy.engine import Connection

from ..campaigns.models import Campaign, CampaignVersion
from ..campaigns.service import title_in
from ..dbtypes import utcnow
from ..delivery import outbox
from ..delivery.mailer import MessageData
from ..delivery.models import OutboxMessage
from ..extensions import db
from ..lookup.directory import site_today
from ..lookup.offices import still_in_office
from . import confirmation, followups, webhooks
from .models import Action, Constituent, Contact
from .receipts import receipt_text

# A message's outcome as the status of its contact.
_CONTACT_STATUS = {
    "sent": "sent",
    "logged": "logged",
    "retry": "failed",
    "bounced": "bounced",
    "dead": "dead",
    "unconfirmed": "dead",
    "held": "recipient_left",
}
LEFT_OFFICE = "not sent: the recipient no longer holds the seat or office it was written to"
# Kinds of target checked before sending, by whether they are legislators or officials.
_SEATED = ("legislator", "committee")
_OFFICIAL = ("executive",)


def _load_contacts(
    connection: Connection, rows: Sequence[outbox.Queued]
) -> dict[int, MessageData | outbox.Hold]:
    """Email contacts of people whose data is still there (retention removes the text); those
    whose recipient has left office since are held, unless staff chose to send them anyway."""
    outbox_ids = {row.contact_id: row.id for row in rows}
    found = connection.execute(
        select(
            Contact.id,
            Contact.target_kind,
            Contact.target_id,
            Contact.send_anyway_at,
            Contact.target_name,
            Contact.target_email,
            Contact.subject,
            Contact.body,
            Constituent.name,
            Constituent.email,
        )
        .join(Action, Action.id == Contact.action_id)
        .join(Constituent, Constituent.id == Action.constituent_id)
        .where(
            Contact.id.in_(outbox_ids),
            Contact.channel == "email",
            Constituent.anonymised_at.is_(None),
        )
    ).all()
    checked = [row for row in found if row.send_anyway_at is None]
    current = still_in_office(
        connection,
        {row.target_id for row in checked if row.target_kind in _SEATED},
        {row.target_id for row in checked if row.target_kind in _OFFICIAL},
        site_today(),
    )
    messages: dict[int, MessageData | outbox.Hold] = {}
    for row in found:
        departed = (
            row.send_anyway_at is None
            and row.target_kind in (*_SEATED, *_OFFICIAL)
            and row.target_id not in current
        )
        messages[outbox_ids[row.id]] = (
            outbox.Hold(LEFT_OFFICE)
            if departed
            else MessageData(
                to_name=row.target_name,
                to_email=row.target_email,
                subject=row.subject,
                body=row.body,
                sender_name=row.name,
                sender_email=row.email,
                track_bounces=True,
            )
        )
    return messages


def _contact_outcome(connection: Connection, row: outbox.Queued, outcome: outbox.Outcome) -> None:
    contact = update(Contact).where(Contact.id == row.contact_id)
    if outcome.result == "requeued":
        contact = contact.where(Contact.status.in_(("dead", "bounced"))).values(status="queued")
    elif outcome.result in ("sent", "logged"):
        contact = contact.values(status=outcome.result, sent_at=utcnow(), last_error=None)
    else:
        contact = contact.values(status=_CONTACT_STATUS[outcome.result], last_error=outcome.error)
    connection.execute(contact)
    if row.contact_id is not None and outcome.result in ("sent", "logged", "bounced"):
        event = "contact.bounced" if outcome.result == "bounced" else "contact.delivered"
        webhooks.queue_event(event, contact_id=row.contact_id, connection=connection)


def _contacts_retryable(campaign_slug: str | None) -> ColumnElement[bool]:
    """Dead letters of people whose data is still there (of one campaign)."""
    contacts = (
        select(Contact.id)
        .join(Action, Action.id == Contact.action_id)
        .join(Constituent, Constituent.id == Action.constituent_id)
        .where(Constituent.anonymised_at.is_(None))
    )
    if campaign_slug is not None:
        contacts = contacts.where(Contact.campaign_id == _campaign_id(campaign_slug))
    return OutboxMessage.contact_id.in_(contacts)


def _load_confirmations(
    connection: Connection, rows: Sequence[outbox.Queued]
) -> dict[int, MessageData]:
    outbox_ids = {row.action_id: row.id for row in rows}
    found = connection.execute(
        select(
            Action.id,
            Action.submission_key,
            Action.confirm_by,
            Constituent.name,
            Constituent.email,
            Campaign.slug,
            Campaign.title,
            Action.language,
            CampaignVersion.definition,
        )
        .join(Constituent, Constituent.id == Action.constituent_id)
        .join(Campaign, Campaign.id == Action.campaign_id)
        .join(CampaignVersion, CampaignVersion.id == Action.campaign_version_id)
        .where(Action.id.in_(outbox_ids))
    )
    messages = {}
    for row in found:
        action_id, submission_key, confirm_by, name, email, slug, title = row[:7]
        mail = confirmation.confirmation_mail(
            slug=slug,
            # The title the visitor read: the campaign's own in their language, if it has one.
            title=title_in(row.definition, row.language, title),
            name=name,
            action_id=action_id,
            submission_key=submission_key,
            confirm_by=confirm_by,
            language=row.language,
        )
        # From the site itself, with no Reply-To: never written in the constituent's name.
        messages[outbox_ids[action_id]] = MessageData(
            to_name=name, to_email=email, subject=mail.subject, body=mail.body
        )
    return messages


def _confirmations_retryable(campaign_slug: str | None) -> ColumnElement[bool]:
    """Dead mails to an action's own visitor (of one campaign)."""
    if campaign_slug is None:
        return true()
    campaign_id = _campaign_id(campaign_slug)
    return OutboxMessage.action_id.in_(select(Action.id).where(Action.campaign_id == campaign_id))


def _campaign_id(slug: str) -> int:
    campaign_id = db.session.scalar(select(Campaign.id).where(Campaign.slug == slug))
    if campaign_id is None:
        raise outbox.UnknownCampaign(slug)
    return int(campaign_id)


def _load_receipts(connection: Connection, rows: Sequence[outbox.Queued]) -> dict[int, MessageData]:
    messages = {}
    for row in rows:
        action = db.session.get(Action, row.action_id)
        text = receipt_text(action) if action is not None else None
        if action is None or text is None:
            continue  # nothing to send: dead-lettered
        subject, body = text
        constituent = action.constituent
        # From the site itself, to the visitor only.
        messages[row.id] = MessageData(
            to_name=constituent.name, to_email=constituent.email, subject=subject, body=body
        )
    return messages


def _load_follow_ups(
    connection: Connection, rows: Sequence[outbox.Queued]
) -> dict[int, MessageData]:
    """A follow-up with no one left to ask (retention, opted out since) is left out: dead."""
    mails = followups.mails_for([row.action_id for row in rows if row.action_id is not None])
    messages = {}
    for row in rows:
        mail = mails.get(row.action_id) if row.action_id is not None else None
        if mail is not None:
            # From the site itself, to the visitor only.
            messages[row.id] = MessageData(
                to_name=mail.to_name, to_email=mail.to_email, subject=mail.subject, body=mail.body
            )
    return messages


outbox.register_kind(
    "contact",
    load=_load_contacts,
    on_outcome=_contact_outcome,
    retryable=_contacts_retryable,
)
outbox.register_kind(
    "confirmation",
    load=_load_confirmations,
    retryable=_confirmations_retryable,
)
outbox.register_kind(
    "receipt",
    load=_load_receipts,
    retryable=_confirmations_retryable,
)
outbox.register_kind(
    followups.KIND,
    load=_load_follow_ups,
    retryable=_confirmations_retryable,
)
