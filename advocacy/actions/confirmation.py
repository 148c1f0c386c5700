"""Email confirmation before delivery (ADVOCACY_REQUIRE_CONFIRMATION).

With it on, ``/send`` records the action, its contacts (status ``unconfirmed``) and their outbox
rows (status ``held``, never claimed) in one transaction, plus an outbox row of kind
``confirmation``: the mail to the constituent's own address with a link to
``/c/<slug>/confirm/<token>``. Opening the link shows a page with a button (a GET changes
nothing: mail scanners prefetch links); the POST releases the held rows (pending, due now),
marks the contacts ``queued`` and sets ``action.confirmed_at``. After
``ADVOCACY_CONFIRMATION_HOURS`` the ``expire-unconfirmed`` job deletes the held rows and marks
the contacts ``expired``: they are never delivered.

The token is the action id (and a hash of its submission key) signed with the app's secret key
and its own salt (itsdangerous). It carries no time: the deadline is ``action.confirm_by`` in
the database, the same one the expiry job applies, so a retried mail is byte-for-byte the same
and the page and the job never disagree about whether a link has expired.

Confirming and expiring are guarded updates (``status = 'held'`` / ``'unconfirmed'``), so a
confirmation racing the expiry job either releases the rows or finds them gone, never both.

A link only confirms while the action's campaign still takes actions (``public_state``: live,
started, not ended). After the campaign is closed, paused or ended the link answers like an
expired one and nothing is released: the held rows wait for the expiry job (or, if a paused
campaign resumes before the deadline, for the confirmation).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import ColumnElement, delete, exists, or_, select, update
from sqlalchemy.engine import CursorResult

from ..campaigns.models import Campaign
from ..campaigns.service import public_state
from ..dbtypes import utcnow
from ..delivery.models import OutboxMessage
from ..extensions import db
from ..i18n import force_locale, gettext, long_date
from .models import Action, Contact

SALT = "advocacy.actions.confirm"


def required() -> bool:
    return bool(current_app.config.get("REQUIRE_CONFIRMATION"))


def deadline(now: datetime) -> datetime:
    return now + timedelta(hours=int(current_app.config.get("CONFIRMATION_HOURS") or 48))


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(str(current_app.config["SECRET_KEY"]), salt=SALT)


def _key_hash(submission_key: str) -> str:
    return hashlib.sha256(submission_key.encode()).hexdigest()[:16]


def token_for(action_id: int, submission_key: str) -> str:
    return str(_serializer().dumps([action_id, _key_hash(submission_key)]))


def confirmation_url(slug: str, token: str) -> str:
    return str(current_app.config["SITE_URL"]).rstrip("/") + f"/c/{slug}/confirm/{token}"


def signed_pair(serializer: URLSafeSerializer, token: str) -> tuple[int, str] | None:
    """The row id and check text a link's token carries, if ``serializer`` signed it; None for
    anything else (a forged, cut or oversized token, or one of another shape)."""
    if len(token) > 200:
        return None
    try:
        payload = serializer.loads(token)
    except BadSignature:
        return None
    if (
        not isinstance(payload, list)
        or len(payload) != 2
        or not isinstance(payload[0], int)
        or isinstance(payload[0], bool)
        or not isinstance(payload[1], str)
    ):
        return None
    return payload[0], payload[1]


def action_for_token(token: str) -> Action | None:
    """The action a token was made for, or None for anything we did not sign."""
    pair = signed_pair(_serializer(), token)
    if pair is None:
        return None
    action = db.session.get(Action, pair[0])
    if action is None or _key_hash(action.submission_key) != pair[1]:
        return None
    return action


def campaign_open(action: Action, now: datetime | None = None) -> bool:
    """Whether ``action``'s campaign still takes actions (its public page has the form)."""
    campaign = db.session.get(Campaign, action.campaign_id)
    return campaign is not None and public_state(campaign, now).actionable


def _campaign_open_clause(now: datetime) -> ColumnElement[bool]:
    """``campaign_open`` in SQL, for the guarded update: live, started and not ended."""
    return exists().where(
        Campaign.id == Action.campaign_id,
        Campaign.status == "live",
        or_(Campaign.starts_at.is_(None), Campaign.starts_at <= now),
        or_(Campaign.ends_at.is_(None), Campaign.ends_at > now),
    )


def state_of(action: Action, now: datetime | None = None) -> str:
    """``pending`` (can be confirmed), ``confirmed``, ``expired`` (past its deadline, or its
    campaign no longer takes actions: closed, paused or ended) or ``none`` (not asked)."""
    if action.confirm_by is None:
        return "none"
    if action.confirmed_at is not None:
        return "confirmed"
    now = now or utcnow()
    if (
        now >= action.confirm_by
        or any(c.status == "expired" for c in action.contacts)
        or not campaign_open(action, now)
    ):
        return "expired"
    return "pending"


def _rowcount(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount)


def _messages_of(action_ids: list[int]) -> ColumnElement[bool]:
    """The outbox rows of these actions: their contacts' messages, and their own (the
    confirmation mail, the receipt)."""
    return or_(
        OutboxMessage.contact_id.in_(select(Contact.id).where(Contact.action_id.in_(action_ids))),
        OutboxMessage.action_id.in_(action_ids),
    )


def confirm(action: Action) -> bool:
    """Release ``action``'s held messages. Commits. False if it had expired meanwhile, or its
    campaign no longer takes actions (then nothing is released)."""
    now = utcnow()
    action_id = action.id
    session = db.session
    try:
        result = session.execute(
            update(Action)
            .where(
                Action.id == action_id,
                Action.confirmed_at.is_(None),
                Action.confirm_by > now,
                _campaign_open_clause(now),
            )
            .values(confirmed_at=now)
            .execution_options(synchronize_session=False)
        )
        if _rowcount(result) != 1:
            session.rollback()
            return False
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == "held", _messages_of([action_id]))
            .values(status="pending", next_attempt_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(Contact)
            .where(
                Contact.action_id == action_id,
                Contact.status == "unconfirmed",
                Contact.id.in_(select(OutboxMessage.contact_id)),
            )
            .values(status="queued")
            .execution_options(synchronize_session=False)
        )
        # Those with no message of their own (a digest campaign's) wait for the day's digest.
        session.execute(
            update(Contact)
            .where(Contact.action_id == action_id, Contact.status == "unconfirmed")
            .values(status="awaiting_digest")
            .execution_options(synchronize_session=False)
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    session.expire_all()
    return True


def expire_unconfirmed_actions(now: datetime) -> int:
    """Expire every action past its confirmation deadline that still has unconfirmed
    contacts: delete their held outbox rows (and an unsent confirmation mail), mark the
    contacts ``expired``. Commits. Returns how many actions were expired (0 on a rerun)."""
    session = db.session
    try:
        ids = list(
            session.scalars(
                select(Action.id).where(
                    Action.confirm_by.is_not(None),
                    Action.confirm_by <= now,
                    Action.confirmed_at.is_(None),
                    exists().where(Contact.action_id == Action.id, Contact.status == "unconfirmed"),
                )
            )
        )
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            session.execute(
                delete(OutboxMessage)
                .where(OutboxMessage.status == "held", _messages_of(chunk))
                .execution_options(synchronize_session=False)
            )
            session.execute(
                delete(OutboxMessage)
                .where(
                    OutboxMessage.kind == "confirmation",
                    OutboxMessage.action_id.in_(chunk),
                    OutboxMessage.status.in_(("pending", "dead")),
                )
                .execution_options(synchronize_session=False)
            )
            session.execute(
                update(Contact)
                .where(Contact.action_id.in_(chunk), Contact.status == "unconfirmed")
                .values(status="expired", last_error="never confirmed by email")
                .execution_options(synchronize_session=False)
            )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return len(ids)


@dataclass(frozen=True)
class ConfirmationMail:
    subject: str
    body: str


def confirmation_mail(
    *,
    slug: str,
    title: str,
    name: str | None,
    action_id: int,
    submission_key: str,
    confirm_by: datetime | None,
    language: str = "en",
) -> ConfirmationMail:
    """The text of the mail asking a constituent to confirm (sent through the outbox: see
    ``messages.py``), in the language they took part in."""
    config = current_app.config
    site = str(config.get("SITE_NAME") or "")
    link = confirmation_url(slug, token_for(action_id, submission_key))
    zone_name = str(config.get("TIMEZONE") or "UTC")
    try:
        zone = ZoneInfo(zone_name)
    except (KeyError, ValueError):
        zone, zone_name = ZoneInfo("UTC"), "UTC"
    with force_locale(language or "en"):
        if confirm_by is not None:
            local = confirm_by.astimezone(zone)
            until = gettext(
                "%(day)s at %(time)s (%(zone)s)",
                day=long_date(local),
                time=local.strftime("%H:%M"),
                zone=zone_name,
            )
        else:
            until = gettext("a few days")
        greeting = gettext("Hello %(name)s,", name=name) if name else gettext("Hello,")
        body = (
            f"{greeting}\n\n"
            + gettext(
                'You asked %(site)s to send your message for "%(title)s". Nothing is sent until '
                "you confirm that this is your email address. Open this link and press the "
                "button:",
                site=site or gettext("us"),
                title=title,
            )
            + f"\n\n{link}\n\n"
            + gettext("The link works until %(until)s.", until=until)
            + "\n\n"
            + gettext("If you did not ask for this, ignore this email: nothing will be sent.")
            + "\n"
        )
        subject = gettext("Please confirm your message: %(title)s", title=title)
    return ConfirmationMail(subject=subject, body=body)
