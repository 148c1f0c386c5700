from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..dbtypes import JSONType, UTCDateTime, utcnow
from ..extensions import db


class Constituent(db.Model):  # type: ignore[name-defined]
    """The person who acted. Personal data lives only here and in message text."""

    __tablename__ = "constituent"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    street_address: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(120))
    state: Mapped[str | None] = mapped_column(String(2))
    zip_code: Mapped[str | None] = mapped_column(String(10))
    opt_in: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Action(db.Model):  # type: ignore[name-defined]
    """One submission of the action form."""

    __tablename__ = "action"
    __table_args__ = (Index("ix_action_campaign_created", "campaign_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Random token from the form: a double submit reuses it and finds the first action.
    submission_key: Mapped[str] = mapped_column(String(64), unique=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    campaign_version_id: Mapped[int] = mapped_column(ForeignKey("campaign_version.id"))
    constituent_id: Mapped[int] = mapped_column(ForeignKey("constituent.id"), index=True)
    # Hash of normalised email + campaign, to refuse repeats without reading personal data.
    duplicate_key: Mapped[str] = mapped_column(String(64), index=True)
    matched_address: Mapped[str | None] = mapped_column(String(300))
    state: Mapped[str | None] = mapped_column(String(2))
    # Every legislator the visitor's address (or manual pick) resolved to, in the campaign's
    # chambers, whether or not they can be written to: the "I called" buttons come from here.
    legislator_ids: Mapped[list[str] | None] = mapped_column(JSONType)
    # Recipients not written to because their per-day cap for this campaign was reached.
    capped_target_ids: Mapped[list[str] | None] = mapped_column(JSONType)
    # Set when the site asks for email confirmation (ADVOCACY_REQUIRE_CONFIRMATION): the
    # messages are held until ``confirmed_at``, and expire unconfirmed after ``confirm_by``.
    confirm_by: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The source code of the link the visitor came by (``?source=`` or ``?refcode=``;
    # actions/sources.py): which partner or share brought this action, for the tallies.
    source: Mapped[str | None] = mapped_column(String(64), index=True)
    # The language the visitor took part in ("en", "es"; advocacy/i18n.py): the messages
    # they sent were written from its templates, and every email to them is in it.
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    constituent: Mapped[Constituent] = relationship()
    contacts: Mapped[list[Contact]] = relationship(back_populates="action", order_by="Contact.id")


class Contact(db.Model):  # type: ignore[name-defined]
    """One message (or call) from one constituent to one target, as it was sent."""

    __tablename__ = "contact"
    __table_args__ = (
        Index("ix_contact_campaign_created", "campaign_id", "created_at"),
        Index(
            "ix_contact_campaign_district",
            "campaign_id",
            "target_state",
            "target_chamber",
            "target_district",
        ),
        # The coach reads today's latest messages to one office from this index's end.
        Index("ix_contact_campaign_target_created", "campaign_id", "target_id", "created_at"),
        Index("ix_contact_campaign_status", "campaign_id", "status"),
        # One contact per action, channel and target: a repeated "I called" click (or a
        # concurrent one) cannot log a second call.
        Index("ux_contact_action_channel_target", "action_id", "channel", "target_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("action.id"), index=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    campaign_version_id: Mapped[int] = mapped_column(ForeignKey("campaign_version.id"))
    channel: Mapped[str] = mapped_column(String(16))  # "email" | "call" | "postal"
    # Snapshot of the target as it was when the contact was made.
    # "legislator" | "committee" (a legislator written to as a committee member) |
    # "executive" (a governor, attorney general...) | "fixed"
    target_kind: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[str] = mapped_column(String(120))
    target_name: Mapped[str] = mapped_column(String(200))
    target_title: Mapped[str | None] = mapped_column(String(120))
    target_party: Mapped[str | None] = mapped_column(String(80))
    target_email: Mapped[str | None] = mapped_column(String(320))
    target_phone: Mapped[str | None] = mapped_column(String(60))
    target_state: Mapped[str | None] = mapped_column(String(2))
    target_chamber: Mapped[str | None] = mapped_column(String(16))
    target_district: Mapped[str | None] = mapped_column(String(120))
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str | None] = mapped_column(Text)
    personalised: Mapped[bool] = mapped_column(Boolean, default=False)
    # The coach's figures (actions/coach.py), for the tallies: the share of its words in the
    # visitor's own words, set at the send; its similarity to the closest message sent to the
    # same recipient through the campaign earlier that day (None: it was the first), set by
    # the ``measure-similarity`` job, which the send leaves it to (``similarity_pending``).
    own_words: Mapped[float | None] = mapped_column(Float)
    similarity: Mapped[float | None] = mapped_column(Float)
    similarity_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    # queued, logged, sent, failed, bounced, dead, called; unconfirmed (its message is held
    # until the visitor confirms by email), expired (never confirmed: never delivered);
    # recipient_left (held: its recipient left office before it was sent, staff decide),
    # discarded (such a message staff chose not to send); awaiting_digest (a digest campaign's
    # message to a legislator or official, waiting for the day's digest: ``digest_id``).
    status: Mapped[str] = mapped_column(String(16), default="queued")
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When staff chose to send it although its recipient had left office: not held again.
    send_anyway_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The digest that carries this message (a digest campaign's), once it is built.
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("digest.id"), index=True)

    action: Mapped[Action] = relationship(back_populates="contacts")


# The messages waiting for the ``measure-similarity`` job, by office and time: the job finds
# them without reading the table, and the index holds nothing once they are measured.
Index(
    "ix_contact_similarity_pending",
    Contact.campaign_id,
    Contact.target_id,
    Contact.created_at,
    postgresql_where=Contact.similarity_pending.is_(True),
    sqlite_where=Contact.similarity_pending.is_(True),
)


class FollowUp(db.Model):  # type: ignore[name-defined]
    """The one "did they reply?" email of an action (the campaign's ``follow_up`` option)."""

    __tablename__ = "follow_up"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unique: an action is asked once, however often the job runs.
    action_id: Mapped[int] = mapped_column(ForeignKey("action.id"), unique=True)
    # Random, signed into the email's links with the id; retention clears it, so the links of
    # an anonymised action open nothing.
    secret: Mapped[str | None] = mapped_column(String(32))
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The links answer until then; the mail says so.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())

    action: Mapped[Action] = relationship()
    answers: Mapped[list[FollowUpAnswer]] = relationship(
        back_populates="follow_up", order_by="FollowUpAnswer.id"
    )


class FollowUpAnswer(db.Model):  # type: ignore[name-defined]
    """What a visitor said about one recipient: ``yes`` (they replied), ``no`` or ``not_yet``.
    One per follow-up and contact: a second click changes it rather than counting twice."""

    __tablename__ = "follow_up_answer"
    __table_args__ = (
        Index("ux_follow_up_answer_follow_up_contact", "follow_up_id", "contact_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    follow_up_id: Mapped[int] = mapped_column(ForeignKey("follow_up.id"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"), index=True)
    answer: Mapped[str] = mapped_column(String(8))
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    follow_up: Mapped[FollowUp] = relationship(back_populates="answers")
    contact: Mapped[Contact] = relationship()


class Digest(db.Model):  # type: ignore[name-defined]
    """One day's messages of one campaign to one legislator or official, sent as one email.

    Its text is made from its contacts when it is sent or shown (so retention, which removes
    their personal data, applies to it too). The unique key makes the digest of a day once,
    however many schedulers build it at the same time."""

    __tablename__ = "digest"
    __table_args__ = (
        UniqueConstraint("campaign_id", "target_id", "day", name="uq_digest_campaign_target_day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    target_id: Mapped[str] = mapped_column(String(120))
    # The day (in ADVOCACY_TIMEZONE) whose digest hour closed it.
    day: Mapped[date] = mapped_column(Date)
    target_name: Mapped[str] = mapped_column(String(200))
    target_email: Mapped[str | None] = mapped_column(String(320))
    # The secret of its read-only web page (no sign-in).
    token: Mapped[str] = mapped_column(String(64), unique=True)
    message_count: Mapped[int] = mapped_column(Integer)
    # Its outbox row (no foreign key: outbox rows refer to contacts, contacts to digests).
    outbox_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
