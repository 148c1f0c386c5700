"""Read a message that came back to a bounce address: a delivery status notification
(RFC 3464 ``multipart/report``), a plain-text bounce in the style of qmail, Exim or Postfix,
a delay warning, an auto-reply, or anything else.

Which message it is about comes from the bounce address it was sent to, never from its text;
the text only says whether delivery failed for good, and why.
"""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from typing import cast

from .bounces import Notice

MAX_TEXT = 200_000
_ENHANCED = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
# A mail server's reply on a line of its own, or after "... said:" (qmail, Postfix).
_SMTP_REPLY = re.compile(r"(?mi)^(?:[^\n]*?\bsaid:)?[ \t]*([45]\d\d)[ -][ \t]*(\S.*)$")
_BOUNCE_SENDER = re.compile(r"^(mailer-daemon|postmaster|mail-daemon)@", re.IGNORECASE)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|delivery status notification|delivery (?:failure|has failed)|"
    r"mail delivery failed|failure notice|returned mail|could not be delivered|non-delivery",
    re.IGNORECASE,
)
_FAILURE_WORDS = re.compile(
    r"could not be delivered|couldn't be delivered|undeliverable|delivery has failed|"
    r"delivery to the following recipients? failed|permanent (?:error|failure)|"
    r"wasn't able to deliver|was not able to deliver|unable to deliver|"
    r"address(?:es)? failed|user unknown|no such user|mailbox unavailable|"
    r"does not exist|address not found|rejected",
    re.IGNORECASE,
)
_DELAY_WORDS = re.compile(
    r"\bdelayed\b|has not yet been delivered|not yet been delivered|will (?:continue|keep) "
    r"trying|still trying|will retry|temporary (?:failure|problem)|no action is required",
    re.IGNORECASE,
)
_AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(?:auto(?:matic)?[ -]?(?:reply|response)|out of (?:the )?office|away from|"
    r"on vacation|autoreply)\b",
    re.IGNORECASE,
)


def parse_notice(raw: bytes, *, envelope_sender: str = "") -> Notice:
    """What ``raw`` (a whole message as received) says about the message it answers."""
    message = cast(EmailMessage, message_from_bytes(raw, policy=policy.default))
    report = _delivery_status(message)
    if report is not None:
        return _from_report(report)
    # Mail systems mark their bounces "Auto-Submitted: auto-replied" too, so an out-of-office
    # answer is told by its subject first, and by its headers only when it is no bounce.
    if _AUTO_REPLY_SUBJECT.match(str(message.get("Subject") or "")):
        return Notice("auto_reply")
    if not _looks_like_bounce(message, envelope_sender):
        return Notice("auto_reply" if _is_auto_reply(message) else "other")
    text = _plain_text(message)
    if _DELAY_WORDS.search(text) and not re.search(r"permanent", text, re.IGNORECASE):
        return Notice("delayed", reason=_first_reply(text) or "")
    status, reason = _status_and_reason(text)
    if (status or "").startswith("4"):
        return Notice("delayed", status=status, reason=reason)
    if status is None and not _FAILURE_WORDS.search(text):
        return Notice("auto_reply" if _is_auto_reply(message) else "other")
    return Notice("failed", status=status, reason=reason)


def _delivery_status(message: EmailMessage) -> Message | None:
    if message.get_content_type() != "multipart/report":
        return None
    for part in message.walk():
        if part.get_content_type() == "message/delivery-status":
            return part
    return None


def _field(block: Message, name: str) -> str:
    value = block.get(name)
    return " ".join(str(value).split()) if value is not None else ""


def _without_type(value: str) -> str:
    """``rfc822; a@b.example`` -> ``a@b.example``; ``smtp; 550 ...`` -> ``550 ...``."""
    kind, semicolon, rest = value.partition(";")
    return rest.strip() if semicolon and " " not in kind.strip() else value


def _from_report(report: Message) -> Notice:
    # The payload is the per-message block followed by one block per recipient.
    blocks = [block for block in report.get_payload() or [] if isinstance(block, Message)]
    recipients = blocks[1:] or blocks
    delayed: Notice | None = None
    for block in recipients:
        action = _field(block, "Action").lower()
        status = _ENHANCED.search(_field(block, "Status"))
        code = ".".join(status.groups()) if status else None
        recipient = _without_type(_field(block, "Final-Recipient")) or None
        reason = _tidy_reply(_without_type(_field(block, "Diagnostic-Code")))
        if action == "failed" or (not action and code and code.startswith("5")):
            return Notice("failed", status=code, reason=reason, recipient=recipient)
        if action == "delayed" and delayed is None:
            delayed = Notice("delayed", status=code, reason=reason, recipient=recipient)
    return delayed or Notice("other")


def _tidy_reply(text: str) -> str:
    """A multi-line SMTP reply as one sentence: ``550-5.1.1 a 550-5.1.1 b`` -> ``550 5.1.1 a b``."""
    first = re.match(r"([245]\d\d)[ -]((?:[245]\.\d{1,3}\.\d{1,3})?)\s*", text)
    if first is None:
        return text
    code, enhanced = first.groups()
    repeats = re.compile(rf"\s{code}[ -]{re.escape(enhanced)}\s*")
    return " ".join(f"{code} {enhanced} {repeats.sub(' ', text[first.end() :])}".split())


def _is_auto_reply(message: EmailMessage) -> bool:
    auto = str(message.get("Auto-Submitted") or "").strip().lower()
    if auto and auto != "no":
        return True
    if message.get("X-Autoreply") is not None or message.get("X-Autorespond") is not None:
        return True
    return str(message.get("Precedence") or "").strip().lower() == "auto_reply"


def _looks_like_bounce(message: EmailMessage, envelope_sender: str) -> bool:
    """A plain-text bounce is from the mailer daemon, or has an empty envelope sender (RFC
    5321) and a bounce's subject."""
    sender = message.get("From")
    addresses = getattr(sender, "addresses", ()) if sender is not None else ()
    if any(_BOUNCE_SENDER.match(address.addr_spec) for address in addresses):
        return True
    subject = str(message.get("Subject") or "")
    return envelope_sender in ("", "<>") and bool(_BOUNCE_SUBJECT.search(subject))


def _plain_text(message: EmailMessage) -> str:
    texts = []
    for part in message.walk():
        if part.get_content_type() != "text/plain" or part.is_attachment():
            continue
        try:
            texts.append(str(cast(EmailMessage, part).get_content()))
        except (LookupError, ValueError):
            continue  # an unknown charset or a broken encoding: not readable text
        if sum(len(text) for text in texts) > MAX_TEXT:
            break
    return "\n".join(texts)[:MAX_TEXT]


def _first_reply(text: str) -> str | None:
    match = _SMTP_REPLY.search(text)
    return f"{match.group(1)} {match.group(2).strip()}" if match else None


def _status_and_reason(text: str) -> tuple[str | None, str]:
    """The enhanced status code and the mail server's words, from a plain-text bounce."""
    reply = _first_reply(text)
    source = reply or text
    enhanced = _ENHANCED.search(source) or _ENHANCED.search(text)
    if enhanced:
        status: str | None = ".".join(enhanced.groups())
    elif reply:
        status = f"{reply[0]}.0.0"
    else:
        status = None
    if reply:
        return status, reply
    failure = _FAILURE_WORDS.search(text)
    if failure is None:
        return status, ""
    start = text.rfind("\n", 0, failure.start()) + 1
    end = text.find("\n", failure.end())
    return status, text[start : end if end != -1 else len(text)].strip()
