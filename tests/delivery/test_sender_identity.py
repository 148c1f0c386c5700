"""Messages to recipients as a real SMTP server (aiosmtpd) receives them: From names the
constituent "via" the site at the site's own address, whatever the name holds; replies go to
the constituent; the envelope sender is the message's own signed bounce address; the body
ends with one line saying who wrote it. Staff mail keeps the site's own sender."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advocacy.alerts import queue_alert
from advocacy.config import ConfigError, read_environment
from advocacy.delivery.bounces import bounce_address, outbox_id_for
from advocacy.delivery.mailer import MessageData, build_message
from advocacy.delivery.models import OutboxMessage
from advocacy.delivery.worker import DeliveryConfigError, run_workers
from advocacy.extensions import db

from .conftest import MAIL_FROM, Received, SMTPServer
from .factory import ContactSpec, queue_specs

LEGISLATOR = "ortiz@legislature.example.gov"
VERP = re.compile(r"bounces\+([0-9]+)-[a-z2-7]{16}@speakup\.example\.org")


@pytest.fixture
def sink(app: Flask, smtp_server: SMTPServer) -> SMTPServer:
    app.config.update(MAIL_PORT=smtp_server.port, BOUNCE_ADDRESS_PREFIX="bounces")
    return smtp_server


def send_as(sink: SMTPServer, name: str, email: str = "jane.voter@example.com") -> Received:
    [contact_id] = queue_specs([ContactSpec(target_email=LEGISLATOR, name=name, email=email)])
    assert run_workers(1).sent == 1
    [received] = [item for item in sink.received if LEGISLATOR in item.rcpt_tos]
    return received


def outbox_id_of(contact_id: int) -> int:
    return int(
        db.session.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.contact_id == contact_id))
    )


@pytest.mark.parametrize(
    "name",
    [
        'Jane "JJ" O\'Brien, Esq.',
        "Voter, Jane <jane@evil.example>",
        "Jane @ home; (retired) [teacher] \\ ok: yes",
        "undisclosed-recipients: z@evil.example, y@evil.example;",
    ],
)
def test_from_keeps_a_name_with_address_specials_as_one_name(sink: SMTPServer, name: str) -> None:
    received = send_as(sink, name)
    message = received.message
    [sender] = message["From"].addresses
    assert (sender.addr_spec, sender.display_name) == (MAIL_FROM, f"{name} via Speak Up")
    [reply_to] = message["Reply-To"].addresses
    assert (reply_to.addr_spec, reply_to.display_name) == ("jane.voter@example.com", name)
    assert [a.addr_spec for a in message["To"].addresses] == [LEGISLATOR]
    assert received.rcpt_tos == (LEGISLATOR,)
    head = received.content.split(b"\r\n\r\n", 1)[0]
    assert b"evil.example" not in head.split(b"\r\nTo:", 1)[1].split(b"\r\n")[0]


def test_a_non_ascii_name_is_encoded_and_reads_back_unchanged(sink: SMTPServer) -> None:
    name = "Zoë Ñandú 山田太郎, Jr."
    received = send_as(sink, name)
    assert received.content.isascii()
    head = received.content.split(b"\r\n\r\n", 1)[0].decode("ascii").split("\r\n")
    [from_line] = [line for line in head if line.startswith("From:")]
    assert from_line.startswith("From: =?utf-8?")  # RFC 2047, by the email library
    [sender] = received.message["From"].addresses
    assert (sender.addr_spec, sender.display_name) == (MAIL_FROM, f"{name} via Speak Up")


INJECTIONS = [
    "Jane\r\nBcc: z@evil.example",
    "Jane\nCc: z@evil.example",
    "Jane\rTo: z@evil.example",
    "Jane\u2028Bcc: z@evil.example",
    "=?utf-8?q?z=40evil=2Eexample=2C_?= Jane",
    "=?utf-8?b?ekBldmlsLmV4YW1wbGU+?=",
    "Jane =?iso-8859-1?q?=0D=0ABcc=3A_z=40evil=2Eexample?=",
    "\r\n\r\nBcc: z@evil.example\r\n\r\n",
]


@pytest.mark.parametrize("name", INJECTIONS)
def test_a_name_cannot_add_headers_or_recipients(sink: SMTPServer, name: str) -> None:
    received = send_as(sink, name)
    message = received.message
    assert received.rcpt_tos == (LEGISLATOR,)
    assert message["Bcc"] is None and message["Cc"] is None
    for header in ("From", "To", "Reply-To"):
        assert len(message.get_all(header) or []) == 1, header
    assert [a.addr_spec for a in message["From"].addresses] == [MAIL_FROM]
    assert [a.addr_spec for a in message["To"].addresses] == [LEGISLATOR]
    assert [a.addr_spec for a in message["Reply-To"].addresses] == ["jane.voter@example.com"]
    display = message["From"].addresses[0].display_name
    # One line, and an encoded word typed as a name stays the text typed, never decoded.
    assert "\r" not in display and "\n" not in display and display.endswith(" via Speak Up")
    assert "z@evil.example," not in display and "\x00" not in display


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.text(
        st.sampled_from(list("ab Z,;:<>@\"\\()[].'é山=?\t\r\n")) | st.characters(), max_size=220
    )
)
def test_any_name_gives_exactly_one_from_and_one_reply_to(name: str) -> None:
    prepared = build_message(
        MessageData(
            to_name="Representative Ortiz",
            to_email=LEGISLATOR,
            subject="Protect children",
            body="Please act.",
            sender_name=name,
            sender_email="jane.voter@example.com",
        ),
        message_id="<contact-1.abc@speakup.example.org>",
        mode="smtp",
        mail_from=MAIL_FROM,
        site_name="Speak Up",
    )
    message = Received("", (LEGISLATOR,), prepared.as_bytes()).message
    assert [a.addr_spec for a in message["From"].addresses] == [MAIL_FROM]
    assert [a.addr_spec for a in message["To"].addresses] == [LEGISLATOR]
    assert len(message.get_all("Reply-To") or []) <= 1
    if message["Reply-To"] is not None:
        assert [a.addr_spec for a in message["Reply-To"].addresses] == ["jane.voter@example.com"]
    assert all(len(line) <= 998 for line in prepared.as_bytes().split(b"\r\n"))


def test_the_envelope_sender_is_the_messages_bounce_address_and_maps_back(
    app: Flask, sink: SMTPServer
) -> None:
    ids = queue_specs(
        [
            ContactSpec(target_email=LEGISLATOR),
            ContactSpec(target_email="rep2@legislature.example.gov"),
        ]
    )
    assert run_workers(1).sent == 2
    by_recipient = {item.rcpt_tos[0]: item for item in sink.received}
    for contact_id, recipient in zip(
        ids, (LEGISLATOR, "rep2@legislature.example.gov"), strict=True
    ):
        envelope = by_recipient[recipient].mail_from
        match = VERP.fullmatch(envelope)
        assert match is not None, envelope
        outbox_id = outbox_id_of(contact_id)
        assert int(match.group(1)) == outbox_id
        assert outbox_id_for(envelope) == outbox_id
        assert outbox_id_for(envelope.upper()) == outbox_id  # a server may change the case
        assert bounce_address(outbox_id) == envelope
        # From stays the site's own address (what SPF, DKIM and DMARC cover).
        assert [a.addr_spec for a in by_recipient[recipient].message["From"].addresses] == [
            MAIL_FROM
        ]
    first = by_recipient[LEGISLATOR].mail_from
    local, domain = first.split("@")
    other = outbox_id_of(ids[1])
    forged = [
        local.replace(f"+{outbox_id_of(ids[0])}-", f"+{other}-") + "@" + domain,  # another id
        local[:-1] + ("a" if local[-1] != "a" else "b") + "@" + domain,  # signature changed
        f"{local}@example.org",  # another domain
        first.replace("bounces+", "bounce+"),  # another prefix
        MAIL_FROM,
        f"bounces+{other}@speakup.example.org",  # no signature
    ]
    assert [outbox_id_for(address) for address in forged] == [None] * len(forged)
    app.config["SECRET_KEY"] = "another-secret"
    assert outbox_id_for(first) is None


def test_the_body_ends_with_who_wrote_it_and_how_to_reach_them(sink: SMTPServer) -> None:
    received = send_as(sink, "Jane Voter")
    body = received.message.get_content().replace("\r\n", "\n")
    assert body.startswith("Dear Representative Ortiz,\n\nPlease protect every child.\n")
    assert body.endswith(
        "\n-- \nSent through Speak Up on behalf of Jane Voter, who wrote it; replying to this "
        "email reaches them.\n"
    )


def test_without_a_valid_reply_address_the_footer_does_not_promise_replies(
    sink: SMTPServer,
) -> None:
    received = send_as(sink, "Jane Voter", email="not an address")
    assert received.message["Reply-To"] is None
    body = received.message.get_content().replace("\r\n", "\n")
    assert body.endswith("\n-- \nSent through Speak Up on behalf of Jane Voter, who wrote it.\n")


def test_with_the_prefix_empty_the_envelope_is_mail_from(app: Flask, sink: SMTPServer) -> None:
    app.config["BOUNCE_ADDRESS_PREFIX"] = ""
    received = send_as(sink, "Jane Voter")
    assert received.mail_from == MAIL_FROM


def test_staff_mail_keeps_the_sites_own_sender(app: Flask, sink: SMTPServer) -> None:
    app.config["ALERT_EMAIL"] = "staff@speakup.example.org"
    queue_alert("3 messages could not be delivered", "See the campaign page.")
    db.session.commit()
    assert run_workers(1).sent == 1
    [received] = sink.received
    assert received.mail_from == MAIL_FROM
    [sender] = received.message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Speak Up", MAIL_FROM)
    assert received.message["Reply-To"] is None
    assert "on behalf of" not in received.message.get_content()


@pytest.mark.parametrize("prefix", ["bounces+x", "bad prefix", "-x", "a" * 40])
def test_a_prefix_that_cannot_make_an_address_stops_the_worker(app: Flask, prefix: str) -> None:
    app.config["BOUNCE_ADDRESS_PREFIX"] = prefix
    with pytest.raises(DeliveryConfigError, match="BOUNCE_ADDRESS_PREFIX"):
        run_workers(1)


def test_the_prefix_setting_is_checked_when_the_site_starts() -> None:
    assert read_environment({"ADVOCACY_BOUNCE_ADDRESS_PREFIX": " Bounces "})[
        "BOUNCE_ADDRESS_PREFIX"
    ] == ("bounces")
    with pytest.raises(ConfigError, match="ADVOCACY_BOUNCE_ADDRESS_PREFIX: expected up to 32"):
        read_environment({"ADVOCACY_BOUNCE_ADDRESS_PREFIX": "bounces+x"})
