"""MAIL_USERNAME/PASSWORD, MAIL_USE_TLS and MAIL_TIMEOUT are honoured."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from flask import Flask

from advocacy.delivery.worker import run_workers

from .conftest import SMTPServer, free_port
from .factory import queue_contacts, state


@pytest.fixture
def auth_server() -> Iterator[tuple[SMTPServer, list[tuple[bytes, bytes]]]]:
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(
        server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        logins.append((auth_data.login, auth_data.password))
        ok = (auth_data.login, auth_data.password) == (b"mailer", b"s3cret")
        return AuthResult(success=ok)

    server = SMTPServer(free_port(), authenticator=authenticator, auth_require_tls=False)
    server.start()
    yield server, logins
    server.stop()


def test_credentials_are_used_to_log_in(
    app: Flask, auth_server: tuple[SMTPServer, list[tuple[bytes, bytes]]]
) -> None:
    server, logins = auth_server
    app.config.update(MAIL_PORT=server.port, MAIL_USERNAME="mailer", MAIL_PASSWORD="s3cret")
    [contact_id] = queue_contacts(1)
    assert run_workers(1).sent == 1
    assert logins == [(b"mailer", b"s3cret")]
    assert state(contact_id).contact_status == "sent"
    assert len(server.received) == 1


def test_wrong_credentials_fail_and_retry_later(
    app: Flask, auth_server: tuple[SMTPServer, list[tuple[bytes, bytes]]]
) -> None:
    server, _logins = auth_server
    app.config.update(
        MAIL_PORT=server.port, MAIL_USERNAME="mailer", MAIL_PASSWORD="wrong", MAIL_TIMEOUT=1.0
    )
    [contact_id] = queue_contacts(1)
    assert run_workers(1).retrying == 1
    row = state(contact_id)
    assert (row.contact_status, row.outbox_status) == ("failed", "pending")
    assert row.contact_error  # the refusal (or the server's reaction to it) is recorded
    assert server.received == []


def test_starttls_is_required_when_configured(app: Flask, smtp_server: SMTPServer) -> None:
    """MAIL_USE_TLS against a server without STARTTLS: nothing goes out in the clear."""
    app.config.update(MAIL_PORT=smtp_server.port, MAIL_USE_TLS=True)
    [contact_id] = queue_contacts(1)
    assert run_workers(1).retrying == 1
    assert "STARTTLS" in (state(contact_id).contact_error or "")
    assert smtp_server.received == []


def test_a_server_that_never_answers_times_out(app: Flask) -> None:
    with socket.socket() as silent:  # accepts connections (backlog) but never greets
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        app.config.update(MAIL_PORT=silent.getsockname()[1], MAIL_TIMEOUT=0.5)
        ids = queue_contacts(3)
        started = time.monotonic()
        report = run_workers(1)
        elapsed = time.monotonic() - started
    assert report.retrying == 3
    assert elapsed < 5  # one timeout for the batch, not one per message
    assert {state(i).contact_status for i in ids} == {"failed"}
    assert "timed out" in (state(ids[0]).contact_error or "")
