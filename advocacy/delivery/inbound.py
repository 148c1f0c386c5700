"""``advocacy inbound``: an SMTP receiver for bounce notices, and nothing else.

It accepts a recipient only when it is one of the site's bounce addresses with a valid
signature (``bounces.outbox_id_for``); every other recipient gets 550, so it relays nothing
and takes no other mail. A message over ``MAX_MESSAGE_BYTES`` is refused (552). What a
received notice says (``dsn.parse_notice``) is handed to ``bounces.record_bounce``.
Run it behind the site's MX or a relay that forwards the bounce addresses (docs/deploy.md).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.controller import Controller
from flask import Flask

from .bounces import (
    PREFIX_PATTERN,
    bounce_domain,
    bounce_prefix,
    outbox_id_for,
    record_bounce,
)
from .dsn import parse_notice

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 1_000_000
MAX_RECIPIENTS = 20


class InboundConfigError(RuntimeError):
    """The settings give no bounce addresses to receive."""


class BounceHandler:
    """aiosmtpd handler: bounce addresses in, everything else refused."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if outbox_id_for(address, self.app.config) is None:
            return "550 5.1.1 No such recipient here"
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode("utf-8", "replace")
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(
                None, self._record, envelope.mail_from or "", raw, list(envelope.rcpt_tos)
            )
        except Exception:
            log.exception("inbound: could not record a bounce notice; the sender will retry")
            return "451 4.3.0 Please try again later"
        return "250 2.0.0 OK"

    def _record(self, mail_from: str, raw: bytes, recipients: list[str]) -> None:
        notice = parse_notice(raw, envelope_sender=mail_from)
        with self.app.app_context():
            for address in recipients:
                outbox_id = outbox_id_for(address, self.app.config)
                if outbox_id is None:  # pragma: no cover - refused at RCPT
                    continue
                result = record_bounce(outbox_id, notice)
                log.info(
                    "inbound: outbox %s: %s notice (%s) %s",
                    outbox_id,
                    notice.kind,
                    notice.status or "no status",
                    result,
                )


def check_inbound_configuration(config: Any) -> None:
    if not bounce_prefix(config):
        raise InboundConfigError(
            "ADVOCACY_BOUNCE_ADDRESS_PREFIX is empty: messages are sent without bounce "
            "addresses, so there is nothing to receive. Set it (e.g. `bounces`) first."
        )
    if not PREFIX_PATTERN.fullmatch(bounce_prefix(config)):
        raise InboundConfigError(
            "ADVOCACY_BOUNCE_ADDRESS_PREFIX must be up to 32 letters, digits, dots, dashes or "
            "underscores (no '+'), e.g. `bounces`"
        )
    if bounce_domain(config) is None:
        raise InboundConfigError("MAIL_FROM must be one plain email address")


def start_inbound(app: Flask, host: str, port: int) -> Controller:
    """Start the receiver in its own thread; ``.stop()`` the answer to end it."""
    check_inbound_configuration(app.config)
    controller = Controller(
        BounceHandler(app),
        hostname=host,
        port=port,
        server_hostname=bounce_domain(app.config),
        data_size_limit=MAX_MESSAGE_BYTES,
        ident="advocacy inbound",
    )
    controller.start()
    return controller
