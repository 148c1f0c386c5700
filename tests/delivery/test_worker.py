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
from advocacy.delivery.mailer import MessageData, PreparedMessage
from advocacy.delivery.models import OutboxMessage
from advocacy.delivery.outbox import retry_dead_letters
from advocacy.delivery.worker import Worker, backoff_seconds, deliver_pending
from advocacy.extensions import db

from .conftest import MAIL_FROM, SMTPServer
from .factory import ContactSpec, expire_leases, make_all_due, queue_contacts, queue_specs, state
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
    report = deliver_pending()
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
        assert message["Message-ID"] == row.message_id
        assert (row.contact_status, row.outbox_status, row.attempts) == ("sent", "sent", 1)
        assert row.sent_at is not None and row.claimed_by is None
    assert smtp_server.handler.connections == 1  # one connection for the batch


def test_smtp_down_keeps_messages_queued_then_delivers_each_exactly_once(
    app: Flask, smtp_idle: SMTPServer
) -> None:
    use(app, smtp_idle)  # nothing listens on this port yet
    ids = queue_contacts(3)
    before = utcnow()
    report = deliver_pending()
    assert (report.claimed, report.retrying, report.sent) == (3, 3, 0)
    message_ids = set()
    for contact_id in ids:
        row = state(contact_id)
        assert (row.contact_status, row.outbox_status, row.attempts) == ("failed", "pending", 1)
        assert "Connection" in (row.contact_error or "")
        assert row.outbox_error == row.contact_error
        assert row.next_attempt_at >= before + timedelta(seconds=30)  # backoff
        message_ids.add(row.message_id)
    assert deliver_pending().claimed == 0  # not due yet: nothing is retried early

    smtp_idle.start()
    make_all_due()
    report = deliver_pending()
    assert (report.claimed, report.sent) == (3, 3)
    assert deliver_pending().claimed == 0
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
    assert deliver_pending().claimed == 0
    counts = smtp_server.handler.per_message_id()
    assert sorted(counts) == sorted(state(i).message_id for i in ids)
    assert set(counts.values()) == {1}
    assert {state(i).contact_status for i in ids} == {"sent"}


def test_a_stale_claim_cannot_overwrite_the_new_owners_result(
    app: Flask, smtp_server: SMTPServer
) -> None:
    use(app, smtp_server)
    [contact_id] = queue_contacts(1)
    slow = Worker("slow", lease_seconds=120)
    claim = slow.claim(1)
    jobs = slow.load(claim)
    expire_leases()
    assert deliver_pending().sent == 1
    report = worker_module.BatchReport()
    outcome = worker_module.Outcome("retry", "late failure")
    assert slow.record(claim, jobs[0], outcome, report) is False
    assert report.lost == 1
    row = state(contact_id)
    assert (row.contact_status, row.outbox_status, row.contact_error) == ("sent", "sent", None)


def test_per_message_writes_commit_on_their_own_one_statement_each_on_postgresql(
    app: Flask, smtp_server: SMTPServer
) -> None:
    """On PostgreSQL the send marker is one statement committed on its own, and so is the
    outcome (the outbox row and the contact in one statement): no BEGIN or COMMIT round trips
    per message. SQLite (no round trips) writes each in a transaction: the marker's one UPDATE,
    the outcome's two."""
    use(app, smtp_server)
    ids = queue_contacts(3)
    sent: list[tuple[str, str | None]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        sent.append((statement.split()[0], conn.get_execution_options().get("isolation_level")))

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert deliver_pending().sent == 3
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    autocommitted = [verb for verb, level in sent if level == "AUTOCOMMIT"]
    if db.engine.dialect.name == "postgresql":
        assert autocommitted == ["UPDATE", "WITH"] * 3
    else:
        assert autocommitted == []
        in_transaction = [verb for verb, level in sent if level != "AUTOCOMMIT"]
        assert in_transaction.count("UPDATE") == 1 + 3 * 3  # the claim, then three a message
    assert {state(i).contact_status for i in ids} == {"sent"}
    assert {state(i).outbox_status for i in ids} == {"sent"}


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
    assert deliver_pending().dead == 1
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
    assert deliver_pending().claimed == 0
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
        report = deliver_pending()
        assert report.retrying == 2
        assert {state(i).contact_status for i in (first, second)} == {"failed"}
        assert {state(i).attempts for i in (first, second)} == {attempt}
    report = deliver_pending()
    assert report.dead == 2
    for contact_id in (first, second):
        row = state(contact_id)
        assert (row.contact_status, row.outbox_status, row.attempts) == ("dead", "dead", 3)
        assert row.contact_error and row.outbox_error
    assert deliver_pending().claimed == 0  # dead letters stay put

    assert retry_dead_letters("first-campaign") == 1
    row = state(first)
    assert (row.contact_status, row.outbox_status, row.attempts) == ("queued", "pending", 0)
    assert state(second).outbox_status == "dead"
    assert retry_dead_letters(None) == 1
    assert retry_dead_letters(None) == 0

    smtp_idle.start()
    assert deliver_pending().sent == 2
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
    report = deliver_pending()
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
    report = deliver_pending()
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
    report = deliver_pending()
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


def test_bad_data_in_one_row_does_not_stop_the_batch(
    app: Flask, smtp_server: SMTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(app, smtp_server)
    no_address, broken, call, good = queue_specs(
        [
            ContactSpec(target_email=None),
            ContactSpec(target_email="broken@legislature.example.gov"),
            ContactSpec(target_email="call@legislature.example.gov"),
            ContactSpec(target_email="good@legislature.example.gov"),
        ]
    )
    db.session.execute(sa.update(Contact).where(Contact.id == call).values(channel="call"))
    db.session.commit()
    real_build = worker_module.build_message

    def build(data: MessageData, **kwargs: object) -> PreparedMessage:
        if data.contact_id == broken:
            raise RuntimeError("unexpected data problem")
        return real_build(data, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(worker_module, "build_message", build)
    report = deliver_pending()
    assert (report.claimed, report.sent, report.dead, report.retrying) == (4, 1, 2, 1)
    assert state(good).contact_status == "sent"
    assert (state(no_address).contact_status, state(no_address).outbox_status) == ("dead", "dead")
    assert (state(call).contact_status, state(call).outbox_status) == ("dead", "dead")
    row = state(broken)
    assert (row.contact_status, row.outbox_status) == ("failed", "pending")
    assert row.contact_error == "RuntimeError: unexpected data problem"
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
    report = deliver_pending()
    assert (report.logged, report.sent) == (1, 0)
    row = state(contact_id)
    assert (row.contact_status, row.outbox_status, row.attempts) == ("logged", "sent", 1)
    assert smtp_server.received == [] and smtp_server.handler.connections == 0
    path = Path(app.config["MAIL_LOG_DIR"]) / f"contact-{contact_id}.eml"
    text = path.read_bytes()
    from email import message_from_bytes, policy

    message = message_from_bytes(text, policy=policy.default)
    assert message["Message-ID"] == row.message_id
    assert message["To"].addresses[0].addr_spec == "ortiz@legislature.example.gov"
    assert message["Reply-To"].addresses[0].addr_spec == "jane.voter@example.com"
    assert str(message["Subject"]) == "Logged ✓"
    assert "Please protect every child." in message.get_content()


def test_redirect_mode_sends_only_to_redirect_to(app: Flask, smtp_server: SMTPServer) -> None:
    use(app, smtp_server)
    app.config.update(DELIVERY_MODE="redirect", REDIRECT_TO="qa@speakup.example.org")
    ids = queue_contacts(2)
    assert deliver_pending().sent == 2
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
        deliver_pending()
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
        deliver_pending()
    assert {state(i).outbox_status for i in (kept, anonymised)} == {"dead"}
    contact = db.session.get(Contact, anonymised)
    assert contact is not None
    contact.action.constituent.anonymised_at = utcnow()
    db.session.commit()
    assert retry_dead_letters(None) == 1
    assert state(kept).outbox_status == "pending"
    assert state(anonymised).outbox_status == "dead"


def test_an_error_in_one_delivery_thread_is_raised_by_run_workers(
    app: Flask, smtp_server: SMTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(app, smtp_server)
    queue_contacts(4)
    real_claim = Worker.claim

    def claim(self: Worker, limit: int) -> worker_module.Claim:
        if self.name.endswith("/2"):
            raise RuntimeError("database went away")
        return real_claim(self, limit)

    monkeypatch.setattr(Worker, "claim", claim)
    with pytest.raises(RuntimeError, match="database went away"):
        worker_module.run_workers(2, "pair", batch=1)
