"""The read side of the transactional outbox: claim due rows, deliver, record the outcome.

Claiming is safe with any number of workers (threads, processes, machines):

* PostgreSQL (and other servers): ``SELECT id ... FOR UPDATE SKIP LOCKED LIMIT n`` then
  ``UPDATE ... SET status='sending', claimed_by=<token>, claimed_until=<lease>`` in one short
  transaction. Concurrent workers skip each other's locked rows instead of waiting.
* SQLite: one statement, ``UPDATE outbox SET ... WHERE id IN (SELECT id ... LIMIT n) AND
  <still due>``, then the rows are read back by the claim token. SQLite runs one writer at a
  time and the statement takes the write lock before it reads, so two claims never overlap.

A claim is a lease. A worker that dies mid-batch leaves rows in ``sending``; once
``claimed_until`` has passed they are due again and another worker takes them. Each outcome
is written in its own short transaction, guarded by the claim token, so a worker whose lease
was taken over cannot overwrite the new owner's result. No transaction is open while a
message is being sent.

Delivery is at-least-once: a worker that sends and then dies before recording it will have
the message sent again after the lease expires. The Message-ID stays the same, so a
receiving system can recognise the repeat.
"""

from __future__ import annotations

import logging
import os
import random
import smtplib
import socket
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.engine import CursorResult

from ..actions.models import Action, Constituent, Contact
from ..config import DELIVERY_MODES
from ..dbtypes import utcnow
from ..extensions import db
from .mailer import (
    InvalidMessage,
    MessageData,
    SMTPSender,
    SMTPSettings,
    build_message,
    describe_error,
    normalise_address,
    permanent_refusal,
    write_log,
)
from .models import OutboxMessage

log = logging.getLogger(__name__)

DEFAULT_BATCH = 50
DEFAULT_INTERVAL = 5.0
DEFAULT_LEASE_SECONDS = 300.0
MAX_BACKOFF_SECONDS = 24 * 3600.0
_random = random.SystemRandom()


class DeliveryConfigError(RuntimeError):
    """The delivery settings cannot work; nothing is claimed until they are fixed."""


@dataclass(frozen=True)
class Job:
    outbox_id: int
    contact_id: int
    attempts: int
    channel: str | None
    data: MessageData


@dataclass(frozen=True)
class Claim:
    token: str
    until: datetime
    outbox_ids: tuple[int, ...]


@dataclass(frozen=True)
class Outcome:
    kind: str  # sent | logged | retry | bounced | dead
    error: str | None = None


@dataclass
class BatchReport:
    claimed: int = 0
    sent: int = 0
    logged: int = 0
    retrying: int = 0
    bounced: int = 0
    dead: int = 0
    released: int = 0
    lost: int = 0
    batches: int = field(default=0)

    def add(self, other: BatchReport) -> None:
        for item in fields(self):
            setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))

    def summary(self) -> str:
        return (
            f"claimed {self.claimed}: sent {self.sent}, logged {self.logged}, "
            f"retrying {self.retrying}, bounced {self.bounced}, dead {self.dead}, "
            f"released {self.released}, unrecorded {self.lost}"
        )


def default_worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:60]


def due_condition(now: datetime) -> ColumnElement[bool]:
    """Rows a worker may take: due and waiting, or claimed by a worker whose lease ran out."""
    return or_(
        and_(
            OutboxMessage.status.in_(("pending", "failed")),
            OutboxMessage.next_attempt_at <= now,
        ),
        and_(
            OutboxMessage.status == "sending",
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
        ),
    )


def backoff_seconds(attempts: int, base: float) -> float:
    """Delay before the next try: ``base`` doubled per failed try, plus up to 25% jitter."""
    if base <= 0:
        return 0.0
    delay = min(base * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)
    return delay * _random.uniform(1.0, 1.25)


def check_configuration(config: Any) -> None:
    mode = config.get("DELIVERY_MODE")
    if mode not in DELIVERY_MODES:
        raise DeliveryConfigError(f"DELIVERY_MODE must be one of {', '.join(DELIVERY_MODES)}")
    if normalise_address(config.get("MAIL_FROM")) is None:
        raise DeliveryConfigError("MAIL_FROM must be one plain email address")
    if mode == "redirect" and normalise_address(config.get("REDIRECT_TO")) is None:
        raise DeliveryConfigError("DELIVERY_MODE=redirect needs a valid REDIRECT_TO address")


def _rowcount(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount)


class Worker:
    """Delivers outbox rows. Use inside an application context."""

    def __init__(self, name: str | None = None, *, lease_seconds: float | None = None) -> None:
        config = current_app.config
        self.name = (name or default_worker_name())[:60]
        self.lease_seconds = float(
            lease_seconds or config.get("DELIVERY_LEASE_SECONDS") or DEFAULT_LEASE_SECONDS
        )

    # -- claiming ------------------------------------------------------------------------

    def claim(self, limit: int) -> Claim:
        """Take up to ``limit`` due rows for this worker (committed before returning)."""
        now = utcnow()
        token = f"{self.name}/{uuid.uuid4().hex[:12]}"
        until = now + timedelta(seconds=self.lease_seconds)
        due = due_condition(now)
        order = (OutboxMessage.next_attempt_at, OutboxMessage.id)
        values: dict[str, Any] = {
            "status": "sending",
            "claimed_by": token,
            "claimed_until": until,
            "attempts": OutboxMessage.attempts + 1,
            "updated_at": now,
        }
        session = db.session
        try:
            if session.get_bind().dialect.name == "sqlite":
                chosen = select(OutboxMessage.id).where(due).order_by(*order).limit(limit)
                session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(chosen), due)
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
                session.commit()
                ids = list(
                    session.scalars(
                        select(OutboxMessage.id)
                        .where(OutboxMessage.claimed_by == token, OutboxMessage.status == "sending")
                        .order_by(*order)
                    )
                )
                session.commit()
            else:
                ids = list(
                    session.scalars(
                        select(OutboxMessage.id)
                        .where(due)
                        .order_by(*order)
                        .limit(limit)
                        .with_for_update(skip_locked=True)
                    )
                )
                if ids:
                    session.execute(
                        update(OutboxMessage)
                        .where(OutboxMessage.id.in_(ids))
                        .values(**values)
                        .execution_options(synchronize_session=False)
                    )
                session.commit()
        except BaseException:
            session.rollback()
            raise
        return Claim(token=token, until=until, outbox_ids=tuple(ids))

    def load(self, claim: Claim) -> list[Job]:
        """The claimed rows with what their messages need, as plain values."""
        if not claim.outbox_ids:
            return []
        rows = db.session.execute(
            select(
                OutboxMessage.id,
                OutboxMessage.contact_id,
                OutboxMessage.attempts,
                OutboxMessage.message_id,
                Contact.channel,
                Contact.target_name,
                Contact.target_email,
                Contact.subject,
                Contact.body,
                Constituent.name,
                Constituent.email,
            )
            .select_from(OutboxMessage)
            .outerjoin(Contact, Contact.id == OutboxMessage.contact_id)
            .outerjoin(Action, Action.id == Contact.action_id)
            .outerjoin(Constituent, Constituent.id == Action.constituent_id)
            .where(OutboxMessage.claimed_by == claim.token, OutboxMessage.status == "sending")
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        ).all()
        db.session.commit()  # end the read transaction before any network traffic
        return [
            Job(
                outbox_id=row[0],
                contact_id=row[1],
                attempts=row[2],
                channel=row[4],
                data=MessageData(
                    contact_id=row[1],
                    message_id=row[3],
                    target_name=row[5],
                    target_email=row[6],
                    subject=row[7],
                    body=row[8],
                    constituent_name=row[9],
                    constituent_email=row[10],
                ),
            )
            for row in rows
        ]

    # -- delivering ----------------------------------------------------------------------

    def run_batch(self, limit: int = DEFAULT_BATCH) -> BatchReport:
        """Claim up to ``limit`` due rows and deliver them."""
        check_configuration(current_app.config)
        claim = self.claim(limit)
        return self.process(claim)

    def process(self, claim: Claim) -> BatchReport:
        report = BatchReport(claimed=len(claim.outbox_ids), batches=1)
        if not claim.outbox_ids:
            return report
        config = current_app.config
        mode = config["DELIVERY_MODE"]
        settings = SMTPSettings.from_config(config)
        margin = timedelta(seconds=min(settings.timeout * 2 + 1, self.lease_seconds / 2))
        sender = SMTPSender(settings) if mode != "log" else None
        jobs = self.load(claim)
        try:
            for index, job in enumerate(jobs):
                if utcnow() + margin >= claim.until:
                    report.released += self.release(claim, [j.outbox_id for j in jobs[index:]])
                    break
                outcome = self.deliver(job, mode, sender)
                self.record(claim, job, outcome, report)
        finally:
            if sender is not None:
                sender.close()
        return report

    def deliver(self, job: Job, mode: str, sender: SMTPSender | None) -> Outcome:
        """Send (or log) one message. Never raises: every problem becomes an outcome."""
        config = current_app.config
        try:
            if job.attempts > int(config["DELIVERY_MAX_ATTEMPTS"]):
                return Outcome("dead", "delivery was interrupted too many times")
            if job.channel != "email":
                return Outcome("dead", f"not an email contact (channel {job.channel!r})")
            prepared = build_message(
                job.data,
                mode=mode,
                mail_from=config["MAIL_FROM"],
                site_name=config.get("SITE_NAME") or "",
                redirect_to=config.get("REDIRECT_TO") or "",
            )
            if mode == "log":
                write_log(prepared, config["MAIL_LOG_DIR"])
                return Outcome("logged")
            if sender is None:  # pragma: no cover - guarded by process()
                raise InvalidMessage("no SMTP sender")
            sender.send(prepared)
            return Outcome("sent")
        except InvalidMessage as exc:
            log.warning("outbox %s: cannot be delivered: %s", job.outbox_id, exc)
            return Outcome("dead", str(exc))
        except smtplib.SMTPRecipientsRefused as exc:
            error = describe_error(exc)
            log.warning("outbox %s: recipient refused: %s", job.outbox_id, error)
            return Outcome("bounced" if permanent_refusal(exc) else "retry", error)
        except Exception as exc:
            error = describe_error(exc)
            log.warning("outbox %s: delivery failed: %s", job.outbox_id, error)
            return Outcome("retry", error)

    def record(self, claim: Claim, job: Job, outcome: Outcome, report: BatchReport) -> bool:
        """Write one outcome in its own transaction. False if the lease was lost meanwhile."""
        config = current_app.config
        now = utcnow()
        kind = outcome.kind
        if kind == "retry" and job.attempts >= int(config["DELIVERY_MAX_ATTEMPTS"]):
            kind = "dead"
        outbox: dict[str, Any] = {"claimed_by": None, "claimed_until": None, "updated_at": now}
        contact: dict[str, Any]
        if kind in ("sent", "logged"):
            outbox.update(status="sent", last_error=None)
            contact = {"status": kind, "sent_at": now, "last_error": None}
        elif kind == "retry":
            delay = backoff_seconds(job.attempts, float(config["DELIVERY_BACKOFF_SECONDS"]))
            outbox.update(
                status="pending",
                next_attempt_at=now + timedelta(seconds=delay),
                last_error=outcome.error,
            )
            contact = {"status": "failed", "last_error": outcome.error}
        else:  # bounced | dead
            outbox.update(status="dead", last_error=outcome.error)
            contact = {"status": "bounced" if kind == "bounced" else "dead"}
            contact["last_error"] = outcome.error
        session = db.session
        try:
            result = session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == job.outbox_id,
                    OutboxMessage.claimed_by == claim.token,
                    OutboxMessage.status == "sending",
                )
                .values(**outbox)
                .execution_options(synchronize_session=False)
            )
            if _rowcount(result) != 1:
                session.rollback()
                log.warning(
                    "outbox %s: lease lost before its outcome (%s) was recorded",
                    job.outbox_id,
                    kind,
                )
                report.lost += 1
                return False
            session.execute(
                update(Contact)
                .where(Contact.id == job.contact_id)
                .values(**contact)
                .execution_options(synchronize_session=False)
            )
            session.commit()
        except Exception:
            session.rollback()
            log.exception("outbox %s: could not record outcome %s", job.outbox_id, kind)
            report.lost += 1
            return False
        counter = {"retry": "retrying"}.get(kind, kind)
        setattr(report, counter, getattr(report, counter) + 1)
        return True

    def release(self, claim: Claim, outbox_ids: Sequence[int]) -> int:
        """Give back claimed rows that were not tried (the lease is about to run out)."""
        if not outbox_ids:
            return 0
        session = db.session
        try:
            result = session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id.in_(list(outbox_ids)),
                    OutboxMessage.claimed_by == claim.token,
                    OutboxMessage.status == "sending",
                )
                .values(
                    status="pending",
                    claimed_by=None,
                    claimed_until=None,
                    attempts=OutboxMessage.attempts - 1,
                    updated_at=utcnow(),
                )
                .execution_options(synchronize_session=False)
            )
            session.commit()
        except Exception:
            session.rollback()
            log.exception("could not release %d claimed outbox rows", len(outbox_ids))
            return 0
        return _rowcount(result)

    # -- running ---------------------------------------------------------------------------

    def run(
        self,
        *,
        loop: bool = False,
        batch: int = DEFAULT_BATCH,
        interval: float = DEFAULT_INTERVAL,
        stop: threading.Event | None = None,
    ) -> BatchReport:
        """Deliver until nothing is due (``loop=False``) or until ``stop`` is set."""
        stop = stop or threading.Event()
        total = BatchReport()
        while not stop.is_set():
            try:
                report = self.run_batch(batch)
            except DeliveryConfigError:
                raise
            except Exception:
                if not loop:
                    raise
                db.session.rollback()
                log.exception("delivery batch failed; trying again in %.1fs", interval)
                stop.wait(interval)
                continue
            total.add(report)
            if report.claimed >= batch:
                continue  # a full batch: more may be waiting
            if not loop:
                break
            stop.wait(interval)
        return total


def deliver_pending(batch: int = DEFAULT_BATCH, name: str | None = None) -> BatchReport:
    """Deliver everything that is due now (one ``advocacy deliver --once``)."""
    return Worker(name).run(loop=False, batch=batch)
