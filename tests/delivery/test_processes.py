"""``advocacy deliver`` as real processes against a real SMTP server (aiosmtpd).

A worker is SIGKILLed in the middle of a batch, at a point the SMTP server chooses (it holds
one message at RCPT TO, or after receiving its content), so the kill lands mid-batch every
time. A second worker then runs once the first one's lease has run out.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from advocacy.dbtypes import utcnow
from advocacy.delivery.models import OutboxMessage
from advocacy.delivery.worker import UNCONFIRMED_ERROR
from advocacy.extensions import db

from .conftest import MAIL_FROM, Gate, SMTPServer
from .factory import queue_contacts, state

ADVOCACY = Path(sys.executable).with_name("advocacy")
WAIT = 60.0  # a safety net for a hung process, not a measurement


@pytest.fixture
def worker_env(app: Flask, smtp_server: SMTPServer, tmp_path: Path) -> dict[str, str]:
    if not ADVOCACY.exists():
        pytest.fail(f"the console script {ADVOCACY} is missing (pip install -e .)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADVOCACY_")}
    env.update(
        {
            "ADVOCACY_DATABASE_URL": str(app.config["DATABASE_URL"]),
            "ADVOCACY_INSTANCE_DIR": str(tmp_path / "worker-instance"),
            "ADVOCACY_SECRET_KEY": "worker-test",
            "ADVOCACY_CAMPAIGNS_DIR": str(app.config["CAMPAIGNS_DIR"]),
            "ADVOCACY_DELIVERY_MODE": "smtp",
            "ADVOCACY_SMTP_URL": f"smtp://127.0.0.1:{smtp_server.port}",
            "ADVOCACY_MAIL_FROM": MAIL_FROM,
        }
    )
    return env


def deliver(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(ADVOCACY), "deliver", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result


def kill_at(env: dict[str, str], gate: Gate) -> None:
    """Start a worker (lease 3 s), SIGKILL it once the server holds ``gate``'s message."""
    worker = subprocess.Popen(
        [str(ADVOCACY), "deliver", "--once", "--lease", "3", "--name", "doomed"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        reached = gate.reached.wait(timeout=WAIT)
    finally:
        worker.kill()  # SIGKILL: no cleanup, no outcome recorded
        _out, err = worker.communicate(timeout=WAIT)
        gate.release.set()
    assert reached, err
    assert worker.returncode == -signal.SIGKILL


def outbox_rows() -> dict[int, OutboxMessage]:
    db.session.expire_all()
    rows = {row.contact_id: row for row in db.session.scalars(sa.select(OutboxMessage))}
    db.session.commit()
    return rows


def wait_for_lease_end() -> None:
    """Until no claim is still valid (the killed worker's lease has run out)."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        until = db.session.scalar(
            sa.select(sa.func.max(OutboxMessage.claimed_until)).where(
                OutboxMessage.status == "sending"
            )
        )
        db.session.commit()
        if until is None or until < utcnow():
            return
        time.sleep(min(max((until - utcnow()).total_seconds(), 0.0) + 0.05, 1.0))
    pytest.fail("the killed worker's lease never ran out")


def test_worker_killed_during_data_nothing_lost_nothing_sent_twice(
    app: Flask, smtp_server: SMTPServer, worker_env: dict[str, str]
) -> None:
    ids = queue_contacts(4)  # rep0 ... rep3, sent in that order
    # The server keeps rep1's message (it is delivered) but does not answer before the kill.
    gate = Gate("rep1@legislature.example.gov")
    smtp_server.handler.hold_data = gate
    kill_at(worker_env, gate)
    smtp_server.handler.hold_data = None
    rows = outbox_rows()
    assert rows[ids[0]].status == "sent"
    assert rows[ids[1]].status == "sending" and rows[ids[1]].send_started_at is not None
    for contact_id in ids[2:]:  # claimed by the dead worker, never started
        assert rows[contact_id].status == "sending" and rows[contact_id].send_started_at is None

    wait_for_lease_end()
    result = deliver(worker_env, "--once", "--name", "rescuer")
    assert "sent 2" in result.stdout and "unconfirmed (check, then `deliver retry`) 1" in (
        result.stdout
    )
    counts = smtp_server.handler.per_message_id()
    message_ids = [state(i).message_id for i in ids]
    assert sorted(counts) == sorted(message_ids)  # every contact reached the server ...
    assert set(counts.values()) == {1}  # ... exactly once
    assert [state(i).contact_status for i in ids] == ["sent", "dead", "sent", "sent"]
    held = state(ids[1])
    assert (held.outbox_status, held.outbox_error, held.contact_error) == (
        "dead",
        UNCONFIRMED_ERROR,
        UNCONFIRMED_ERROR,
    )
    assert [state(i).attempts for i in ids] == [1, 2, 2, 2]
    assert "may have been delivered" in deliver(worker_env, "status").stdout
    assert deliver(worker_env, "--once").stdout.count("claimed 0") == 1  # not retried alone

    # Sending it again is the operator's decision.
    assert "requeued 1 dead letter(s)" in deliver(worker_env, "retry").stdout
    assert "sent 1" in deliver(worker_env, "--once").stdout
    assert smtp_server.handler.per_message_id()[message_ids[1]] == 2
    assert state(ids[1]).contact_status == "sent"
    assert outbox_rows()[ids[1]].send_started_at is None


def test_worker_killed_before_data_rows_are_sent_by_the_next_worker(
    app: Flask, smtp_server: SMTPServer, worker_env: dict[str, str]
) -> None:
    ids = queue_contacts(4)
    gate = Gate("rep1@legislature.example.gov")
    smtp_server.handler.hold_rcpt = gate  # held at RCPT TO: before DATA
    kill_at(worker_env, gate)
    smtp_server.handler.hold_rcpt = None
    rows = outbox_rows()
    assert rows[ids[0]].status == "sent"
    assert all(rows[i].status == "sending" and rows[i].send_started_at is None for i in ids[1:])
    assert len(smtp_server.received) == 1

    wait_for_lease_end()
    result = deliver(worker_env, "--once", "--name", "rescuer")
    assert "sent 3" in result.stdout and "unconfirmed (check, then `deliver retry`) 0" in (
        result.stdout
    )
    counts = smtp_server.handler.per_message_id()
    assert sorted(counts) == sorted(state(i).message_id for i in ids)
    assert set(counts.values()) == {1}
    assert {state(i).contact_status for i in ids} == {"sent"}
    assert [state(i).attempts for i in ids] == [1, 2, 2, 2]


def test_deliver_loop_stops_on_sigterm(
    app: Flask, smtp_server: SMTPServer, worker_env: dict[str, str]
) -> None:
    [contact_id] = queue_contacts(1)
    looper = subprocess.Popen(
        [str(ADVOCACY), "deliver", "--loop", "--interval", "0.1", "--name", "looper"],
        env=worker_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + WAIT
        while not smtp_server.received and looper.poll() is None:
            if time.monotonic() > deadline:
                pytest.fail("the looping worker delivered nothing")
            time.sleep(0.05)
        assert looper.poll() is None  # still looping after delivering
        looper.send_signal(signal.SIGTERM)
        out, err = looper.communicate(timeout=WAIT)
    finally:
        if looper.poll() is None:
            looper.kill()
            looper.communicate()
    assert looper.returncode == 0, err
    assert f"signal {int(signal.SIGTERM)}: stopping after this batch" in err
    assert "sent 1" in out
    assert state(contact_id).contact_status == "sent"


def test_threads_of_one_process_deliver_each_message_once(
    app: Flask, smtp_server: SMTPServer, worker_env: dict[str, str]
) -> None:
    smtp_server.handler.delay = 0.05  # each message waits on the server: threads overlap
    ids = queue_contacts(24)
    result = deliver(worker_env, "--once", "--threads", "3", "--batch", "2")
    assert "claimed 24: sent 24" in result.stdout
    assert smtp_server.handler.most_in_data_at_once >= 2  # threads sent side by side
    counts = smtp_server.handler.per_message_id()
    assert sorted(counts) == sorted(state(i).message_id for i in ids)
    assert set(counts.values()) == {1}
    assert {state(i).contact_status for i in ids} == {"sent"}
    assert [state(i).attempts for i in ids] == [1] * 24


def test_bad_delivery_settings_fail_the_threaded_command_with_a_message(
    app: Flask, worker_env: dict[str, str]
) -> None:
    queue_contacts(3)
    env = {**worker_env, "ADVOCACY_MAIL_FROM": "not an address"}
    result = subprocess.run(
        [str(ADVOCACY), "deliver", "--once", "--threads", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )
    assert result.returncode != 0
    assert "MAIL_FROM must be one plain email address" in result.stderr
    assert "Traceback" not in result.stderr
