"""Bounce addresses and what a bounce arriving later changes.

A message to a recipient is sent with its own envelope sender, ``<prefix>+<token>@<domain of
MAIL_FROM>`` (VERP), so a bounce notice sent back to it names the message without anyone
reading the notice's text. The token is the outbox row's id and an HMAC of it under
SECRET_KEY: a notice cannot be forged for a message whose bounce address one never saw.
(Changing SECRET_KEY makes bounces of earlier messages unknown; they are then refused.)

``record_bounce`` is what the inbound SMTP receiver (``inbound.py``) calls with a parsed
notice; it needs no SMTP to be tested.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..config import BOUNCE_PREFIX_PATTERN
from ..dbtypes import utcnow
from ..extensions import db
from .mailer import clean_header_text, normalise_address
from .models import Bounce, OutboxMessage
from .outbox import Outcome, Queued, kind_named

PREFIX_PATTERN = BOUNCE_PREFIX_PATTERN
_TOKEN = re.compile(r"([0-9]{1,12})-([a-z2-7]{16})")
MAX_REASON = 500
UNKNOWN_REASON = "the recipient's mail server reported that delivery failed"


def _signature(outbox_id: int, secret: str) -> str:
    digest = hmac.new(
        secret.encode("utf-8"), f"bounce:{outbox_id}".encode("ascii"), hashlib.sha256
    ).digest()
    # Base32 in lower case: mail systems may change the case of an address's local part.
    return base64.b32encode(digest[:10]).decode("ascii").lower()


def bounce_prefix(config: Mapping[str, Any]) -> str:
    return str(config.get("BOUNCE_ADDRESS_PREFIX") or "").strip().lower()


def bounce_domain(config: Mapping[str, Any]) -> str | None:
    address = normalise_address(config.get("MAIL_FROM"))
    return address.split("@", 1)[1] if address else None


def bounce_address(outbox_id: int, config: Mapping[str, Any] | None = None) -> str | None:
    """The envelope sender of outbox message ``outbox_id``; None when bounce addresses are off."""
    config = config if config is not None else current_app.config
    prefix = bounce_prefix(config)
    domain = bounce_domain(config)
    if not prefix or domain is None:
        return None
    token = f"{outbox_id}-{_signature(outbox_id, str(config['SECRET_KEY']))}"
    return f"{prefix}+{token}@{domain}"


def outbox_id_for(address: str, config: Mapping[str, Any] | None = None) -> int | None:
    """The outbox message whose bounce address ``address`` is, if it is one of ours and its
    signature is right; otherwise None."""
    config = config if config is not None else current_app.config
    prefix = bounce_prefix(config)
    domain = bounce_domain(config)
    checked = normalise_address(address)
    if not prefix or domain is None or checked is None:
        return None
    local, _, at_domain = checked.partition("@")
    head, plus, token = local.lower().partition("+")
    if at_domain != domain or head != prefix or not plus:
        return None
    match = _TOKEN.fullmatch(token)
    if match is None:
        return None
    outbox_id = int(match.group(1))
    expected = _signature(outbox_id, str(config["SECRET_KEY"]))
    return outbox_id if hmac.compare_digest(expected, match.group(2)) else None


@dataclass(frozen=True)
class Notice:
    """What a message that came back to a bounce address says.

    ``kind``: ``failed`` (delivery failed for good), ``delayed`` (still being tried),
    ``auto_reply`` (an out-of-office or similar answer) or ``other`` (not a bounce notice).
    Only ``failed`` marks a message bounced.
    """

    kind: str
    status: str | None = None
    reason: str = ""
    recipient: str | None = None


def record_bounce(outbox_id: int, notice: Notice) -> str:
    """Record that outbox message ``outbox_id`` bounced, as ``notice`` says. Commits.

    Returns ``recorded``, ``repeat`` (a bounce of that message was recorded already: nothing
    changes), ``ignored`` (the notice is not a failure) or ``unknown`` (no such message).
    The message's kind hears the outcome ``bounced`` with the reason (a contact becomes
    ``bounced``).
    """
    if notice.kind != "failed":
        return "ignored"
    reason = clean_header_text(notice.reason, MAX_REASON) or UNKNOWN_REASON
    status = notice.status[:16] if notice.status else None
    code = f"{status} " if status and status not in reason else ""
    text = f"bounced after it was sent: {code}{reason}"
    try:
        with db.engine.begin() as connection:
            row = connection.execute(
                select(
                    OutboxMessage.id,
                    OutboxMessage.kind,
                    OutboxMessage.contact_id,
                    OutboxMessage.action_id,
                ).where(OutboxMessage.id == outbox_id)
            ).first()
            if row is None:
                return "unknown"
            if connection.scalar(select(Bounce.id).where(Bounce.outbox_id == outbox_id)):
                return "repeat"
            connection.execute(
                Bounce.__table__.insert().values(
                    outbox_id=outbox_id,
                    address=normalise_address(notice.recipient),
                    status=status,
                    reason=reason,
                    received_at=utcnow(),
                )
            )
            kind = kind_named(row.kind)
            if kind is not None and kind.on_outcome is not None:
                kind.on_outcome(connection, Queued(*row), Outcome("bounced", text))
    except IntegrityError:
        return "repeat"  # the same bounce, recorded by another connection meanwhile
    return "recorded"
