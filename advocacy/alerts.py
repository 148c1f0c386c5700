"""Alert mails to staff (ADVOCACY_ALERT_EMAIL) through the outbox, outbox kind ``alert``.

An alert is queued in the caller's transaction and sent by the delivery workers like any other
message, so the delivery mode applies: ``log`` writes it to the mail log, ``redirect`` sends it
to ADVOCACY_REDIRECT_TO, ``smtp`` to the staff address. It is from the site itself and never
goes to a legislator or a constituent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from flask import current_app
from sqlalchemy import ForeignKey, String, Text, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from .dbtypes import UTCDateTime, utcnow
from .delivery import outbox
from .delivery.mailer import MessageData, normalise_address
from .extensions import db


class StaffAlert(db.Model):  # type: ignore[name-defined]
    """The text of one alert mail, sent as its outbox row."""

    __tablename__ = "staff_alert"

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), unique=True)
    to_email: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AlertAddressError(ValueError):
    """ADVOCACY_ALERT_EMAIL is set but is not one plain email address."""


def alert_address() -> str | None:
    """ADVOCACY_ALERT_EMAIL, or None when it is empty (alerts are then only logged)."""
    configured = str(current_app.config.get("ALERT_EMAIL") or "").strip()
    if not configured:
        return None
    address = normalise_address(configured)
    if address is None:
        raise AlertAddressError("ADVOCACY_ALERT_EMAIL is not one plain email address")
    return address


def queue_alert(subject: str, body: str) -> str | None:
    """Queue one alert mail to ADVOCACY_ALERT_EMAIL with the caller's transaction (not
    committed here). Returns the address, or None when none is set."""
    address = alert_address()
    if address is None:
        return None
    message = outbox.queue("alert")
    db.session.flush()  # the outbox row's id
    db.session.add(
        StaffAlert(outbox_id=message.id, to_email=address, subject=subject[:300], body=body)
    )
    return address


def _load_alerts(connection: Connection, rows: Sequence[outbox.Queued]) -> dict[int, MessageData]:
    found = connection.execute(
        select(
            StaffAlert.outbox_id, StaffAlert.to_email, StaffAlert.subject, StaffAlert.body
        ).where(StaffAlert.outbox_id.in_([row.id for row in rows]))
    )
    return {
        outbox_id: MessageData(to_name=None, to_email=to_email, subject=subject, body=body)
        for outbox_id, to_email, subject, body in found
    }


outbox.register_kind("alert", load=_load_alerts)
