from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..dbtypes import UTCDateTime, utcnow
from ..extensions import db


class OutboxMessage(db.Model):  # type: ignore[name-defined]
    """A message to deliver, written in the same transaction as what it is about."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_due", "status", "next_attempt_at"),
        # One message of each kind per action (its confirmation, its receipt).
        UniqueConstraint("kind", "action_id", name="uq_outbox_kind_action_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # A kind registered with outbox.register_kind; the rows it is about are its business.
    kind: Mapped[str] = mapped_column(String(16))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"), unique=True)
    action_id: Mapped[int | None] = mapped_column(ForeignKey("action.id"))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # see outbox.py
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    message_id: Mapped[str] = mapped_column(String(200))
    # Committed just before the SMTP DATA command of the current try; cleared with its outcome.
    # A row taken over from a dead worker with this set may have been delivered already.
    send_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Bounce(db.Model):  # type: ignore[name-defined]
    """A delivery failure reported after the message was handed over: a bounce notice that
    came back to the message's own bounce address (``bounces.py``). One per message."""

    __tablename__ = "bounce"

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), unique=True)
    # The address the notice says failed (its Final-Recipient), when it names one.
    address: Mapped[str | None] = mapped_column(String(320), index=True)
    # The enhanced status code (RFC 3463, e.g. "5.1.1") when the notice gave one.
    status: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
