"""Build outgoing messages safely and hand them to SMTP (through Flask-Mail) or a log file.

Everything a visitor typed (names, subjects, addresses, bodies) is untrusted. Header values
are reduced to one line (control characters removed, whitespace collapsed, length capped)
and headers are built with the standard library's ``EmailMessage``/``Address`` so a value
can never start a new header or add a recipient. Addresses must be exactly one plain
``local@domain`` addr-spec; anything else is refused (recipient) or dropped (Reply-To).
The envelope is built separately from the headers and holds exactly one recipient.

Plain text is the message. With ``html_alternative`` an HTML part is added after it
(``multipart/alternative``), made from the plain text only: every character escaped, blank
lines become paragraphs and single line breaks ``<br>``; nothing the visitor typed can add
markup, links or styles.
"""

from __future__ import annotations

import html
import os
import re
import smtplib
import ssl
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import flask_mail
from flask import current_app

MAX_NAME_LENGTH = 200
MAX_FROM_PERSON_LENGTH = 120
MAX_SUBJECT_LENGTH = 300
MAX_BODY_LENGTH = 100_000
MAX_ADDRESS_LENGTH = 254
DEFAULT_SUBJECT = "(no subject)"

# C0/C1 controls, DEL, and the Unicode line/paragraph separators.
_HEADER_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u0085]")
# Body: keep tab and newline, drop other controls.
_BODY_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029]")
_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_DOMAIN = re.compile(
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)
_MESSAGE_ID = re.compile(r"<[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,100}@[A-Za-z0-9.-]{1,100}>")


class InvalidMessage(ValueError):
    """The stored data cannot make a safe message (e.g. no valid recipient). Not retried."""


def _valid_unicode(text: str) -> str:
    # Lone surrogates would make the encoder raise later; replace them now.
    return text.encode("utf-8", "replace").decode("utf-8")


def clean_header_text(value: object, limit: int) -> str:
    """One line of text for a header: no control characters, single spaces, at most ``limit``."""
    if value is None:
        return ""
    text = _valid_unicode(str(value))
    text = " ".join(_HEADER_UNSAFE.sub(" ", text).split())
    # Text that looks like an RFC 2047 encoded word would be decoded by the header parser
    # (and could then read as addresses): break the "=?" opener.
    text = text.replace("=?", "= ?")
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "\u2026"
    return text


def clean_body(value: object, limit: int = MAX_BODY_LENGTH) -> str:
    if value is None:
        return ""
    text = _valid_unicode(str(value)).replace("\r\n", "\n").replace("\r", "\n")
    text = _BODY_UNSAFE.sub("", text)
    if len(text) > limit:
        text = text[:limit].rstrip() + "\n[...]"
    return text


def normalise_address(value: object) -> str | None:
    """Return ``value`` as exactly one ASCII ``local@domain`` addr-spec, or None.

    Surrounding spaces and tabs are ignored; anything else unusual (display names, lists, comments,
    quoted local parts, IP literals, control characters) makes the address invalid.
    Internationalised domains are converted to their ASCII (IDNA) form.
    """
    if not isinstance(value, str):
        return None
    text = value.strip(" \t")
    if not text or len(text) > MAX_ADDRESS_LENGTH or text.count("@") != 1:
        return None
    local, domain = text.split("@")
    if not local.isascii() or len(local) > 64 or not _LOCAL_PART.fullmatch(local):
        return None
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    if len(domain) > 253 or not _DOMAIN.fullmatch(domain):
        return None
    return f"{local}@{domain.lower()}"


def address_domain(value: str) -> str:
    address = normalise_address(value)
    return address.split("@", 1)[1] if address else "localhost"


@dataclass(frozen=True)
class MessageData:
    """One message as its kind builds it from the database (untrusted text, checked here).

    ``sender_name`` is the person the message is written by: From reads "<name> via <site>"
    (always the site's MAIL_FROM address) and replies go to ``sender_email``. Without them
    the message is from the site itself.
    """

    to_name: str | None
    to_email: str | None
    subject: str | None
    body: str | None
    sender_name: str | None = None
    sender_email: str | None = None
    # Sent with its own envelope sender (``bounces.bounce_address``) so that a bounce arriving
    # later names this message; only messages to recipients, never staff or visitor mail.
    track_bounces: bool = False


@dataclass(frozen=True)
class PreparedMessage:
    message_id: str
    message: EmailMessage
    envelope_from: str
    envelope_to: tuple[str, ...]

    def as_bytes(self) -> bytes:
        return self.message.as_bytes(policy=WIRE_POLICY)


_ADDRESS_HEADERS = frozenset({"from", "to", "reply-to"})


class _WirePolicy(EmailPolicy):
    """``policy.SMTP``, except that address headers are folded only beyond 998 characters.

    Python 3.11's folder can split a long quoted display name and drop its quotes, after which
    a comma or "@" in a name would read as another address. Names are capped well below that
    length, so a quoted name (or its RFC 2047 encoded words) stays whole.
    """

    def fold_binary(self, name: str, value: Any) -> bytes:
        if name.lower() in _ADDRESS_HEADERS:
            return EmailPolicy.fold_binary(self.clone(max_line_length=998), name, value)
        return super().fold_binary(name, value)

    def fold(self, name: str, value: Any) -> str:
        if name.lower() in _ADDRESS_HEADERS:
            return EmailPolicy.fold(self.clone(max_line_length=998), name, value)
        return super().fold(name, value)


WIRE_POLICY = _WirePolicy(linesep="\r\n")


def display_name(text: str) -> str:
    """A display name as the email library will quote or encode it (address specials such as
    quotes, commas and "@" included); only whitespace is normalised here."""
    return " ".join(text.split())


def _address(name: str, addr_spec: str) -> Address:
    return Address(display_name=display_name(name), addr_spec=addr_spec)


def _transfer_encoding(text: str) -> str:
    # 7-bit safe on the wire: SMTP servers without 8BITMIME must still get it intact.
    plain = text.isascii() and all(len(line) <= 900 for line in text.split("\n"))
    return "7bit" if plain else "quoted-printable"


def html_from_plain(body: str, title: str = "") -> str:
    """A minimal HTML document showing ``body``: escaped text, paragraphs and line breaks."""
    paragraphs = [p for p in re.split(r"\n[ \t]*\n", body.strip("\n")) if p.strip()]
    parts = [
        "<p>" + "<br>\n".join(html.escape(line, quote=True) for line in p.split("\n")) + "</p>"
        for p in paragraphs
    ]
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{html.escape(title, quote=True)}</title></head>\n<body>\n"
        + "\n".join(parts)
        + "\n</body></html>\n"
    )


def build_message(
    data: MessageData,
    *,
    message_id: str,
    mode: str,
    mail_from: str,
    site_name: str,
    redirect_to: str = "",
    now: datetime | None = None,
    html_alternative: bool = False,
    envelope_from: str | None = None,
) -> PreparedMessage:
    """Build one message. Raises ``InvalidMessage`` for data that cannot make a safe one.

    ``envelope_from`` (a bounce address) replaces MAIL_FROM as the SMTP envelope sender only;
    From stays MAIL_FROM, the address the site's SPF, DKIM and DMARC records cover.
    """
    sender = normalise_address(mail_from)
    if sender is None:
        raise InvalidMessage("MAIL_FROM is not a valid email address")
    return_path = sender
    if envelope_from:
        checked = normalise_address(envelope_from)
        if checked is None:
            raise InvalidMessage("the bounce address is not a valid email address")
        return_path = checked
    recipient = normalise_address(data.to_email)
    if recipient is None:
        raise InvalidMessage("the recipient has no valid email address")
    if not _MESSAGE_ID.fullmatch(message_id or ""):
        raise InvalidMessage("the outbox message id is malformed")

    to_name = clean_header_text(data.to_name, MAX_NAME_LENGTH)
    person = clean_header_text(data.sender_name, MAX_NAME_LENGTH)
    site = clean_header_text(site_name, MAX_NAME_LENGTH)
    subject = clean_header_text(data.subject, MAX_SUBJECT_LENGTH) or DEFAULT_SUBJECT
    reply_to = normalise_address(data.sender_email)
    body = clean_body(data.body)
    if person:
        body = body.rstrip("\n") + "\n\n-- \n" + behalf_footer(person, site, reply_to is not None)

    envelope_to = recipient
    to_header = _address(to_name, recipient)
    original = ""
    if mode == "redirect":
        redirect = normalise_address(redirect_to)
        if redirect is None:
            raise InvalidMessage("REDIRECT_TO is not a valid email address")
        envelope_to = redirect
        original = str(to_header)
        to_header = _address("", redirect)
        body = f"[Redirected test message; originally to: {original}]\n\n{body}"
    elif mode not in ("smtp", "log"):
        raise InvalidMessage(f"unknown delivery mode {mode!r}")

    message = EmailMessage(policy=WIRE_POLICY)
    # The person's part is shortened on its own so that " via <site>" is always there.
    short_person = clean_header_text(person, MAX_FROM_PERSON_LENGTH)
    from_name = f"{short_person} via {site}" if person and site else (short_person or site)
    message["From"] = _address(clean_header_text(from_name, MAX_NAME_LENGTH), sender)
    message["To"] = to_header
    if reply_to is not None:
        message["Reply-To"] = _address(person, reply_to)
    message["Subject"] = subject
    message["Date"] = format_datetime(now or datetime.now(UTC))
    message["Message-ID"] = message_id
    if original:
        message["X-Original-To"] = recipient
    body = body or "\n"
    message.set_content(body, subtype="plain", charset="utf-8", cte=_transfer_encoding(body))
    if html_alternative:
        markup = html_from_plain(body, subject)
        message.add_alternative(
            markup, subtype="html", charset="utf-8", cte=_transfer_encoding(markup)
        )
    return PreparedMessage(
        message_id=message_id,
        message=message,
        envelope_from=return_path,
        envelope_to=(envelope_to,),
    )


def behalf_footer(person: str, site: str, can_reply: bool) -> str:
    """The last line of a message written by a constituent: who sent it, through what, and
    how to reach them."""
    through = f" through {site}" if site else ""
    reach = "; replying to this email reaches them" if can_reply else ""
    return f"Sent{through} on behalf of {person}, who wrote it{reach}."


def write_log(prepared: PreparedMessage, directory: str | Path, name: str) -> Path:
    """``log`` mode: write the whole message, with its envelope, to ``name`` in ``directory``
    (``<kind>-<id>.eml``: a retry replaces its copy), atomically: a crash leaves at most a
    ``.<kind>-*.tmp`` file, never half a message."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    header = (
        f"X-Envelope-From: {prepared.envelope_from}\r\n"
        f"X-Envelope-To: {', '.join(prepared.envelope_to)}\r\n"
    ).encode("ascii")
    kind = name.split("-", 1)[0]
    fd, temp_name = tempfile.mkstemp(dir=folder, prefix=f".{kind}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(header + prepared.as_bytes())
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return target


@dataclass(frozen=True)
class SMTPSettings:
    server: str
    port: int
    use_tls: bool
    use_ssl: bool
    username: str
    password: str
    timeout: float

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SMTPSettings:
        return cls(
            server=str(config.get("MAIL_SERVER") or "localhost"),
            port=int(config.get("MAIL_PORT") or 25),
            use_tls=bool(config.get("MAIL_USE_TLS")),
            use_ssl=bool(config.get("MAIL_USE_SSL")),
            username=str(config.get("MAIL_USERNAME") or ""),
            password=str(config.get("MAIL_PASSWORD") or ""),
            timeout=float(config.get("MAIL_TIMEOUT") or 15.0),
        )


class _FlaskMailMessage(flask_mail.Message):
    """A Flask-Mail message whose bytes are a prepared ``EmailMessage``.

    ``Message.__init__`` is deliberately not called: it would make a random Message-ID (and
    look up the host name). Only the attributes ``Connection.send`` reads are set.
    """

    def __init__(self, prepared: PreparedMessage) -> None:
        self.prepared = prepared
        self.recipients = list(prepared.envelope_to)
        self.cc = []
        self.bcc = []
        self.sender = prepared.envelope_from
        self.reply_to = None
        self.subject = ""
        self.body = None
        self.alts = {}
        self.date = None
        self.msgId = prepared.message_id
        self.charset = "utf-8"
        self.extra_headers = None
        self.mail_options = []
        self.rcpt_options = []
        self.attachments = []

    def as_bytes(self) -> bytes:
        return self.prepared.as_bytes()

    def as_string(self) -> str:
        return self.prepared.as_bytes().decode("ascii", "replace")


class _BeforeData:
    """smtplib's client with a hook called just before the DATA command of ``sendmail``.

    The hook runs after MAIL FROM and RCPT TO were accepted; if it raises, DATA is never sent
    (the caller closes the connection, which abandons the SMTP transaction).
    """

    before_data: Callable[[], None] | None = None

    def data(self, msg: Any) -> tuple[int, bytes]:
        hook = self.before_data
        if hook is not None:
            hook()
        return super().data(msg)  # type: ignore[misc, no-any-return]


class _SMTP(_BeforeData, smtplib.SMTP):
    pass


class _SMTPSSL(_BeforeData, smtplib.SMTP_SSL):
    pass


class _Connection(flask_mail.Connection):
    """Flask-Mail's connection with a timeout, verified TLS, and settings read at use time."""

    def __init__(self, settings: SMTPSettings) -> None:
        super().__init__(current_app.extensions["mail"])
        self.settings = settings

    def configure_host(self) -> _SMTP | _SMTPSSL:
        settings = self.settings
        context = ssl.create_default_context() if settings.use_ssl or settings.use_tls else None
        host: _SMTP | _SMTPSSL
        if settings.use_ssl:
            host = _SMTPSSL(
                settings.server, settings.port, timeout=settings.timeout, context=context
            )
        else:
            host = _SMTP(settings.server, settings.port, timeout=settings.timeout)
        try:
            if settings.use_tls and not settings.use_ssl:
                host.starttls(context=context)
            if settings.username and settings.password:
                host.login(settings.username, settings.password)
        except BaseException:
            host.close()
            raise
        return host


class SMTPSender:
    """One SMTP connection, opened on first use and reused for a batch of messages."""

    def __init__(self, settings: SMTPSettings) -> None:
        self.settings = settings
        self._connection: _Connection | None = None

    def send(
        self, prepared: PreparedMessage, before_data: Callable[[], None] | None = None
    ) -> None:
        """Send one message. ``before_data`` runs once MAIL FROM and RCPT TO were accepted,
        just before DATA; an exception from it stops the message before any of it is sent."""
        if len(prepared.envelope_to) != 1:
            raise InvalidMessage("a message must have exactly one envelope recipient")
        if self._connection is None:
            connection = _Connection(self.settings)
            connection.host = connection.configure_host()
            self._connection = connection
        host = self._connection.host
        host.before_data = before_data
        try:
            self._connection.send(_FlaskMailMessage(prepared), prepared.envelope_from)
        except smtplib.SMTPRecipientsRefused:
            raise  # smtplib reset the transaction; the connection can be reused
        except BaseException:
            self.close()
            raise
        finally:
            host.before_data = None

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None or connection.host is None:
            return
        host = connection.host
        connection.host = None
        try:
            host.quit()
        except (smtplib.SMTPException, OSError):
            host.close()


def permanent_refusal(exc: smtplib.SMTPRecipientsRefused) -> bool:
    """True when every recipient was refused with a 5xx (permanent) reply."""
    codes = [code for code, _message in exc.recipients.values()]
    return bool(codes) and all(500 <= code < 600 for code in codes)


def permanent_response(exc: BaseException) -> bool:
    """True for a 5xx reply to MAIL FROM or DATA: the server refused this message for good."""
    if isinstance(exc, smtplib.SMTPSenderRefused | smtplib.SMTPDataError):
        return 500 <= int(exc.smtp_code) < 600
    return False


def describe_error(exc: BaseException, limit: int = 2000) -> str:
    """A one-line description of a delivery error for ``last_error``."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        parts = []
        for address, (code, reply) in exc.recipients.items():
            text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
            parts.append(f"{code} {text} (RCPT {address})")
        text = "recipient refused: " + "; ".join(parts)
    elif isinstance(exc, smtplib.SMTPResponseException):
        reply = exc.smtp_error
        detail = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        text = f"{type(exc).__name__}: {exc.smtp_code} {detail}"
    else:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return clean_header_text(text, limit)
