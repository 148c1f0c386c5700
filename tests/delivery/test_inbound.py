"""Bounces that arrive after a message was sent: a corpus of real-shaped notices (RFC 3464
reports from Postfix, Gmail and Microsoft; plain-text ones from Exim and qmail; delay
warnings, auto-replies and junk) sent with smtplib to a running ``advocacy inbound`` process,
at the bounce addresses the messages really went out with. Only failures mark a contact
bounced; nothing but the site's signed bounce addresses is accepted, and no large message."""

from __future__ import annotations

import os
import smtplib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from advocacy.delivery.bounces import Notice, record_bounce
from advocacy.delivery.dsn import parse_notice
from advocacy.delivery.inbound import MAX_MESSAGE_BYTES
from advocacy.delivery.models import Bounce, OutboxMessage
from advocacy.delivery.worker import run_workers
from advocacy.extensions import db

from .conftest import MAIL_FROM, SMTPServer, free_port
from .factory import ContactSpec, queue_specs, state

ADVOCACY = Path(sys.executable).with_name("advocacy")
CORPUS = Path(__file__).with_name("dsn")
WAIT = 60.0  # a safety net for a hung process, not a measurement
DAEMON = ""  # bounces come with an empty envelope sender

# file: (envelope sender, what it says, status, words of the reason)
EXPECTED = {
    "postfix.eml": (DAEMON, "failed", "5.1.1", "Recipient address rejected: User unknown"),
    "gmail.eml": (DAEMON, "failed", "5.1.1", "The email account that you tried to reach does"),
    "microsoft.eml": (DAEMON, "failed", "5.1.10", "RESOLVER.ADR.RecipientNotFound"),
    "exim.eml": (DAEMON, "failed", "5.2.1", "550 5.2.1 Mailbox disabled for this recipient"),
    "qmail.eml": (DAEMON, "failed", "5.7.1", "554 5.7.1"),
    "delayed.eml": (DAEMON, "delayed", "4.4.1", "Connection timed out"),
    "delayed_exim.eml": (DAEMON, "delayed", None, "451 4.3.0 Mailbox temporarily locked"),
    "out_of_office.eml": (DAEMON, "auto_reply", None, ""),
    "auto_reply_headers.eml": ("ortiz@legislature.example.gov", "auto_reply", None, ""),
    "junk.eml": ("deals@parcels.spam.example", "other", None, ""),
    "garbage.eml": (DAEMON, "other", None, ""),
}


def notice_text(name: str, bounce_address: str, message_id: str = "<m@x>") -> str:
    text = (CORPUS / name).read_text(encoding="ascii")
    return text.replace("BOUNCE_ADDRESS", bounce_address).replace("MESSAGE_ID", message_id)


def test_the_corpus_is_the_list() -> None:
    assert sorted(path.name for path in CORPUS.glob("*.eml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_notice_reads_as_what_it_is(name: str) -> None:
    sender, kind, status, words = EXPECTED[name]
    raw = notice_text(name, "bounces+1-abcdefghijklmnop@speakup.example.org").encode("ascii")
    notice = parse_notice(raw, envelope_sender=sender)
    assert (notice.kind, notice.status) == (kind, status)
    assert words in notice.reason
    if kind == "failed" and name in ("postfix.eml", "gmail.eml", "microsoft.eml"):
        assert notice.recipient == "ortiz@legislature.example.gov"


@pytest.fixture
def inbound(app: Flask, tmp_path: Path) -> Iterator[int]:
    """A running `advocacy inbound` on a free port, on the test's database."""
    app.config["BOUNCE_ADDRESS_PREFIX"] = "bounces"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADVOCACY_")}
    env.update(
        {
            "ADVOCACY_DATABASE_URL": str(app.config["DATABASE_URL"]),
            "ADVOCACY_INSTANCE_DIR": str(tmp_path / "inbound-instance"),
            "ADVOCACY_SECRET_KEY": str(app.config["SECRET_KEY"]),
            "ADVOCACY_CAMPAIGNS_DIR": str(app.config["CAMPAIGNS_DIR"]),
            "ADVOCACY_MAIL_FROM": MAIL_FROM,
            "ADVOCACY_BOUNCE_ADDRESS_PREFIX": "bounces",
        }
    )
    process = subprocess.Popen(
        [str(ADVOCACY), "inbound", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # printed once it listens
        assert first.startswith(f"Receiving bounce notices on 127.0.0.1:{port}"), (
            first + process.stderr.read()
            if process.stderr is not None and process.poll() is not None
            else first
        )
        yield port
    finally:
        process.terminate()
        process.communicate(timeout=WAIT)
    assert process.returncode == 0


def sent_contacts(app: Flask, sink: SMTPServer, count: int) -> list[tuple[int, str]]:
    """``count`` contacts sent through the sink: (contact id, the bounce address it went with)."""
    app.config.update(MAIL_PORT=sink.port, BOUNCE_ADDRESS_PREFIX="bounces")
    ids = queue_specs(
        [ContactSpec(target_email=f"rep{n}@legislature.example.gov") for n in range(count)]
    )
    assert run_workers(1).sent == count
    envelope = {item.rcpt_tos[0]: item.mail_from for item in sink.received}
    return [(i, envelope[f"rep{n}@legislature.example.gov"]) for n, i in enumerate(ids)]


def send(port: int, sender: str, recipients: list[str], text: str | bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=WAIT) as client:
        client.sendmail(sender, recipients, text)


def test_the_corpus_through_advocacy_inbound(
    app: Flask, smtp_server: SMTPServer, inbound: int
) -> None:
    names = sorted(EXPECTED)
    contacts = dict(zip(names, sent_contacts(app, smtp_server, len(names)), strict=True))
    for name in names:
        contact_id, address = contacts[name]
        message_id = state(contact_id).message_id
        send(inbound, EXPECTED[name][0], [address], notice_text(name, address, message_id))
    for name in names:
        contact_id, _address = contacts[name]
        found = state(contact_id)
        _sender, kind, status, words = EXPECTED[name]
        if kind == "failed":
            assert found.contact_status == "bounced", name
            assert found.contact_error is not None and words in found.contact_error, name
            assert found.contact_error.startswith("bounced after it was sent: ")
        else:
            assert (found.contact_status, found.contact_error) == ("sent", None), name
        assert found.outbox_status == "sent"  # it was handed over; the contact tells the rest
    bounced = db.session.scalars(sa.select(Bounce.status).order_by(Bounce.status)).all()
    assert bounced == ["5.1.1", "5.1.1", "5.1.10", "5.2.1", "5.7.1"]

    # The same notice again (mail servers retry) changes nothing and counts once.
    contact_id, address = contacts["postfix.eml"]
    send(inbound, DAEMON, [address], notice_text("postfix.eml", address))
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Bounce)) == 5


def test_anything_but_a_signed_bounce_address_gets_550(
    app: Flask, smtp_server: SMTPServer, inbound: int
) -> None:
    [(contact_id, address)] = sent_contacts(app, smtp_server, 1)
    local, domain = address.split("@")
    outbox_id = db.session.scalar(
        sa.select(OutboxMessage.id).where(OutboxMessage.contact_id == contact_id)
    )
    refused = [
        f"advocacy@{domain}",  # the site's own address: not a bounce address
        f"postmaster@{domain}",
        f"bounces+{outbox_id}-aaaaaaaaaaaaaaaa@{domain}",  # a forged signature
        f"bounces+{outbox_id + 1}-{local.rsplit('-', 1)[1]}@{domain}",  # another message
        f"{local}@relay-me.example.com",  # relaying
        "victim@example.net",
    ]
    text = notice_text("postfix.eml", address)
    for recipient in refused:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as caught:
            send(inbound, DAEMON, [recipient], text)
        [(code, reply)] = caught.value.recipients.values()
        assert (code, reply) == (550, b"5.1.1 No such recipient here"), recipient
    assert state(contact_id).contact_status == "sent"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Bounce)) == 0


def test_an_oversize_message_is_refused(app: Flask, smtp_server: SMTPServer, inbound: int) -> None:
    [(contact_id, address)] = sent_contacts(app, smtp_server, 1)
    padding = "x" * 76 + "\r\n"
    big = notice_text("exim.eml", address) + padding * (MAX_MESSAGE_BYTES // len(padding) + 10)
    # Refused at MAIL FROM when the client says its size (SIZE, RFC 1870) ...
    with pytest.raises(smtplib.SMTPSenderRefused) as at_mail:
        send(inbound, DAEMON, [address], big)
    assert at_mail.value.smtp_code == 552
    # ... and after DATA when it does not.
    with smtplib.SMTP("127.0.0.1", inbound, timeout=WAIT) as client:
        client.ehlo()
        client.mail("")
        client.rcpt(address)
        code, _reply = client.data(big)
    assert code == 552
    assert state(contact_id).contact_status == "sent"


def test_record_bounce_without_smtp(app: Flask, smtp_server: SMTPServer) -> None:
    [(contact_id, _address)] = sent_contacts(app, smtp_server, 1)
    outbox_id = int(
        db.session.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.contact_id == contact_id))
    )
    assert record_bounce(outbox_id, Notice("delayed", "4.4.1", "timed out")) == "ignored"
    assert record_bounce(outbox_id, Notice("auto_reply")) == "ignored"
    assert state(contact_id).contact_status == "sent"
    assert record_bounce(outbox_id + 999, Notice("failed", "5.1.1", "gone")) == "unknown"
    failed = Notice("failed", "5.1.1", "User unknown\r\nX-Evil: 1", "rep0@legislature.example.gov")
    assert record_bounce(outbox_id, failed) == "recorded"
    found = state(contact_id)
    assert found.contact_status == "bounced"
    assert found.contact_error == "bounced after it was sent: 5.1.1 User unknown X-Evil: 1"
    assert record_bounce(outbox_id, failed) == "repeat"
    db.session.expire_all()
    [bounce] = db.session.scalars(sa.select(Bounce)).all()
    assert (bounce.outbox_id, bounce.status, bounce.address) == (
        outbox_id,
        "5.1.1",
        "rep0@legislature.example.gov",
    )
    db.session.commit()


def test_inbound_refuses_to_start_without_bounce_addresses(app: Flask, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADVOCACY_")}
    env.update(
        {
            "ADVOCACY_DATABASE_URL": str(app.config["DATABASE_URL"]),
            "ADVOCACY_INSTANCE_DIR": str(tmp_path / "inbound-instance"),
            "ADVOCACY_SECRET_KEY": "x",
            "ADVOCACY_CAMPAIGNS_DIR": str(app.config["CAMPAIGNS_DIR"]),
        }
    )
    result = subprocess.run(
        [str(ADVOCACY), "inbound", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )
    assert result.returncode == 1
    assert "ADVOCACY_BOUNCE_ADDRESS_PREFIX is empty" in result.stderr
