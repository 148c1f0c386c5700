"""How the worker reads the SMTP server's answers (5xx bounces at MAIL FROM and DATA, no
answer after DATA, a claim lost before DATA) and the optional HTML alternative."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from advocacy.delivery.worker import UNCONFIRMED_ERROR, Worker, run_workers

from .conftest import Gate, SMTPServer
from .factory import (
    ContactSpec,
    expire_leases,
    in_thread,
    make_all_due,
    queue_contacts,
    queue_specs,
    state,
)


def use(app: Flask, server: SMTPServer) -> None:
    app.config["MAIL_PORT"] = server.port


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [
        ("550 5.7.1 Sender address rejected", ("bounced", "dead")),
        ("451 4.3.0 Please try again later", ("failed", "pending")),
    ],
)
def test_answer_to_mail_from(
    app: Flask, smtp_server: SMTPServer, reply: str, outcome: tuple[str, str]
) -> None:
    use(app, smtp_server)
    smtp_server.handler.refuse_mail = reply
    [contact_id] = queue_contacts(1)
    run_workers(1)
    row = state(contact_id)
    assert (row.contact_status, row.outbox_status, row.attempts) == (*outcome, 1)
    assert reply.split()[0] in (row.contact_error or "")
    smtp_server.handler.refuse_mail = None
    make_all_due()
    report = run_workers(1)
    # A permanent refusal is never tried again; a temporary one is, and then goes through.
    assert report.sent == (0 if outcome[0] == "bounced" else 1)
    assert state(contact_id).contact_status == ("bounced" if outcome[0] == "bounced" else "sent")


def test_answer_to_data(app: Flask, smtp_server: SMTPServer) -> None:
    use(app, smtp_server)
    handler = smtp_server.handler
    handler.refuse_data["spam@legislature.example.gov"] = "554 5.6.0 Message content rejected"
    handler.refuse_data["full@legislature.example.gov"] = "452 4.2.2 Mailbox full"
    spam, full, fine = queue_specs(
        [
            ContactSpec(target_email="spam@legislature.example.gov"),
            ContactSpec(target_email="full@legislature.example.gov"),
            ContactSpec(target_email="fine@legislature.example.gov"),
        ]
    )
    report = run_workers(1)
    assert (report.bounced, report.retrying, report.sent) == (1, 1, 1)
    assert (state(spam).contact_status, state(spam).outbox_status) == ("bounced", "dead")
    assert "554" in (state(spam).contact_error or "")
    assert (state(full).contact_status, state(full).outbox_status) == ("failed", "pending")
    assert state(fine).contact_status == "sent"
    assert state(spam).attempts == 1


def test_no_answer_after_data_is_not_retried_automatically(
    app: Flask, smtp_server: SMTPServer
) -> None:
    use(app, smtp_server)
    app.config["MAIL_TIMEOUT"] = 0.5
    gate = Gate("rep0@legislature.example.gov")
    smtp_server.handler.hold_data = gate  # the server has the message but never answers
    try:
        [contact_id] = queue_contacts(1)
        report = run_workers(1)
    finally:
        gate.release.set()
    assert gate.reached.is_set()
    assert report.unconfirmed == 1
    row = state(contact_id)
    assert (row.contact_status, row.outbox_status) == ("dead", "dead")
    assert (row.outbox_error or "").startswith(UNCONFIRMED_ERROR)
    make_all_due()
    assert run_workers(1).claimed == 0
    assert len(smtp_server.received) == 1


def test_a_worker_that_lost_its_claim_stops_before_data(
    app: Flask, smtp_server: SMTPServer
) -> None:
    use(app, smtp_server)
    [contact_id] = queue_contacts(1)
    gate = Gate("rep0@legislature.example.gov")
    smtp_server.handler.hold_rcpt = gate  # the slow worker waits at RCPT TO
    slow = in_thread(app, lambda: Worker("slow", lease_seconds=120).run())
    try:
        assert gate.reached.wait(timeout=30)
        expire_leases()
        taken = Worker("rescuer", lease_seconds=120).claim(1)  # taken over, not yet sent
    finally:
        gate.release.set()
    report = slow.result(timeout=60)
    assert len(taken.outbox_ids) == 1
    assert (report.claimed, report.lost, report.sent) == (1, 1, 0)
    assert smtp_server.received == []
    row = state(contact_id)
    assert (row.outbox_status, row.contact_status) == ("sending", "queued")
    assert (row.claimed_by or "").startswith("rescuer/")


BODY = (
    'Dear Rep <b>Ortiz</b> & "friends",\n\n'
    "Line one\nLine two <script>alert('x')</script> <a href=\"https://evil.example\">x</a>\n\n"
    "Jane Voter"
)


def test_html_alternative_is_escaped_text_after_the_plain_part(
    app: Flask, smtp_server: SMTPServer
) -> None:
    use(app, smtp_server)
    app.config["MAIL_HTML_ALTERNATIVE"] = True
    queue_specs([ContactSpec(target_email="ortiz@legislature.example.gov", body=BODY)])
    assert run_workers(1).sent == 1
    [item] = smtp_server.received
    message = item.message
    assert message.get_content_type() == "multipart/alternative"
    plain, markup = list(message.iter_parts())
    assert plain.get_content_type() == "text/plain"  # first: the primary part
    assert plain.get_content().replace("\r\n", "\n") == BODY + "\n\n-- \n" + (
        "Sent through Speak Up on behalf of Jane Voter, who wrote it; replying to this email "
        "reaches them.\n"
    )
    assert markup.get_content_type() == "text/html"
    html = markup.get_content().replace("\r\n", "\n")
    assert "<p>Dear Rep &lt;b&gt;Ortiz&lt;/b&gt; &amp; &quot;friends&quot;,</p>" in html
    assert (
        "<p>Line one<br>\nLine two &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; "
        "&lt;a href=&quot;https://evil.example&quot;&gt;x&lt;/a&gt;</p>"
    ) in html
    assert "<p>Jane Voter</p>" in html
    tags = {tag.lower() for tag in re.findall(r"<\s*/?\s*([A-Za-z!]+)", html)}
    assert tags <= {"!doctype", "html", "head", "meta", "title", "body", "p", "br"}
    assert message["Reply-To"].addresses[0].addr_spec == "jane.voter@example.com"


def test_without_the_setting_the_message_is_plain_text_only(
    app: Flask, smtp_server: SMTPServer
) -> None:
    use(app, smtp_server)
    queue_specs([ContactSpec(target_email="ortiz@legislature.example.gov", body=BODY)])
    assert run_workers(1).sent == 1
    [item] = smtp_server.received
    assert item.message.get_content_type() == "text/plain"
    assert b"text/html" not in item.content
