"""Delivery fixtures: an in-process SMTP server (aiosmtpd) and SMTP settings for the app."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, cast

import pytest
from aiosmtpd.controller import Controller

MAIL_FROM = "advocacy@speakup.example.org"


def free_port() -> int:
    """A port nothing listens on (bound and released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes

    @property
    def message(self) -> EmailMessage:
        return cast(EmailMessage, message_from_bytes(self.content, policy=policy.default))

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"]).strip()  # a long one is folded onto its own line


class Gate:
    """Holds the SMTP conversation of one recipient's message at one step until released.

    ``reached`` is set when a message arrives at the gate; the server then waits (without
    blocking its event loop) until ``release`` is set. A test can kill the client meanwhile.
    """

    def __init__(self, recipient: str) -> None:
        self.recipient = recipient.lower()
        self.reached = threading.Event()
        self.release = threading.Event()

    async def hold(self) -> None:
        self.reached.set()
        while not self.release.is_set():
            await asyncio.sleep(0.01)


class RecordingHandler:
    """Stores every accepted envelope; refuses the recipients listed in ``refuse``.

    ``refuse_mail`` answers MAIL FROM, ``refuse_data`` (by recipient) answers DATA with the
    given reply. ``hold_rcpt`` / ``hold_data`` stop one recipient's message at RCPT TO, or
    after its content arrived (already recorded: the server has it) before DATA's answer.
    """

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.refuse: dict[str, str] = {}
        self.refuse_mail: str | None = None
        self.refuse_data: dict[str, str] = {}
        self.hold_rcpt: Gate | None = None
        self.hold_data: Gate | None = None
        self.delay = 0.0
        self.connections = 0
        self.in_data = 0
        self.most_in_data_at_once = 0  # messages being received at the same moment
        self._lock = threading.Lock()

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        if self.refuse_mail:
            return self.refuse_mail
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        with self._lock:
            self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        reply = self.refuse.get(address.lower())
        if reply:
            return reply
        gate = self.hold_rcpt
        if gate is not None and gate.recipient == address.lower():
            await gate.hold()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            self.in_data += 1
            self.most_in_data_at_once = max(self.most_in_data_at_once, self.in_data)
            try:
                await asyncio.sleep(self.delay)
            finally:
                self.in_data -= 1
        recipients = [address.lower() for address in envelope.rcpt_tos]
        for address in recipients:
            reply = self.refuse_data.get(address)
            if reply:
                return reply
        with self._lock:
            self.received.append(
                Received(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(envelope.content))
            )
        gate = self.hold_data
        if gate is not None and gate.recipient in recipients:
            await gate.hold()
        return "250 Message accepted for delivery"

    def per_message_id(self) -> Counter[str]:
        return Counter(item.message_id for item in self.received)


class SMTPServer:
    def __init__(self, port: int, **smtp_options: Any) -> None:
        self.port = port
        self.handler = RecordingHandler()
        self.smtp_options = smtp_options
        self._controller: Controller | None = None

    def start(self) -> SMTPServer:
        controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            server_hostname="smtp.test",
            **self.smtp_options,
        )
        controller.start()
        self._controller = controller
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def received(self) -> list[Received]:
        return self.handler.received


@pytest.fixture
def smtp_idle() -> Iterator[SMTPServer]:
    """A server object with a reserved port, not started yet (the SMTP server is 'down')."""
    server = SMTPServer(free_port())
    yield server
    server.stop()


@pytest.fixture
def smtp_server(smtp_idle: SMTPServer) -> SMTPServer:
    return smtp_idle.start()


@pytest.fixture
def app_config(app_config: dict[str, object]) -> dict[str, object]:
    """SMTP mode aimed at a closed port; tests point MAIL_PORT at their server."""
    return {
        **app_config,
        "DELIVERY_MODE": "smtp",
        "SMTP_URL": f"smtp://127.0.0.1:{free_port()}",
        "MAIL_FROM": MAIL_FROM,
        "SITE_NAME": "Speak Up",
        "MAIL_TIMEOUT": 5.0,
        "DELIVERY_MAX_ATTEMPTS": 3,
        "DELIVERY_BACKOFF_SECONDS": 30.0,
    }
