"""The outbox worker against a real SMTP server (aiosmtpd): delivery, outages, crashed and
concurrent workers, dead letters, bounces, header injection, and the log/redirect modes."""

from __future__ import annotations

import smtplib
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from advocacy.actions.models import Contact
from advocacy.dbtypes import utcnow
from advocacy.delivery import worker as worker_module
from advocacy.delivery.models import OutboxMessage
from advocacy.delivery.outbox import retry_dead_letters
from advocacy.delivery.worker import (
    NOTHING_TO_SEND,
    UNCONFIRMED_ERROR,
    Worker,
    backoff_seconds,
    run_workers,
)
from advocacy.extensions import db

from .conftest import MAIL_FROM, Gate, SMTPServer
from .factory import (
    ContactSpec,
    expire_leases,
    in_thread,
    make_all_due,
    queue_contacts,
    queue_specs,
    state,
)
from .test_mailer import ALLOWED_HEADERS

RECIPIENT_HEADERS = ("To", "Cc", "Bcc", "Resent-To", "Resent-Cc", "Resent-Bcc")


def use(app: Flask, server: SMTPServer) -> None:
    app.config["MAIL_PORT"] = server.port


def test_delivers_over_smtp_with_the_right_envelope_and_headers(
    app: Flask, smtp_server: SMTPServer
) -> None:
    use(app, smtp_server)
    ids = queue_specs(
        [
            ContactSpec(
                target_email="ortiz@legislature.example.gov",
                target_name="Representative Ortiz",
                subject="Protect children in Pennsylvania",
                body="Dear Representative Ortiz,\n\nPlease act.\n\nJane Voter",
                name="Jane Voter",
                email="jane.voter@example.com",
            ),
            ContactSpec(
                target_email="lee@legislature.example.gov",
                target_name="Senator Lee",
                subject="Schützt Kinder ✓",
                body="Dear Senator Lee,\n\nÜber alles: protect children.\n",
                name="Zoë Ñandú",
                email="zoe@example.net",
            ),
        ]
    )
    report = run_workers(1)
    assert (report.claimed, report.sent) == (2, 2)
    received = {item.rcpt_tos: item for item in smtp_server.received}
    assert set(received) == {
        ("ortiz@legislature.example.gov",),
        ("lee@legislature.example.gov",),
    }
    expectations = [
        (
            ids[0],
            "ortiz@legislature.example.gov",
            "Jane Voter",
            "jane.voter@example.com",
            "Protect children in Pennsylvania",
            "Please act.",
        ),
        (
            ids[1],
            "lee@legislature.example.gov",
            "Zoë Ñandú",
            "zoe@example.net",
            "Schützt Kinder ✓",
            "Über alles: protect children.",
        ),
    ]
    for contact_id, target, name, email, subject, text in expectations:
        item = received[(target,)]
        message = item.message
        assert item.mail_from == MAIL_FROM
        assert [a.addr_spec for a in message["From"].addresses] == [MAIL_FROM]
        assert message["From"].addresses[0].display_name == f"{name} via Speak Up"
        assert [a.addr_spec for a in message["To"].addresses] == [target]
        assert [(a.display_name, a.addr_spec) for a in message["Reply-To"].addresses] == [
            (name, email)
        ]
        assert str(message["Subject"]) == subject
        assert text in message.get_content()
        row = state(contact_id)
        assert message["Message-ID"].strip() == row.message_id
        assert (row.contact_status, row.outbox_status, row.attempts) == ("sent", "sent", 1)
        assert row.sent_at is not None and row.claimed_by is None
    assert smtp_server.handler.connections == 1  # one connection for the batch


def test_smtp_down_keeps_messages_queued_then_delivers_each_exactly_once(
    app: Flask, smtp_idle: SMTPServer
) -> None:
    use(app, smtp_idle)  # nothing listens on this port yet
    ids = queue_contacts(3)
    before = utcnow()
    report = run_workers(1)
    assert (report.claimed, report.retrying, report.sent) == (3, 3, 0)
    message_ids = set()
    for contact_id in ids:
        row = state(contact_id)
        assert (row.contact_status, row.outbox_status, row.attempts) == ("failed", "pending", 1)
        assert "Connection" in (row.contact_error or "")
        assert row.outbox_error == row.contact_error
        assert row.next_attempt_at >= before + timedelta(seconds=30)  # backoff
        message_ids.add(row.message_id)
    assert run_workers(1).claimed == 0  # not due yet: nothing is retried early

    smtp_idle.start()
    make_all_due()
    report = run_workers(1)
    assert (report.claimed, report.sent) == (3, 3)
    assert run_workers(1).claimed == 0
    counts = smtp_idle.handler.per_message_id()
    assert set(counts) == message_ids  # the same Message-IDs as before the outage
    assert all(value == 1 for value in counts.values())
    for contact_id in ids:
        row = state(contact_id)
        assert (row.contact_status, row.outbox_status, row.attempts) == ("sent", "sent", 2)
        assert row.contact_error is None


def test_rows_of_a_worker_killed_mid_batch_are_taken_over_after_the_lease(
    app: Flask, smtp_server: SMTPServer
) -> None:
    use(app, smtp_server)
    ids = queue_contacts(4)
    crashed = Worker("crashed", lease_seconds=120)
    claim = crashed.claim(10)  # ... and then the process dies
    assert len(claim.outbox_ids) == 4
    assert {state(i).outbox_status for i in ids} == {"sending"}

    rescuer = Worker("rescuer")
    assert rescuer.run().claimed == 0  # the lease still holds
    assert smtp_server.received == []

    expire_leases()
    report = rescuer.run()
    assert (report.claimed, report.sent) == (4, 4)
    # The old worker wakes up with its stale claim: the rows are no longer its own.
    late = crashed.process(claim)
    assert late.sent == 0
    assert run_workers(1).claimed == 0
    counts = smtp_server.handler.per_message_id()
    assert sorted(counts) == sorted(state(i).message_id for i in ids)
    assert set(counts.values()) == {1}
    assert {state(i).contact_status for i in ids} == {"sent"}


def test_a_stale_claim_cannot_overwrite_the_new_owners_result(
    app: Flask, smtp_server: SMTPServer
) -> None:
    """A worker whose lease was taken over while the server held its message after DATA:
    the new owner dead-letters the row (it may have been sent); the late "sent" changes
    nothing."""
    use(app, smtp_server)
    [contact_id] = queue_contacts(1)
    gate = Gate("rep0@legislature.example.gov")
    smtp_server.handler.hold_data = gate
    slow = in_thread(app, lambda: Worker("slow", lease_seconds=120).run())
    try:
        assert gate.reached.wait(timeout=30)
        expire_leases()
        rescued = run_workers(1, "rescuer")
    finally:
        gate.release.set()
    late = slow.result(timeout=60)
    assert (rescued.claimed, rescued.unconfirmed) == (1, 1)
    assert (late.sent, late.lost) == (0, 1)
    row = state(contact_id)
    assert (row.outbox_status, row.contact_status) == ("dead", "dead")
    assert row.outbox_error == row.contact_error == UNCONFIRMED_ERROR
    assert len(smtp_server.received) == 1


def test_a_row_interrupted_too_often_is_dead_lettered_without_sending(
    app: Flask, smtp_server: SMTPServer
) -> None:
    use(app, smtp_server)
    [contact_id] = queue_contacts(1)
    db.session.execute(
        sa.update(OutboxMessage).values(
            status="sending", attempts=3, claimed_by="gone", claimed_until=utcnow()
        )
    )
    db.session.commit()
    assert run_workers(1).dead == 1
    row = state(contact_id)
    assert (row.contact_status, row.outbox_status) == ("dead", "dead")
    assert "interrupted" in (row.outbox_error or "")
    assert smtp_server.received == []


def test_two_workers_draining_one_queue_deliver_each_message_once(
    app: Flask, smtp_server: SMTPServer
) -> None:
    use(app, smtp_server)
    smtp_server.handler.delay = 0.005
    ids = queue_contacts(30)
    errors: list[BaseException] = []
    reports: dict[str, worker_module.BatchReport] = {}
    start = threading.Barrier(2)

    def work(name: str) -> None:
        try:
            with app.app_context():
                start.wait(timeout=10)
                reports[name] = Worker(name).run(batch=3)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    assert sum(report.sent for report in reports.values()) == 30
    assert run_workers(1).claimed == 0
    counts = smtp_server.handler.per_message_id()
    assert len(counts) == 30 and set(counts.values()) == {1}
    assert sorted(counts) == sorted(state(i).message_id for i in ids)
    assert {state(i).contact_status for i in ids} == {"sent"}


def test_a_looping_worker_picks_up_new_messages_and_stops_on_request(
    app: Flask, smtp_server: SMTPServer
) -> None:
    use(app, smtp_server)
    stop = threading.Event()
    errors: list[BaseException] = []

    def work() -> None:
        try:
            with app.app_context():
                Worker("looper").run(loop=True, interval=0.05, stop=stop)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    try:
        queue_contacts(2)
        for _ in range(200):
            if len(smtp_server.received) == 2:
                break
            threading.Event().wait(0.05)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive() and not errors
    assert len(smtp_server.received) == 2


def test_dead_letter_after_max_attempts_then_retry_requeues(
    app: Flask, smtp_idle: SMTPServer
) -> None:
    use(app, smtp_idle)
    app.config["DELIVERY_BACKOFF_SECONDS"] = 0.0
    [first] = queue_contacts(1, campaign_slug="first-campaign")
    [second] = queue_contacts(1, campaign_slug="second-campaign")
    for attempt in (1, 2):
        report = run_workers(1)
        assert report.retrying == 2
        assert {state(i).contact_status for i in (first, second)} == {"failed"}
        assert {state(i).attempts for i in (first, second)} == {attempt}
    report = run_workers(1)
    assert report.dead == 2
    for contact_id in (first, second):
        row = state(contact_id)
        assert (row.contact_status, row.outbox_status, row.attempts) == ("dead", "dead", 3)
        assert row.contact_error and row.outbox_error
    assert run_workers(1).claimed == 0  # dead letters stay put

    assert retry_dead_letters("first-campaign") == 1
    row = state(first)
    assert (row.contact_status, row.outbox_status, row.attempts) == ("queued", "pending", 0)
    assert state(second).outbox_status == "dead"
    assert retry_dead_letters(None) == 1
    assert retry_dead_letters(None) == 0

    smtp_idle.start()
    assert run_workers(1).sent == 2
    assert {state(i).contact_status for i in (first, second)} == {"sent"}
    assert set(smtp_idle.handler.per_message_id().values()) == {1}


def test_permanent_recipient_refusal_bounces_without_retry(
    app: Flask, smtp_server: SMTPServer
) -> None:
    use(app, smtp_server)
    smtp_server.handler.refuse["gone@legislature.example.gov"] = (
        "550 5.1.1 <gone@legislature.example.gov>: Recipient address rejected"
    )
    smtp_server.handler.refuse["busy@legislature.example.gov"] = "450 4.2.1 Mailbox busy"
    gone, busy, fine = queue_specs(
        [
            ContactSpec(target_email="gone@legislature.example.gov"),
            ContactSpec(target_email="busy@legislature.example.gov"),
            ContactSpec(target_email="fine@legislature.example.gov"),
        ]
    )
    report = run_workers(1)
    assert (report.bounced, report.retrying, report.sent) == (1, 1, 1)
    row = state(gone)
    assert (row.contact_status, row.outbox_status, row.attempts) == ("bounced", "dead", 1)
    assert "550" in (row.contact_error or "")
    row = state(busy)
    assert (row.contact_status, row.outbox_status) == ("failed", "pending")
    assert "450" in (row.contact_error or "")
    assert state(fine).contact_status == "sent"
    make_all_due()
    smtp_server.handler.refuse.pop("busy@legislature.example.gov")
    report = run_workers(1)
    assert (report.claimed, report.sent) == (1, 1)  # the bounce is not tried again
    assert state(gone).contact_status == "bounced"
    assert [item.rcpt_tos for item in smtp_server.received] == [
        ("fine@legislature.example.gov",),
        ("busy@legislature.example.gov",),
    ]


EVIL = "evil.example"
INJECTION_SPECS = [
    ContactSpec(
        target_email="a@legislature.example.gov",
        target_name=f"Rep A\r\nBcc: t1@{EVIL}",
        name=f"Jane\r\nBcc: n1@{EVIL}",
        email=f"jane@example.com\r\nBcc: e1@{EVIL}",
        subject=f"Hi\r\nBcc: s1@{EVIL}\r\nX-Injected: yes",
    ),
    ContactSpec(
        target_email="b@legislature.example.gov",
        email=f"jane@example.com, e2@{EVIL}",
        name=f"undisclosed: n2@{EVIL}, m2@{EVIL};",
        subject="=?utf-8?q?Bcc=3A_s2=40evil=2Eexample?=",
    ),
    ContactSpec(
        target_email="c@legislature.example.gov",
        target_name="José Álvarez",
        name="Zoë Ñandú 山田太郎",
        email=f"Jane <e3@{EVIL}>",
        subject="Überprüfung ✓\u2028Bcc: s3@" + EVIL,
    ),
    ContactSpec(
        target_email="d@legislature.example.gov",
        # As long as the columns allow (build_message's own tests use 1500+ characters).
        target_name="T" * 200,
        name="Ñ" * 200,
        subject="S" * 150 + " ü" * 75,
        body=f"Hello\r\n.\r\nMAIL FROM:<x@{EVIL}>\r\nRCPT TO:<b1@{EVIL}>\r\nDATA\r\n" + "z" * 5000,
    ),
    ContactSpec(target_email=f"e@legislature.example.gov\r\nBcc: r1@{EVIL}"),
    ContactSpec(target_email=f"f@legislature.example.gov, r2@{EVIL}"),
    ContactSpec(target_email=f"Rep F <r3@{EVIL}>"),
]


def test_header_injection_corpus_never_adds_recipients_or_headers(
    app: Flask, smtp_server: SMTPServer
) -> None:
    use(app, smtp_server)
    ids = queue_specs(INJECTION_SPECS)
    report = run_workers(1)
    assert (report.sent, report.dead) == (4, 3)
    by_target = {item.rcpt_tos: item for item in smtp_server.received}
    assert set(by_target) == {(f"{c}@legislature.example.gov",) for c in "abcd"}
    for (target,), item in by_target.items():
        assert item.mail_from == MAIL_FROM
        message = item.message
        assert {name.lower() for name in message.keys()} <= ALLOWED_HEADERS
        assert [a.addr_spec for a in message["To"].addresses] == [target]
        assert [a.addr_spec for a in message["From"].addresses] == [MAIL_FROM]
        for header in RECIPIENT_HEADERS[1:]:
            assert message[header] is None
        reply_to = message["Reply-To"]
        if reply_to is not None:
            assert [a.addr_spec for a in reply_to.addresses] == ["jane.voter@example.com"]
        head = item.content.split(b"\r\n\r\n", 1)[0]
        assert all(len(line) <= 998 for line in item.content.split(b"\r\n"))
        assert EVIL.encode() not in b"".join(
            line for line in head.split(b"\r\n") if line.lower().startswith(b"reply-to")
        )
    assert by_target[("a@legislature.example.gov",)].message["Reply-To"] is None
    assert by_target[("b@legislature.example.gov",)].message["Reply-To"] is None
    assert by_target[("c@legislature.example.gov",)].message["Reply-To"] is None
    assert by_target[("d@legislature.example.gov",)].message["Reply-To"] is not None
    body = by_target[("d@legislature.example.gov",)].message.get_content()
    assert f"RCPT TO:<b1@{EVIL}>" in body  # delivered as text, not as SMTP commands
    for contact_id in ids[4:]:
        row = state(contact_id)
        assert (row.contact_status, row.outbox_status) == ("dead", "dead")
        assert "recipient" in (row.contact_error or "")


def test_rows_with_nothing_to_send_do_not_stop_the_batch(
    app: Flask, smtp_server: SMTPServer
) -> None:
    use(app, smtp_server)
    no_address, call, good = queue_specs(
        [
            ContactSpec(target_email=None),
            ContactSpec(target_email="call@legislature.example.gov"),
            ContactSpec(target_email="good@legislature.example.gov"),
        ]
    )
    db.session.execute(sa.update(Contact).where(Contact.id == call).values(channel="call"))
    db.session.commit()
    report = run_workers(1)
    assert (report.claimed, report.sent, report.dead) == (3, 1, 2)
    assert state(good).contact_status == "sent"
    row = state(no_address)
    assert (row.contact_status, row.outbox_status) == ("dead", "dead")
    assert "recipient" in (row.outbox_error or "")
    row = state(call)  # only email contacts are mailed
    assert (row.contact_status, row.outbox_status) == ("dead", "dead")
    assert row.outbox_error == NOTHING_TO_SEND
    assert [item.rcpt_tos for item in smtp_server.received] == [("good@legislature.example.gov",)]


def test_log_mode_writes_a_file_and_opens_no_connection(
    app: Flask, smtp_server: SMTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(app, smtp_server)  # a live server that must receive nothing
    app.config["DELIVERY_MODE"] = "log"

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("log mode opened an SMTP connection")

    monkeypatch.setattr(smtplib.SMTP, "connect", no_network)
    [contact_id] = queue_specs(
        [ContactSpec(target_email="ortiz@legislature.example.gov", subject="Logged ✓")]
    )
    report = run_workers(1)
    assert (report.logged, report.sent) == (1, 0)
    row = state(contact_id)
    assert (row.contact_status, row.outbox_status, row.attempts) == ("logged", "sent", 1)
    assert smtp_server.received == [] and smtp_server.handler.connections == 0
    outbox_id = db.session.scalar(
        sa.select(OutboxMessage.id).where(OutboxMessage.contact_id == contact_id)
    )
    path = Path(app.config["MAIL_LOG_DIR"]) / f"contact-{outbox_id}.eml"
    text = path.read_bytes()
    from email import message_from_bytes, policy

    message = message_from_bytes(text, policy=policy.default)
    assert message["Message-ID"].strip() == row.message_id
    assert message["To"].addresses[0].addr_spec == "ortiz@legislature.example.gov"
    assert message["Reply-To"].addresses[0].addr_spec == "jane.voter@example.com"
    assert str(message["Subject"]) == "Logged ✓"
    assert "Please protect every child." in message.get_content()


def test_redirect_mode_sends_only_to_redirect_to(app: Flask, smtp_server: SMTPServer) -> None:
    use(app, smtp_server)
    app.config.update(DELIVERY_MODE="redirect", REDIRECT_TO="qa@speakup.example.org")
    ids = queue_contacts(2)
    assert run_workers(1).sent == 2
    assert [item.rcpt_tos for item in smtp_server.received] == [("qa@speakup.example.org",)] * 2
    originals = set()
    for item in smtp_server.received:
        message = item.message
        assert [a.addr_spec for a in message["To"].addresses] == ["qa@speakup.example.org"]
        original = str(message["X-Original-To"])
        assert original.endswith("@legislature.example.gov")
        assert original in message.get_content().splitlines()[0]
        originals.add(original)
    assert originals == {"rep0@legislature.example.gov", "rep1@legislature.example.gov"}
    assert {state(i).contact_status for i in ids} == {"sent"}


def test_redirect_mode_without_a_valid_address_claims_nothing(
    app: Flask, smtp_server: SMTPServer
) -> None:
    use(app, smtp_server)
    app.config.update(DELIVERY_MODE="redirect", REDIRECT_TO="qa@example.org, rep@example.org")
    [contact_id] = queue_contacts(1)
    with pytest.raises(worker_module.DeliveryConfigError):
        run_workers(1)
    assert state(contact_id).outbox_status == "pending"
    assert smtp_server.received == []


def test_backoff_doubles_with_jitter() -> None:
    for attempts, base in ((1, 30.0), (2, 60.0), (3, 120.0), (6, 960.0)):
        delay = backoff_seconds(attempts, 30.0)
        assert base <= delay <= base * 1.25
    assert backoff_seconds(50, 30.0) <= 24 * 3600 * 1.25
    assert backoff_seconds(3, 0.0) == 0.0


def test_simultaneous_claims_never_overlap(app: Flask) -> None:
    """Four workers claim at the same instant, over and over: every row has one owner."""
    ids = queue_contacts(40)
    claims: list[tuple[str, tuple[int, ...]]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)
    lock = threading.Lock()

    def work(name: str) -> None:
        try:
            with app.app_context():
                worker = Worker(name, lease_seconds=600)
                for _ in range(4):
                    barrier.wait(timeout=20)
                    claim = worker.claim(3)
                    with lock:
                        claims.append((claim.token, claim.outbox_ids))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"c{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    claimed = [outbox_id for _token, outbox_ids in claims for outbox_id in outbox_ids]
    assert len(claimed) == len(set(claimed)) == 40  # 16 claims of up to 3 rows: all 40 rows
    owners = dict(
        db.session.execute(sa.select(OutboxMessage.id, OutboxMessage.claimed_by)).tuples().all()
    )
    for token, outbox_ids in claims:
        assert all(owners[outbox_id] == token for outbox_id in outbox_ids)
    assert {state(i).attempts for i in ids} == {1}


def test_retry_skips_dead_letters_of_anonymised_people(app: Flask, smtp_idle: SMTPServer) -> None:
    """After retention removed a person's data, their message has no text left to send."""
    use(app, smtp_idle)
    app.config["DELIVERY_BACKOFF_SECONDS"] = 0.0
    kept, anonymised = queue_contacts(2)
    for _ in range(3):
        run_workers(1)
    assert {state(i).outbox_status for i in (kept, anonymised)} == {"dead"}
    contact = db.session.get(Contact, anonymised)
    assert contact is not None
    contact.action.constituent.anonymised_at = utcnow()
    db.session.commit()
    assert retry_dead_letters(None) == 1
    assert state(kept).outbox_status == "pending"
    assert state(anonymised).outbox_status == "dead"
