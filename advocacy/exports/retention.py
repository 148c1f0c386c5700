"""Data retention: after ``ADVOCACY_RETENTION_DAYS`` the personal data of an action is removed
and only anonymous facts stay, so every tally stays exactly what it was.

Removed: the constituent's name, email, phone, street address, city and ZIP code (the state
stays), the Census-matched address of the action, and the subject and text of its messages
(rendered messages carry the sender's name and edits; the campaign version keeps the template).
The action's duplicate key (a plain SHA-256 of the email) is replaced by a keyed hash (HMAC with
the site's secret key), so it no longer answers "did this address act?" yet still tells one
person's old actions apart from another's. Kept: every contact column the tallies read (target,
state, chamber, district, party, channel, status, personalised flag, time).

An action is only anonymised when its constituent has no newer action inside the period, and
none of its messages is still waiting in the outbox (pending or being sent), for a daily
digest, or in a digest not yet sent. A digest keeps no text of its own: its email and page are
made from its contacts, so once they are anonymised it only counts them.

Follow-ups ("did they reply?"): the secret in their links is cleared, so the links of an
anonymised action open nothing, and a follow-up mail not yet sent is dropped (it would write
to someone whose address is gone). The answers stay, as anonymous facts like contacts: which
recipient, what answer, when, so reply rates stay the same too.

Also removed: the message files the ``log`` delivery mode wrote to ``instance/mail-log/``
(``<kind>-<id>.eml``, one per message of any kind, and a crashed write's temporary
file) once they were last written before the same cutoff; other files there are left alone.
And on every run, retention on or off: the address lookups cached by the lookup service
(``lookup_cache``: what the geocoder matched for an address a visitor typed) whose expiry has
passed. An expired row is never read again (a new lookup of the address replaces it), so
removing it changes nothing the site shows.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from ..actions.followups import KIND as FOLLOW_UP_KIND
from ..actions.models import Action, Constituent, Contact, Digest, FollowUp
from ..admin import audit
from ..dbtypes import utcnow
from ..delivery.models import OutboxMessage
from ..extensions import db
from ..lookup.models import LookupCacheEntry

BATCH = 500


@dataclass(frozen=True)
class RetentionReport:
    enabled: bool
    days: int
    cutoff: datetime | None = None
    actions: int = 0
    constituents: int = 0
    contacts: int = 0
    waiting_for_delivery: int = 0
    lookup_cache: int = 0  # expired cached address lookups removed
    mail_log_files: int = 0  # ``log`` mode message files removed
    follow_ups: int = 0  # follow-ups whose links were made void
    notes: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        lookups = f"{self.lookup_cache} expired address lookup(s) removed"
        if not self.enabled:
            text = "retention is off (ADVOCACY_RETENTION_DAYS is 0 or unset): "
            return text + (
                f"no action changed; {lookups}" if self.lookup_cache else "nothing removed"
            )
        text = (
            f"removed personal data of {self.actions} action(s) older than {self.days} day(s) "
            f"(before {self.cutoff:%Y-%m-%d %H:%M} UTC): {self.constituents} constituent(s), "
            f"{self.contacts} message(s)"
        )
        if self.mail_log_files:
            text += f", {self.mail_log_files} mail-log file(s)"
        if self.follow_ups:
            text += f', {self.follow_ups} "did they reply?" follow-up(s)'
        if self.waiting_for_delivery:
            text += f"; {self.waiting_for_delivery} action(s) kept until their mail is delivered"
        if self.lookup_cache:
            text += f"; {lookups}"
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "days": self.days,
            "cutoff": self.cutoff.isoformat() if self.cutoff else None,
            "actions": self.actions,
            "constituents": self.constituents,
            "contacts": self.contacts,
            "waiting_for_delivery": self.waiting_for_delivery,
            "lookup_cache": self.lookup_cache,
            "mail_log_files": self.mail_log_files,
            "follow_ups": self.follow_ups,
        }


def _rekey(secret: bytes, key: str) -> str:
    return hmac.new(secret, key.encode("utf-8"), hashlib.sha256).hexdigest()


def _people_due(cutoff: datetime, after: int) -> list[int]:
    """The next batch of not-yet-anonymised people with an action older than ``cutoff``."""
    old_action = (
        sa.select(Action.id)
        .where(Action.constituent_id == Constituent.id, Action.created_at < cutoff)
        .exists()
    )
    return list(
        db.session.scalars(
            sa.select(Constituent.id)
            .where(Constituent.id > after, Constituent.anonymised_at.is_(None), old_action)
            .order_by(Constituent.id)
            .limit(BATCH)
        )
    )


def _with_recent_actions(people: list[int], cutoff: datetime) -> set[int]:
    return set(
        db.session.scalars(
            sa.select(Action.constituent_id)
            .where(Action.constituent_id.in_(people), Action.created_at >= cutoff)
            .distinct()
        )
    )


def _with_mail_in_delivery(people: list[int]) -> set[int]:
    """People with a message still to deliver: their own, or in a daily digest (waiting for
    it, or in one not yet sent)."""
    unsent_digests = (
        sa.select(Digest.id)
        .join(OutboxMessage, OutboxMessage.id == Digest.outbox_id)
        .where(OutboxMessage.status.in_(("pending", "sending")))
    )
    own = set(
        db.session.scalars(
            sa.select(Action.constituent_id)
            .join(Contact, Contact.action_id == Action.id)
            .join(OutboxMessage, OutboxMessage.contact_id == Contact.id)
            .where(
                Action.constituent_id.in_(people),
                OutboxMessage.status.in_(("pending", "sending")),
            )
            .distinct()
        )
    )
    in_digests = set(
        db.session.scalars(
            sa.select(Action.constituent_id)
            .join(Contact, Contact.action_id == Action.id)
            .where(
                Action.constituent_id.in_(people),
                sa.or_(Contact.status == "awaiting_digest", Contact.digest_id.in_(unsent_digests)),
            )
            .distinct()
        )
    )
    return own | in_digests


def _void_follow_ups(action_ids: list[int]) -> int:
    """Clear the link secrets of these actions' follow-ups and drop their unsent follow-up
    mails. Returns how many follow-ups were voided."""
    db.session.execute(
        sa.delete(OutboxMessage)
        .where(
            OutboxMessage.kind == FOLLOW_UP_KIND,
            OutboxMessage.action_id.in_(action_ids),
            OutboxMessage.status.in_(("pending", "held", "dead")),
        )
        .execution_options(synchronize_session=False)
    )
    return int(
        db.session.execute(
            sa.update(FollowUp)
            .where(FollowUp.action_id.in_(action_ids), FollowUp.secret.is_not(None))
            .values(secret=None)
            .execution_options(synchronize_session=False)
        ).rowcount
    )


def purge_expired_lookups(now: datetime) -> int:
    """Delete the cached address lookups whose expiry has passed (in batches, a commit each;
    one refreshed meanwhile is kept). Returns how many were deleted."""
    removed = 0
    expired = LookupCacheEntry.expires_at <= now
    while keys := list(
        db.session.scalars(sa.select(LookupCacheEntry.key).where(expired).limit(BATCH))
    ):
        removed += db.session.execute(
            sa.delete(LookupCacheEntry)
            .where(LookupCacheEntry.key.in_(keys), expired)
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
    return removed


# What ``log`` delivery mode writes (delivery/mailer.py, delivery/worker.py, jobs/alerts.py),
# and the temporary file of a write that crashed.
_MAIL_LOG_FILE = re.compile(
    r"[a-z]+-[^/]*\.eml|\.[a-z]+-[^/]*\.tmp"  # <kind>-<id>.eml, and a write in progress
)


def purge_mail_log(cutoff: datetime) -> int:
    """Delete the ``log`` mode message files in the mail-log folder last written before
    ``cutoff``. Other files (and folders) are left alone. Returns how many were deleted."""
    folder = current_app.config.get("MAIL_LOG_DIR")
    if not folder:
        return 0
    before = cutoff.timestamp()
    removed = 0
    try:
        entries = os.scandir(folder)
    except FileNotFoundError:
        return 0
    with entries:
        for entry in entries:
            if not _MAIL_LOG_FILE.fullmatch(entry.name):
                continue
            try:
                if (
                    entry.is_file(follow_symlinks=False)
                    and entry.stat(follow_symlinks=False).st_mtime < before
                ):
                    os.unlink(entry.path)
                    removed += 1
            except FileNotFoundError:  # removed (or replaced by a retry's copy) meanwhile
                continue
    return removed


def apply_retention(now: datetime | None = None) -> RetentionReport:
    """Remove personal data from actions older than ``RETENTION_DAYS`` (0: disabled).

    Idempotent; works through people in batches (one commit each, every query indexed, so a
    large backlog takes linear time) and records one audit entry when it did something. Also
    removes old mail-log files, and (even with retention off) expired cached address lookups.
    """
    now = now or utcnow()
    lookups = purge_expired_lookups(now)
    days = int(current_app.config.get("RETENTION_DAYS") or 0)
    if days <= 0:
        return RetentionReport(enabled=False, days=0, lookup_cache=lookups)
    cutoff = now - timedelta(days=days)
    mail_log_files = purge_mail_log(cutoff)
    secret = str(current_app.config["SECRET_KEY"]).encode("utf-8")

    actions = constituents = contacts = waiting = follow_ups = 0
    after = 0
    while people := _people_due(cutoff, after):
        after = people[-1]
        # People with a newer action, or with mail still on its way, keep their details for now.
        sending = _with_mail_in_delivery(people)
        blocked = _with_recent_actions(people, cutoff) | sending
        if sending:
            waiting += int(
                db.session.scalar(
                    sa.select(sa.func.count())
                    .select_from(Action)
                    .where(Action.constituent_id.in_(sending), Action.created_at < cutoff)
                )
                or 0
            )
        due = [person for person in people if person not in blocked]
        if not due:
            continue
        their_actions = db.session.execute(
            sa.select(Action.id, Action.duplicate_key).where(Action.constituent_id.in_(due))
        ).all()
        constituents += db.session.execute(
            sa.update(Constituent)
            .where(Constituent.id.in_(due), Constituent.anonymised_at.is_(None))
            .values(
                name=None,
                email=None,
                phone=None,
                street_address=None,
                city=None,
                zip_code=None,
                anonymised_at=now,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        if their_actions:
            db.session.execute(
                sa.update(Action.__table__)
                .where(Action.__table__.c.id == sa.bindparam("action_id"))
                .values(matched_address=None, duplicate_key=sa.bindparam("new_key")),
                [
                    {"action_id": row.id, "new_key": _rekey(secret, row.duplicate_key)}
                    for row in their_actions
                ],
            )
            contacts += db.session.execute(
                sa.update(Contact)
                .where(Contact.action_id.in_([row.id for row in their_actions]))
                .values(subject=None, body=None)
                .execution_options(synchronize_session=False)
            ).rowcount
            follow_ups += _void_follow_ups([row.id for row in their_actions])
        actions += len(their_actions)
        db.session.commit()
    report = RetentionReport(
        enabled=True,
        days=days,
        cutoff=cutoff,
        actions=actions,
        constituents=constituents,
        contacts=contacts,
        waiting_for_delivery=waiting,
        lookup_cache=lookups,
        mail_log_files=mail_log_files,
        follow_ups=follow_ups,
    )
    if actions or waiting or lookups or mail_log_files:
        audit.record("retention.applied", f"{days} days", report.to_json(), actor="system")
        db.session.commit()
    return report
