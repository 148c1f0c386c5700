"""Webhook endpoints for admins: add, change, disable, enable, new secret, delete; each
audited. An endpoint's address is checked when it is saved (``delivery.webhooks.check_url``)
and again by the worker before every send."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import delete, func, select, update

from ..actions.webhooks import EVENTS, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from ..campaigns.models import Campaign
from ..config import is_https
from ..dbtypes import utcnow
from ..delivery.models import OutboxMessage
from ..delivery.webhooks import UnsafeEndpoint, check_url, new_secret
from ..extensions import db
from . import audit


class EndpointProblem(ValueError):
    """What staff asked for cannot be saved; the message says why, ``field`` where."""

    def __init__(self, message: str, field: str = "url") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class EndpointSettings:
    name: str
    url: str
    events: list[str]
    campaign_id: int | None
    include_personal: bool
    allow_private: bool


@dataclass(frozen=True)
class AttemptRow:
    at: datetime
    event_type: str
    event_id: str
    result: str
    status_code: int | None
    error: str | None


def http_allowed() -> bool:
    """Plain http endpoints only while the site itself runs on http (development)."""
    return not is_https(current_app.config.get("SITE_URL"))


def _checked(settings: EndpointSettings) -> EndpointSettings:
    name = " ".join(settings.name.split())
    if not name or len(name) > 120:
        raise EndpointProblem("Give the endpoint a name of 1 to 120 characters.", "name")
    events = [event for event in EVENTS if event in settings.events]
    if not events:
        raise EndpointProblem("Choose at least one event to send.", "events")
    if settings.campaign_id is not None and db.session.get(Campaign, settings.campaign_id) is None:
        raise EndpointProblem("That campaign does not exist.", "campaign")
    try:
        url = check_url(
            settings.url, allow_http=http_allowed(), allow_private=settings.allow_private
        )
    except UnsafeEndpoint as exc:
        raise EndpointProblem(str(exc)) from exc
    return EndpointSettings(
        name, url, events, settings.campaign_id, settings.include_personal, settings.allow_private
    )


def _detail(endpoint: WebhookEndpoint) -> dict[str, object]:
    return {
        "url": endpoint.url,
        "events": list(endpoint.events),
        "campaign_id": endpoint.campaign_id,
        "include_personal": endpoint.include_personal,
        "allow_private": endpoint.allow_private,
    }


def list_endpoints() -> list[WebhookEndpoint]:
    return list(db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.name)))


def create_endpoint(settings: EndpointSettings) -> WebhookEndpoint:
    """Add an endpoint with a new secret. Commits."""
    checked = _checked(settings)
    endpoint = WebhookEndpoint(
        name=checked.name,
        url=checked.url,
        secret=new_secret(),
        events=checked.events,
        campaign_id=checked.campaign_id,
        include_personal=checked.include_personal,
        allow_private=checked.allow_private,
        enabled=True,
    )
    db.session.add(endpoint)
    db.session.flush()
    audit.record("webhook.created", endpoint.name, _detail(endpoint))
    db.session.commit()
    return endpoint


def change_endpoint(endpoint: WebhookEndpoint, settings: EndpointSettings) -> None:
    """Change an endpoint's settings (not its secret). Commits."""
    checked = _checked(settings)
    endpoint.name = checked.name
    endpoint.url = checked.url
    endpoint.events = checked.events
    endpoint.campaign_id = checked.campaign_id
    endpoint.include_personal = checked.include_personal
    endpoint.allow_private = checked.allow_private
    audit.record("webhook.changed", endpoint.name, _detail(endpoint))
    db.session.commit()


def _outbox_ids(endpoint: WebhookEndpoint) -> list[int]:
    return list(
        db.session.scalars(
            select(WebhookDelivery.outbox_id).where(WebhookDelivery.endpoint_id == endpoint.id)
        )
    )


def set_enabled(endpoint: WebhookEndpoint, enabled: bool) -> None:
    """Disable (new events are not queued for it; waiting ones are held when due) or enable
    it (held ones are sent). Commits."""
    endpoint.enabled = enabled
    if enabled:
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(_outbox_ids(endpoint)), OutboxMessage.status == "held")
            .values(status="pending", next_attempt_at=utcnow(), updated_at=utcnow())
        )
    audit.record("webhook.enabled" if enabled else "webhook.disabled", endpoint.name)
    db.session.commit()


def new_endpoint_secret(endpoint: WebhookEndpoint) -> None:
    """Replace the secret; messages not yet sent are signed with the new one. Commits."""
    endpoint.secret = new_secret()
    audit.record("webhook.secret_replaced", endpoint.name)
    db.session.commit()


def delete_endpoint(endpoint: WebhookEndpoint) -> None:
    """Delete an endpoint with its queue and attempts. Commits. Refused while one of its
    messages is being sent."""
    outbox_ids = _outbox_ids(endpoint)
    sending = db.session.scalar(
        select(func.count()).where(
            OutboxMessage.id.in_(outbox_ids), OutboxMessage.status == "sending"
        )
    )
    if sending:
        raise EndpointProblem("A message to this endpoint is being sent; try again in a minute.")
    name = endpoint.name
    db.session.execute(delete(WebhookAttempt).where(WebhookAttempt.endpoint_id == endpoint.id))
    db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    db.session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(outbox_ids)))
    db.session.delete(endpoint)
    audit.record("webhook.deleted", name)
    db.session.commit()


def queue_counts(endpoint: WebhookEndpoint) -> dict[str, int]:
    """How many of the endpoint's messages are in each outbox status."""
    rows = db.session.execute(
        select(OutboxMessage.status, func.count())
        .join(WebhookDelivery, WebhookDelivery.outbox_id == OutboxMessage.id)
        .where(WebhookDelivery.endpoint_id == endpoint.id)
        .group_by(OutboxMessage.status)
    ).all()
    return {status: int(count) for status, count in rows}


def last_attempts(endpoint: WebhookEndpoint, limit: int = 50) -> list[AttemptRow]:
    rows = db.session.execute(
        select(
            WebhookAttempt.at,
            WebhookDelivery.event_type,
            WebhookDelivery.event_id,
            WebhookAttempt.result,
            WebhookAttempt.status_code,
            WebhookAttempt.error,
        )
        .join(WebhookDelivery, WebhookDelivery.id == WebhookAttempt.delivery_id)
        .where(WebhookAttempt.endpoint_id == endpoint.id)
        .order_by(WebhookAttempt.id.desc())
        .limit(limit)
    ).all()
    return [AttemptRow(*row) for row in rows]
