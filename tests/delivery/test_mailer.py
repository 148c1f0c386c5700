"""Message building: untrusted names, subjects and addresses can never add headers or
recipients, and never make building fail."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import cast

import pytest

from advocacy.delivery.mailer import (
    InvalidMessage,
    MessageData,
    build_message,
    clean_header_text,
    normalise_address,
)

MESSAGE_ID = "<contact-7.0123456789ab@speakup.example.org>"
ALLOWED_HEADERS = {
    "from",
    "to",
    "reply-to",
    "subject",
    "date",
    "message-id",
    "content-type",
    "content-transfer-encoding",
    "mime-version",
}

INJECTIONS = [
    "x@y.com\r\nBcc: z@evil.example",
    "Jane\r\nBcc: z@evil.example",
    "Jane\nCc: z@evil.example",
    "Jane\rTo: z@evil.example",
    "Jane\u2028Bcc: z@evil.example",
    "Jane\x00\x0bBcc: z@evil.example",
    "a@b.com, z@evil.example",
    "a@b.com; z@evil.example",
    "Jane <z@evil.example>",
    '"z@evil.example" <a@b.com>',
    "=?utf-8?q?Bcc=3A_z=40evil=2Eexample?=",
    "Bcc: z@evil.example;",
    "undisclosed: z@evil.example, y@evil.example;",
    '\\"Jane\\" <z@evil.example>',
    "Jane (comment) <z@evil.example>",
    "Jane <z@evil.example",
    "Zoë Ñandú 山田太郎",
    "J" * 1500,
    "word " * 400,
    "\r\n\r\nBcc: z@evil.example\r\n\r\n",
    "",
]


def data(**changes: object) -> MessageData:
    values: dict[str, object] = {
        "to_name": "Representative Ortiz",
        "to_email": "ortiz@legislature.example.gov",
        "subject": "Protect children",
        "body": "Dear Representative Ortiz,\n\nPlease act.\n\nJane",
        "sender_name": "Jane Voter",
        "sender_email": "jane@example.com",
    }
    values.update(changes)
    return MessageData(**values)  # type: ignore[arg-type]


def parse(raw: bytes) -> EmailMessage:
    return cast(EmailMessage, message_from_bytes(raw, policy=policy.default))


def build(mode: str = "smtp", **changes: object) -> tuple[EmailMessage, bytes, tuple[str, ...]]:
    prepared = build_message(
        data(**changes),
        message_id=MESSAGE_ID,
        mode=mode,
        mail_from="advocacy@speakup.example.org",
        site_name="Speak Up",
        redirect_to="qa@speakup.example.org",
    )
    raw = prepared.as_bytes()
    return parse(raw), raw, prepared.envelope_to


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ortiz@legislature.example.gov", "ortiz@legislature.example.gov"),
        ("  Ortiz@Legislature.Example.GOV ", "Ortiz@legislature.example.gov"),
        ("a+tag@sub.example.org", "a+tag@sub.example.org"),
        ("advocacy@localhost", "advocacy@localhost"),
        ("a@exämple.com", "a@xn--exmple-cua.com"),
        ("x@y.com\r\nBcc: z@evil.example", None),
        ("a@b.com, c@d.com", None),
        ("a@b.com;c@d.com", None),
        ("Jane <jane@example.com>", None),
        ("<jane@example.com>", None),
        ('"a b"@example.com', None),
        ("a@[127.0.0.1]", None),
        ("José@example.com", None),
        ("a@@example.com", None),
        ("a..b@example.com", None),
        ("a@-example.com", None),
        ("a@example.com\n", None),
        ("a" * 65 + "@example.com", None),
        ("a@" + "b" * 250 + ".com", None),
        ("", None),
        (None, None),
    ],
)
def test_normalise_address_accepts_exactly_one_addr_spec(raw: object, expected: str | None) -> None:
    assert normalise_address(raw) == expected


def test_clean_header_text_is_one_short_line() -> None:
    assert clean_header_text("a\r\nb\tc\u2028d\x00e  f", 100) == "a b c d e f"
    long = clean_header_text("x" * 5000, 300)
    assert len(long) == 300 and long.endswith("\u2026")
    assert clean_header_text("\ud800bad surrogate", 50) == "?bad surrogate"
    assert clean_header_text(None, 10) == ""
    assert "=?" not in clean_header_text("=?utf-8?q?Bcc=3A_z=40evil?= ==?? =?=?", 100)


@pytest.mark.parametrize("evil", INJECTIONS)
@pytest.mark.parametrize("field", ["to_name", "subject", "sender_name", "sender_email"])
def test_untrusted_values_cannot_add_headers_or_recipients(field: str, evil: str) -> None:
    message, raw, envelope = build(**{field: evil})
    assert envelope == ("ortiz@legislature.example.gov",)
    assert {name.lower() for name in message.keys()} <= ALLOWED_HEADERS
    for name in ("From", "To", "Subject", "Date", "Message-ID"):
        assert len(message.get_all(name) or []) == 1, name
    assert [a.addr_spec for a in message["To"].addresses] == ["ortiz@legislature.example.gov"]
    assert [a.addr_spec for a in message["From"].addresses] == ["advocacy@speakup.example.org"]
    reply_to = message.get_all("Reply-To") or []
    assert len(reply_to) <= 1
    if reply_to:
        addresses = [a.addr_spec for a in message["Reply-To"].addresses]
        assert len(addresses) == 1 and "evil" not in addresses[0]
    assert message["Message-ID"] == MESSAGE_ID
    assert "\n" not in str(message["Subject"]) and "\r" not in str(message["Subject"])
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\nBcc:" not in head and b"\nCc:" not in head


def test_reply_to_is_the_constituent_and_from_is_the_site() -> None:
    message, _raw, _envelope = build()
    assert str(message["From"]) == "Jane Voter via Speak Up <advocacy@speakup.example.org>"
    assert str(message["Reply-To"]) == "Jane Voter <jane@example.com>"
    assert str(message["To"]) == "Representative Ortiz <ortiz@legislature.example.gov>"


@pytest.mark.parametrize(
    "email", ["a@b.com, c@d.com", "x@y.com\r\nBcc: z@evil.example", "Jane <j@example.com>", None]
)
def test_invalid_constituent_email_omits_reply_to(email: str | None) -> None:
    message, _raw, _envelope = build(sender_email=email)
    assert message["Reply-To"] is None


def test_non_ascii_names_and_subject_round_trip() -> None:
    message, raw, _envelope = build(
        to_name="José Álvarez", sender_name="Zoë 山田", subject="Überprüfung ✓"
    )
    assert raw.isascii()
    assert str(message["Subject"]) == "Überprüfung ✓"
    assert message["To"].addresses[0].display_name == "José Álvarez"
    assert message["Reply-To"].addresses[0].display_name == "Zoë 山田"


def test_body_keeps_text_and_is_seven_bit_on_the_wire() -> None:
    body = "Línea uno\r\n.\r\nBcc: z@evil.example\n" + "y" * 3000
    message, raw, _envelope = build(body=body)
    assert raw.isascii()
    content = message.get_content().replace("\r\n", "\n")
    assert content.startswith("Línea uno\n.\nBcc: z@evil.example\n")
    assert "y" * 3000 in content
    assert message["Bcc"] is None


@pytest.mark.parametrize(
    "recipient", [None, "", "not-an-address", "a@b.com, c@d.com", "x@y.com\r\nBcc: z@evil.example"]
)
def test_a_message_without_one_valid_recipient_is_refused(recipient: str | None) -> None:
    with pytest.raises(InvalidMessage):
        build(to_email=recipient)


def test_redirect_mode_sends_only_to_redirect_to_and_notes_the_original() -> None:
    message, _raw, envelope = build(mode="redirect")
    assert envelope == ("qa@speakup.example.org",)
    assert [a.addr_spec for a in message["To"].addresses] == ["qa@speakup.example.org"]
    assert message["X-Original-To"] == "ortiz@legislature.example.gov"
    first_line = message.get_content().splitlines()[0]
    assert "ortiz@legislature.example.gov" in first_line


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(InvalidMessage):
        build(mode="broadcast")


def test_long_and_non_ascii_headers_are_folded_and_read_back_unchanged() -> None:
    subject = "Über " * 30 + "a long subject to fold"
    message, raw, _envelope = build(
        to_name="José Ñúñez-Łukasz", subject=subject, sender_name="Zoë O'Brien"
    )
    head = raw.split(b"\r\n\r\n")[0].split(b"\r\n")
    # Address headers are folded only beyond 998 characters (mailer.WIRE_POLICY).
    assert raw.isascii() and all(
        len(line) <= 78 for line in head if not line.startswith((b"From:", b"To:", b"Reply-To:"))
    )
    assert message["To"].addresses[0].display_name == "José Ñúñez-Łukasz"
    assert message["Reply-To"].addresses[0].display_name == "Zoë O'Brien"
    assert str(message["Subject"]) == " ".join(subject.split())


def test_a_message_without_a_sender_is_from_the_site_alone() -> None:
    message, _raw, _envelope = build(sender_name=None, sender_email=None)
    assert str(message["From"]) == "Speak Up <advocacy@speakup.example.org>"
    assert message["Reply-To"] is None


@pytest.mark.parametrize("message_id", ["", "no-brackets@example.org", "<a@b>\r\nBcc: x@y.z"])
def test_a_malformed_message_id_is_refused(message_id: str) -> None:
    with pytest.raises(InvalidMessage):
        build_message(
            data(), message_id=message_id, mode="smtp", mail_from="a@example.org", site_name=""
        )
