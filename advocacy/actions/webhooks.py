"""Webhooks: events of the action flow posted to endpoints staff configured (admin pages in
``admin.webhooks``), through the outbox as kind ``webhook``.

Events: ``action.created`` (at submit), ``contact.delivered`` and ``contact.bounced`` (where
a contact's outcome is recorded, bounces arriving later included) and ``call.logged``. Each is
queued in the transaction that records it, once per endpoint that wants it (a unique key on
endpoint and event), and signed at send time (``delivery.webhooks``). The queue holds no
personal data: the constituent's name, email and address are read when the message is sent,
only for an endpoint marked to receive them, and only while retention has not removed them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    insert,
    select,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from ..campaigns.models import Campaign
from ..dbtypes import JSONType, UTCDateTime, utcnow
from ..delivery import outbox
from ..delivery.webhooks import WebhookPost
from ..extensions import db
from .models import Action, Constituent, Contact

KIND = "webhook"
EVENTS = {
    "action.created": "An action is taken (action.created)",
    "contact.delivered": "A message is delivered (contact.delivered)",
    "contact.bounced": "A message bounces (contact.bounced)",
    "call.logged": "A call is logged (call.logged)",
}
ENDPOINT_DISABLED = "its endpoint is disabled; enabling it sends what waits"


class WebhookEndpoint(db.Model):  # type: ignore[name-defined]
    """Where staff want events posted, and which."""

    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    url: Mapped[str] = mapped_column(String(500))
    # ``whsec_`` and base64: the key receivers verify signatures with.
    secret: Mapped[str] = mapped_column(String(80))
    events: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # None: every campaign.
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id"))
    include_personal: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set only by admins, for receivers on the site's own network (and tests).
    allow_private: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class WebhookDelivery(db.Model):  # type: ignore[name-defined]
    """One event for one endpoint, sent as its outbox row."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_delivery_endpoint_event"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), unique=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoint.id"), index=True)
    # Stable per event: the ``webhook-id`` header, the same on every try.
    event_id: Mapped[str] = mapped_column(String(120))
    event_type: Mapped[str] = mapped_column(String(32))
    constituent_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # The event's data without personal data (added when sent, if the endpoint wants it).
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WebhookAttempt(db.Model):  # type: ignore[name-defined]
    """One try at sending a delivery, for the endpoint's page."""

    __tablename__ = "webhook_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoint.id"), index=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_delivery.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    result: Mapped[str] = mapped_column(String(16))
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _contact_data(connection: Connection, contact_id: int) -> tuple[int, int, dict[str, Any]]:
    row = connection.execute(
        select(
            Contact.id,
            Contact.action_id,
            Contact.campaign_id,
            Contact.channel,
            Contact.target_kind,
            Contact.target_id,
            Contact.target_name,
            Contact.status,
            Contact.sent_at,
            Contact.created_at,
            Action.constituent_id,
            Campaign.slug,
        )
        .join(Action, Action.id == Contact.action_id)
        .join(Campaign, Campaign.id == Contact.campaign_id)
        .where(Contact.id == contact_id)
    ).one()
    data = {
        "contact_id": row.id,
        "action_id": row.action_id,
        "campaign": row.slug,
        "channel": row.channel,
        "target": {"kind": row.target_kind, "id": row.target_id, "name": row.target_name},
        "status": row.status,
        "created_at": _iso(row.created_at),
        "sent_at": _iso(row.sent_at),
    }
    return row.campaign_id, row.constituent_id, data


def _action_data(connection: Connection, action_id: int) -> tuple[int, int, dict[str, Any]]:
    row = connection.execute(
        select(
            Action.id,
            Action.campaign_id,
            Action.constituent_id,
            Action.state,
            Action.created_at,
            Action.confirmed_at,
            Campaign.slug,
        )
        .join(Campaign, Campaign.id == Action.campaign_id)
        .where(Action.id == action_id)
    ).one()
    contacts = connection.execute(
        select(
            Contact.id,
            Contact.channel,
            Contact.target_kind,
            Contact.target_id,
            Contact.target_name,
            Contact.status,
        )
        .where(Contact.action_id == action_id)
        .order_by(Contact.id)
    ).all()
    data = {
        "action_id": row.id,
        "campaign": row.slug,
        "state": row.state,
        "created_at": _iso(row.created_at),
        "contacts": [
            {
                "contact_id": c.id,
                "channel": c.channel,
                "target": {"kind": c.target_kind, "id": c.target_id, "name": c.target_name},
                "status": c.status,
            }
            for c in contacts
        ],
    }
    return row.campaign_id, row.constituent_id, data


def queue_event(
    event_type: str,
    *,
    action_id: int | None = None,
    contact_id: int | None = None,
    connection: Connection | None = None,
) -> int:
    """Queue ``event_type`` about an action or a contact for every enabled endpoint that wants
    it, with the caller's transaction (the session's, or ``connection``'s). An endpoint that
    has this event already gets nothing new. Returns how many were queued."""
    if event_type not in EVENTS:
        raise ValueError(f"unknown webhook event {event_type!r}")
    connection = connection if connection is not None else db.session.connection()
    # The endpoints first: on most sites none wants the event, and its data need not be read.
    wanting = [
        (endpoint_id, endpoint_campaign)
        for endpoint_id, events, endpoint_campaign in connection.execute(
            select(
                WebhookEndpoint.id, WebhookEndpoint.events, WebhookEndpoint.campaign_id
            ).where(WebhookEndpoint.enabled.is_(True))
        )
        if event_type in (events or [])
    ]
    if not wanting:
        return 0
    if contact_id is not None:
        campaign_id, constituent_id, data = _contact_data(connection, contact_id)
        object_id = contact_id
    elif action_id is not None:
        campaign_id, constituent_id, data = _action_data(connection, action_id)
        object_id = action_id
    else:
        raise ValueError("an event is about an action or a contact")
    event_id = f"evt_{event_type.replace('.', '_')}_{object_id}"
    now = utcnow()
    queued = 0
    for endpoint_id, endpoint_campaign in wanting:
        if endpoint_campaign not in (None, campaign_id):
            continue
        already = connection.scalar(
            select(WebhookDelivery.id).where(
                WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.event_id == event_id
            )
        )
        if already is not None:
            continue
        outbox_id = outbox.queue_on(connection, KIND)
        connection.execute(
            insert(WebhookDelivery).values(
                outbox_id=outbox_id,
                endpoint_id=endpoint_id,
                event_id=event_id,
                event_type=event_type,
                constituent_id=constituent_id,
                data=data,
                occurred_at=now,
            )
        )
        queued += 1
    return queued


def _personal(connection: Connection, people: set[int]) -> dict[int, dict[str, Any]]:
    """Name, email and address of people retention has not anonymised."""
    if not people:
        return {}
    found = connection.execute(
        select(
            Constituent.id,
            Constituent.name,
            Constituent.email,
            Constituent.street_address,
            Constituent.city,
            Constituent.state,
            Constituent.zip_code,
        ).where(Constituent.id.in_(people), Constituent.anonymised_at.is_(None))
    ).all()
    result = {}
    for person in found:
        result[person.id] = {
            "name": person.name,
            "email": person.email,
            "address": {
                "street": person.street_address,
                "city": person.city,
                "state": person.state,
                "zip": person.zip_code,
            },
        }
    return result


def body_of(event_type: str, occurred_at: datetime, data: dict[str, Any]) -> str:
    return json.dumps(
        {"type": event_type, "timestamp": occurred_at.isoformat(), "data": data},
        separators=(",", ":"),
        sort_keys=True,
    )


def _load(
    connection: Connection, rows: Sequence[outbox.Queued]
) -> dict[int, WebhookPost | outbox.Hold]:
    found = connection.execute(
        select(
            WebhookDelivery.outbox_id,
            WebhookDelivery.event_id,
            WebhookDelivery.event_type,
            WebhookDelivery.constituent_id,
            WebhookDelivery.data,
            WebhookDelivery.occurred_at,
            WebhookEndpoint.url,
            WebhookEndpoint.secret,
            WebhookEndpoint.enabled,
            WebhookEndpoint.include_personal,
            WebhookEndpoint.allow_private,
        )
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.outbox_id.in_([row.id for row in rows]))
    ).all()
    people = _personal(
        connection,
        {r.constituent_id for r in found if r.include_personal and r.constituent_id is not None},
    )
    messages: dict[int, WebhookPost | outbox.Hold] = {}
    for r in found:
        if not r.enabled:
            messages[r.outbox_id] = outbox.Hold(ENDPOINT_DISABLED)
            continue
        data = dict(r.data or {})
        if r.include_personal and r.constituent_id in people:
            data["constituent"] = people[r.constituent_id]
        messages[r.outbox_id] = WebhookPost(
            url=r.url,
            secret=r.secret,
            webhook_id=r.event_id,
            body=body_of(r.event_type, r.occurred_at, data),
            allow_private=r.allow_private,
        )
    return messages


def _on_outcome(connection: Connection, row: outbox.Queued, outcome: outbox.Outcome) -> None:
    if outcome.result == "requeued":
        return
    delivery = connection.execute(
        select(WebhookDelivery.id, WebhookDelivery.endpoint_id).where(
            WebhookDelivery.outbox_id == row.id
        )
    ).one_or_none()
    if delivery is None:
        return
    connection.execute(
        insert(WebhookAttempt).values(
            endpoint_id=delivery.endpoint_id,
            delivery_id=delivery.id,
            at=utcnow(),
            result=outcome.result,
            status_code=outcome.status_code,
            error=outcome.error,
        )
    )


outbox.register_kind(KIND, load=_load, on_outcome=_on_outcome)
