"""Dead-letter alerting: tell staff when messages stop being deliverable.

Each check looks for outbox rows that became ``dead`` since the last alert: messages to
targets, and confirmation mails to constituents (ADVOCACY_REQUIRE_CONFIRMATION; they have no
contact and count for their action's campaign). When there are some, it logs an error (counts
per campaign, no personal data) and, when ADVOCACY_ALERT_EMAIL is set, sends one alert mail to
that staff address through the configured delivery mode: ``smtp`` sends it to
ADVOCACY_ALERT_EMAIL, ``redirect`` to ADVOCACY_REDIRECT_TO (like every message in that mode),
``log`` writes it to the mail-log folder as ``alert-*.eml``. Alerts never go to a legislator or
a constituent, and carry no constituent's address (one in a confirmation mail's error is
replaced).

Where the last alert stopped is the audit log itself: each alert is recorded as
``delivery.dead_letters_alerted`` with the time it covered up to (``until``). A failed mail
records nothing, so the next check alerts again. ``until`` trails the check by a short margin
so a worker's outcome committed just after the check is not skipped.
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from flask import current_app
from sqlalchemy import func, select

from ..actions.models import Action, Contact
from ..admin import audit
from ..admin.models import AuditEntry
from ..campaigns.models import Campaign
from ..delivery.mailer import (
    PreparedMessage,
    SMTPSender,
    SMTPSettings,
    address_domain,
    clean_header_text,
    normalise_address,
    write_log,
)
from ..delivery.models import OutboxMessage
from ..extensions import db

log = logging.getLogger(__name__)

AUDIT_ACTION = "delivery.dead_letters_alerted"
SAFETY_MARGIN = timedelta(seconds=30)


class AlertError(RuntimeError):
    """The alert could not be sent (it will be tried again at the next check)."""


def last_alert_until() -> datetime | None:
    entry = db.session.scalar(
        select(AuditEntry)
        .where(AuditEntry.action == AUDIT_ACTION)
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )
    if entry is None:
        return None
    raw = (entry.detail or {}).get("until")
    return datetime.fromisoformat(raw) if isinstance(raw, str) else None


def new_dead_letters(
    since: datetime | None, until: datetime, kind: str | None = None
) -> dict[str, int]:
    """Dead letters per campaign slug that became dead in (since, until]: of one ``kind``
    (``contact``, ``confirmation``) or, by default, both."""
    query = (
        select(Campaign.slug, func.count())
        .select_from(OutboxMessage)
        # A message to a target has a contact; a confirmation mail has only its action.
        .outerjoin(Contact, Contact.id == OutboxMessage.contact_id)
        .outerjoin(Action, Action.id == OutboxMessage.action_id)
        .join(Campaign, Campaign.id == func.coalesce(Contact.campaign_id, Action.campaign_id))
        .where(OutboxMessage.status == "dead", OutboxMessage.updated_at <= until)
        .group_by(Campaign.slug)
        .order_by(Campaign.slug)
    )
    if since is not None:
        query = query.where(OutboxMessage.updated_at > since)
    if kind is not None:
        query = query.where(OutboxMessage.kind == kind)
    return {slug: int(count) for slug, count in db.session.execute(query)}


# An email address in a server's answer: in a confirmation mail's error, the constituent's.
_ADDRESS = re.compile(r"[^\s<>\"'(),;:@]+@[^\s<>\"'(),;:@]+")


def _recent_errors(since: datetime | None, until: datetime, limit: int = 5) -> list[str]:
    query = (
        select(OutboxMessage.kind, OutboxMessage.last_error)
        .where(
            OutboxMessage.status == "dead",
            OutboxMessage.updated_at <= until,
            OutboxMessage.last_error.is_not(None),
        )
        .order_by(OutboxMessage.updated_at.desc())
        .limit(50)
    )
    if since is not None:
        query = query.where(OutboxMessage.updated_at > since)
    seen: list[str] = []
    for kind, error in db.session.execute(query):
        line = " ".join(str(error).split())
        if kind == "confirmation":  # no constituent's address in a staff alert
            line = _ADDRESS.sub("(constituent's address)", line)
        line = line[:300]
        if line not in seen:
            seen.append(line)
        if len(seen) >= limit:
            break
    return seen


def alert_text(
    per_campaign: dict[str, int],
    errors: list[str],
    since: datetime | None,
    confirmations: int = 0,
) -> str:
    """The alert mail; ``confirmations``: how many of the dead letters are confirmation mails."""
    config = current_app.config
    total = sum(per_campaign.values())
    site = str(config.get("SITE_URL") or "").rstrip("/")
    lines = [
        f"{total} message(s) could not be delivered and were dead-lettered"
        + (f" since {since:%Y-%m-%d %H:%M} UTC." if since else "."),
        "",
        "By campaign:",
        *(f"  {slug}: {count}" for slug, count in per_campaign.items()),
        "",
    ]
    if confirmations:
        lines += [
            f"{confirmations} of them are confirmation mails to constituents (not in a "
            "campaign's delivery figures); `advocacy deliver retry` without --campaign "
            "requeues them.",
            "",
        ]
    if errors:
        lines += ["Recent errors:", *(f"  - {error}" for error in errors), ""]
    lines += [
        "What to do: check the campaign's delivery figures at "
        + ", ".join(f"{site}/admin/c/{slug}" for slug in per_campaign),
        "fix the cause (mail server, recipient addresses), then requeue them with the page's "
        "button or `advocacy deliver retry --campaign SLUG`.",
        "Messages marked 'delivery may have happened' may have arrived: check the mail "
        "server's log for their Message-ID before requeueing them.",
        "",
        f"-- {config.get('SITE_NAME') or 'advocacy'} scheduler",
    ]
    return "\n".join(lines) + "\n"


def send_alert(subject: str, body: str) -> str:
    """Send (or, in log mode, write) one alert mail to ADVOCACY_ALERT_EMAIL. Returns where."""
    config = current_app.config
    recipient = normalise_address(config.get("ALERT_EMAIL"))
    if recipient is None:
        raise AlertError("ADVOCACY_ALERT_EMAIL is not one plain email address")
    sender = normalise_address(config.get("MAIL_FROM"))
    if sender is None:
        raise AlertError("ADVOCACY_MAIL_FROM is not one plain email address")
    mode = config.get("DELIVERY_MODE")
    envelope_to = recipient
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = sender
    message["To"] = recipient
    if mode == "redirect":
        redirect = normalise_address(config.get("REDIRECT_TO"))
        if redirect is None:
            raise AlertError("DELIVERY_MODE=redirect needs a valid REDIRECT_TO address")
        envelope_to = redirect
        del message["To"]
        message["To"] = redirect
        message["X-Original-To"] = recipient
    message["Subject"] = clean_header_text(subject, 200)
    message["Date"] = format_datetime(datetime.now().astimezone())
    message_id = make_msgid("alert", domain=address_domain(sender))
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body, subtype="plain", charset="utf-8")
    prepared = PreparedMessage(
        message_id=message_id,
        message=message,
        envelope_from=sender,
        envelope_to=(envelope_to,),
    )
    if mode == "log":
        stamp = datetime.now().astimezone().strftime("%Y%m%dT%H%M%S")
        name = f"alert-{stamp}-{secrets.token_hex(4)}.eml"
        return str(write_log(prepared, config["MAIL_LOG_DIR"], name))
    smtp = SMTPSender(SMTPSettings.from_config(config))
    try:
        smtp.send(prepared)
    except Exception as exc:
        raise AlertError(f"the alert mail was not sent: {type(exc).__name__}: {exc}") from exc
    finally:
        smtp.close()
    return envelope_to


def check_dead_letters(now: datetime) -> str:
    """Alert about dead letters that appeared since the last alert. Commits."""
    since = last_alert_until()
    until = now - SAFETY_MARGIN
    if since is not None and until <= since:
        return "no new dead letters"
    per_campaign = new_dead_letters(since, until)
    if not per_campaign:
        db.session.commit()
        return "no new dead letters"
    total = sum(per_campaign.values())
    confirmations = sum(new_dead_letters(since, until, kind="confirmation").values())
    errors = _recent_errors(since, until)
    db.session.commit()
    log.error(
        "%d new dead letter(s): %s",
        total,
        ", ".join(f"{slug} {count}" for slug, count in per_campaign.items()),
        extra={"dead_letters": total, "campaigns": per_campaign},
    )
    mailed_to = None
    if current_app.config.get("ALERT_EMAIL"):
        site = current_app.config.get("SITE_NAME") or "advocacy"
        mailed_to = send_alert(
            f"[{site}] {total} message(s) dead-lettered",
            alert_text(per_campaign, errors, since, confirmations),
        )
    audit.record(
        AUDIT_ACTION,
        ",".join(per_campaign)[:300],
        {
            "until": until.isoformat(),
            "since": since.isoformat() if since else None,
            "count": total,
            "confirmations": confirmations,
            "campaigns": per_campaign,
            "mailed_to": mailed_to,
        },
        actor="scheduler",
    )
    db.session.commit()
    where = (
        f"; alert sent to {mailed_to}" if mailed_to else "; no ADVOCACY_ALERT_EMAIL, logged only"
    )
    return f"{total} new dead letter(s){where}"
