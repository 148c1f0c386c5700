from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..dbtypes import UTCDateTime, utcnow
from ..extensions import db

# "held": written with an action that waits for email confirmation; never claimed by a worker
# until the confirmation releases it (pending, due now) or the expiry job deletes it.
OUTBOX_STATUSES = ("pending", "sending", "sent", "dead", "held")
OUTBOX_KINDS = ("contact", "confirmation")


class OutboxMessage(db.Model):  # type: ignore[name-defined]
    """A message waiting to be delivered, written in the same transaction as its contact."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # kind "contact": the message of ``contact_id`` to its target. kind "confirmation": the
    # message asking the constituent of ``action_id`` to confirm (no contact; never sent to a
    # target, only to the constituent's own address).
    kind: Mapped[str] = mapped_column(String(16), default="contact")
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"), unique=True)
    action_id: Mapped[int | None] = mapped_column(ForeignKey("action.id"), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
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
