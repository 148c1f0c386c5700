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

Nothing is sent twice by a crash. Just before the SMTP ``DATA`` command (after ``MAIL FROM``
and ``RCPT TO`` were accepted) the worker commits ``send_started_at`` on the row, guarded by
its claim token and unexpired lease; if that update finds the row no longer its own, the
message is abandoned before any of it is sent. The marker is cleared when the outcome is
recorded. So when a worker takes over a row from a dead worker:

* ``send_started_at`` is empty: the message never reached DATA and is sent normally;
* ``send_started_at`` is set: the dead worker was sending it and may well have delivered
  it, but never recorded the result. It is NOT sent again automatically: the outbox row is
  dead-lettered with ``last_error`` "delivery may have happened; check before retrying" and
  the contact marked ``dead``. Requeueing it (``advocacy deliver retry``) is an explicit
  operator decision, made after checking (for instance in the mail server's log, by its
  Message-ID) that it did not arrive.

The same applies when the connection fails after DATA began without the server's answer
(timeout, dropped connection). A definite answer is recorded as such: 2xx sent; 4xx to MAIL
FROM, RCPT TO or DATA retried with backoff; 5xx bounced (never retried). Messages stay the
same on every try (same Message-ID), so a receiving system can recognise a repeat.

Rows of kind ``confirmation`` (no contact) are the mail asking a constituent to confirm an
action (``actions/confirmation.py``). Their recipient is always the action's constituent (never
a target) and their text is built here from the action; their outcome is recorded on the outbox
row only. ``held`` rows are never due: they wait for that confirmation.
"""

from __future__ import annotations

import functools
import logging
import os
import random
import smtplib
import socket
import threading
import uuid
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import (
    ColumnElement,
    Select,
    Update,
    and_,
    bindparam,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection, CursorResult

from ..actions import confirmation
from ..actions.models import Action, Constituent, Contact
from ..campaigns.models import Campaign
from ..config import DELIVERY_MODES
from ..dbtypes import utcnow
from ..extensions import autocommit_view, db
from .mailer import (
    InvalidMessage,
    MessageData,
    SMTPSender,
    SMTPSettings,
    build_message,
    describe_error,
    normalise_address,
    permanent_refusal,
    permanent_response,
    write_log,
)
from .models import OutboxMessage

log = logging.getLogger(__name__)

DEFAULT_BATCH = 50
DEFAULT_INTERVAL = 5.0
DEFAULT_LEASE_SECONDS = 300.0
MAX_BACKOFF_SECONDS = 24 * 3600.0
UNCONFIRMED_ERROR = "delivery may have happened; check before retrying"
_random = random.SystemRandom()


class DeliveryConfigError(RuntimeError):
    """The delivery settings cannot work; nothing is claimed until they are fixed."""


class LeaseLost(RuntimeError):
    """The row is no longer this worker's (lease expired or taken over): do not send it."""


@dataclass(frozen=True)
class Job:
    outbox_id: int
    contact_id: int | None
    attempts: int
    channel: str | None
    data: MessageData
    send_started_at: datetime | None = None
    kind: str = "contact"


@dataclass(frozen=True)
class Claim:
    token: str
    until: datetime
    outbox_ids: tuple[int, ...]


@dataclass(frozen=True)
class Outcome:
    kind: str  # sent | logged | retry | bounced | dead | unconfirmed | lost
    error: str | None = None


@dataclass
class BatchReport:
    claimed: int = 0
    sent: int = 0
    logged: int = 0
    retrying: int = 0
    bounced: int = 0
    dead: int = 0
    unconfirmed: int = 0
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
            f"unconfirmed (check, then `deliver retry`) {self.unconfirmed}, "
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


# The per-message statements are built once per set of columns (SQLAlchemy then reuses their
# compiled form): building them anew for every message cost more than running them.
@functools.lru_cache(maxsize=32)
def _claimed_row_update(columns: tuple[str, ...], unexpired: bool = False) -> Update:
    """UPDATE outbox SET <columns> WHERE the row is still claimed by this worker's token."""
    table = OutboxMessage.__table__
    where = [
        table.c.id == bindparam("w_id"),
        table.c.claimed_by == bindparam("w_token"),
        table.c.status == "sending",
    ]
    if unexpired:
        where.append(table.c.claimed_until > bindparam("w_now"))
    return update(table).where(*where).values({c: bindparam(f"v_{c}") for c in columns})


def _claimed_row_params(
    claim: Claim, job: Job, values: dict[str, Any], now: datetime | None = None
) -> dict[str, Any]:
    return {"w_id": job.outbox_id, "w_token": claim.token, "w_now": now, **_set_params(values)}


def _set_params(values: dict[str, Any]) -> dict[str, Any]:
    """The parameters of the SET clause built by these statements (``v_<column>``)."""
    return {f"v_{name}": value for name, value in values.items()}


@functools.lru_cache(maxsize=32)
def _contact_update(columns: tuple[str, ...], prefix: str = "v_") -> Update:
    table = Contact.__table__
    return (
        update(table)
        .where(table.c.id == bindparam(f"{prefix}contact"))
        .values({c: bindparam(f"{prefix}{c}") for c in columns})
    )


@functools.lru_cache(maxsize=32)
def _outcome_statement(outbox_columns: tuple[str, ...], contact_columns: tuple[str, ...]) -> Select:
    """One statement for an outcome on PostgreSQL: the outbox row's UPDATE (guarded by the
    claim) and, only if it changed the row, the contact's (its values bound as ``c_<column>``).
    Selects how many outbox rows changed (1, or 0 when the lease was lost)."""
    outbox = OutboxMessage.__table__
    claimed = (
        _claimed_row_update(outbox_columns).returning(outbox.c.id).cte("claimed_outbox")
    )
    contact = _contact_update(contact_columns, "c_").where(select(claimed.c.id).exists())
    return select(select(func.count()).select_from(claimed).scalar_subquery()).add_cte(
        contact.cte("recorded_contact")
    )


def _committed_alone() -> AbstractContextManager[Connection]:
    """A connection for one statement that commits on its own: in autocommit mode on a
    database server (no BEGIN and COMMIT round trips), in a transaction of its own on SQLite
    (no round trips there, and a SQLite connection switched to autocommit runs a PRAGMA when
    it goes back to the pool)."""
    engine = db.engine
    if engine.dialect.name == "sqlite":
        return engine.begin()
    return autocommit_view(engine).connect()


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
                OutboxMessage.send_started_at,
                Contact.channel,
                Contact.target_name,
                Contact.target_email,
                Contact.subject,
                Contact.body,
                Constituent.name,
                Constituent.email,
                OutboxMessage.kind,
                Action.id,
                Action.submission_key,
                Action.confirm_by,
                Campaign.slug,
                Campaign.title,
            )
            .select_from(OutboxMessage)
            .outerjoin(Contact, Contact.id == OutboxMessage.contact_id)
            .outerjoin(
                Action, Action.id == func.coalesce(Contact.action_id, OutboxMessage.action_id)
            )
            .outerjoin(Constituent, Constituent.id == Action.constituent_id)
            .outerjoin(Campaign, Campaign.id == Action.campaign_id)
            .where(OutboxMessage.claimed_by == claim.token, OutboxMessage.status == "sending")
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        ).all()
        jobs = [self._job(row) for row in rows]
        db.session.commit()  # end the read transaction before any network traffic
        return jobs

    @staticmethod
    def _job(row: Any) -> Job:
        if row[12] != "confirmation":
            return Job(
                outbox_id=row[0],
                contact_id=row[1],
                attempts=row[2],
                channel=row[5],
                send_started_at=row[4],
                data=MessageData(
                    contact_id=row[1],
                    message_id=row[3],
                    target_name=row[6],
                    target_email=row[7],
                    subject=row[8],
                    body=row[9],
                    constituent_name=row[10],
                    constituent_email=row[11],
                ),
            )
        # The mail asking the constituent to confirm: to the constituent, from the site.
        subject = body = None
        if row[13] is not None:
            mail = confirmation.confirmation_mail(
                slug=row[16] or "",
                title=row[17] or "",
                name=row[10],
                action_id=row[13],
                submission_key=row[14],
                confirm_by=row[15],
            )
            subject, body = mail.subject, mail.body
        return Job(
            outbox_id=row[0],
            contact_id=None,
            attempts=row[2],
            channel="email",
            send_started_at=row[4],
            kind="confirmation",
            data=MessageData(
                contact_id=-row[0],  # no contact; unique in the mail log until renamed
                message_id=row[3],
                target_name=row[10],
                target_email=row[11],
                subject=subject,
                body=body,
                constituent_name=None,  # From: the site itself, and no Reply-To
                constituent_email=None,
            ),
        )

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
                outcome = self.deliver(job, mode, sender, claim)
                if outcome.kind == "lost":
                    report.lost += 1
                    continue
                self.record(claim, job, outcome, report)
        finally:
            if sender is not None:
                sender.close()
        return report

    def mark_started(self, claim: Claim, job: Job) -> bool:
        """Commit ``send_started_at`` if the row is still ours and the lease unexpired."""
        now = utcnow()
        # A Core statement: the ORM's execute path cost more than running it.
        with _committed_alone() as connection:
            result = connection.execute(
                _claimed_row_update(("send_started_at", "updated_at"), unexpired=True),
                _claimed_row_params(claim, job, {"send_started_at": now, "updated_at": now}, now),
            )
            return _rowcount(result) == 1

    def deliver(
        self, job: Job, mode: str, sender: SMTPSender | None, claim: Claim | None = None
    ) -> Outcome:
        """Send (or log) one message. Never raises: every problem becomes an outcome."""
        config = current_app.config
        started = False

        def before_data() -> None:
            nonlocal started
            if claim is not None and not self.mark_started(claim, job):
                raise LeaseLost("the claim on this row was lost before DATA")
            started = True

        try:
            if job.send_started_at is not None:
                log.warning(
                    "outbox %s: a worker died while sending it; not sending again",
                    job.outbox_id,
                )
                return Outcome("unconfirmed", UNCONFIRMED_ERROR)
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
                html_alternative=bool(config["MAIL_HTML_ALTERNATIVE"]),
            )
            if mode == "log":
                name = f"confirmation-{job.outbox_id}.eml" if job.kind == "confirmation" else None
                write_log(prepared, config["MAIL_LOG_DIR"], name)
                return Outcome("logged")
            if sender is None:  # pragma: no cover - guarded by process()
                raise InvalidMessage("no SMTP sender")
            sender.send(prepared, before_data=before_data)
            return Outcome("sent")
        except LeaseLost as exc:
            log.warning("outbox %s: %s; left to its new owner", job.outbox_id, exc)
            return Outcome("lost", str(exc))
        except InvalidMessage as exc:
            log.warning("outbox %s: cannot be delivered: %s", job.outbox_id, exc)
            return Outcome("dead", str(exc))
        except smtplib.SMTPRecipientsRefused as exc:
            error = describe_error(exc)
            log.warning("outbox %s: recipient refused: %s", job.outbox_id, error)
            return Outcome("bounced" if permanent_refusal(exc) else "retry", error)
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            # A definite answer from the server: nothing was accepted.
            error = describe_error(exc)
            log.warning("outbox %s: refused: %s", job.outbox_id, error)
            return Outcome("bounced" if permanent_response(exc) else "retry", error)
        except Exception as exc:
            error = describe_error(exc)
            if started:
                # DATA began but no answer came back: the server may have accepted it.
                log.warning("outbox %s: no answer to DATA: %s", job.outbox_id, error)
                return Outcome("unconfirmed", f"{UNCONFIRMED_ERROR} ({error})")
            log.warning("outbox %s: delivery failed: %s", job.outbox_id, error)
            return Outcome("retry", error)

    def record(self, claim: Claim, job: Job, outcome: Outcome, report: BatchReport) -> bool:
        """Write one outcome in its own transaction. False if the lease was lost meanwhile."""
        config = current_app.config
        now = utcnow()
        kind = outcome.kind
        if kind == "retry" and job.attempts >= int(config["DELIVERY_MAX_ATTEMPTS"]):
            kind = "dead"
        outbox: dict[str, Any] = {
            "claimed_by": None,
            "claimed_until": None,
            "send_started_at": None,
            "updated_at": now,
        }
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
        elif kind == "unconfirmed":
            # Keep the marker: the row shows it was being sent when its worker died.
            outbox.pop("send_started_at")
            outbox.update(status="dead", last_error=outcome.error)
            contact = {"status": "dead", "last_error": outcome.error}
        else:  # bounced | dead
            outbox.update(status="dead", last_error=outcome.error)
            contact = {"status": "bounced" if kind == "bounced" else "dead"}
            contact["last_error"] = outcome.error
        try:
            recorded = self._write_outcome(claim, job, outbox, contact)
        except Exception:
            log.exception("outbox %s: could not record outcome %s", job.outbox_id, kind)
            report.lost += 1
            return False
        if not recorded:
            log.warning(
                "outbox %s: lease lost before its outcome (%s) was recorded", job.outbox_id, kind
            )
            report.lost += 1
            return False
        counter = {"retry": "retrying"}.get(kind, kind)
        setattr(report, counter, getattr(report, counter) + 1)
        return True

    @staticmethod
    def _write_outcome(
        claim: Claim, job: Job, outbox: dict[str, Any], contact: dict[str, Any]
    ) -> bool:
        """Write the outbox row's and the contact's new values at once, if the row is still
        claimed by ``claim``; False (and nothing written) if not."""
        outbox_update = _claimed_row_update(tuple(sorted(outbox)))
        outbox_params = _claimed_row_params(claim, job, outbox)
        engine = db.engine
        if job.contact_id is None:  # a confirmation mail has no contact: one UPDATE
            with _committed_alone() as connection:
                return _rowcount(connection.execute(outbox_update, outbox_params)) == 1
        if engine.dialect.name == "postgresql":  # both in one statement: one round trip
            statement = _outcome_statement(tuple(sorted(outbox)), tuple(sorted(contact)))
            params = {
                **outbox_params,
                "c_contact": job.contact_id,
                **{f"c_{name}": value for name, value in contact.items()},
            }
            with autocommit_view(engine).connect() as connection:
                return connection.execute(statement, params).scalar_one() == 1
        # Elsewhere (SQLite: no writes in WITH) one transaction of two UPDATEs.
        with engine.begin() as connection:
            if _rowcount(connection.execute(outbox_update, outbox_params)) != 1:
                connection.rollback()
                return False
            connection.execute(
                _contact_update(tuple(sorted(contact))),
                {"v_contact": job.contact_id, **_set_params(contact)},
            )
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


def run_workers(
    threads: int,
    name: str | None = None,
    *,
    lease_seconds: float | None = None,
    loop: bool = False,
    batch: int = DEFAULT_BATCH,
    interval: float = DEFAULT_INTERVAL,
    stop: threading.Event | None = None,
) -> BatchReport:
    """``threads`` workers in this process, each with its own claims, database session and
    SMTP connection (claims never overlap, so no message is taken twice). While one waits
    on the mail server or the database, another works. The first error stops them all and
    is raised once they have finished their batches."""
    check_configuration(current_app.config)
    stop = stop or threading.Event()
    base = (name or default_worker_name())[:56]
    if threads <= 1:
        return Worker(base, lease_seconds=lease_seconds).run(
            loop=loop, batch=batch, interval=interval, stop=stop
        )
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    reports: list[BatchReport] = []
    errors: list[BaseException] = []

    def work(number: int) -> None:
        try:
            with app.app_context():
                worker = Worker(f"{base}/{number}", lease_seconds=lease_seconds)
                reports.append(worker.run(loop=loop, batch=batch, interval=interval, stop=stop))
        except BaseException as exc:  # reported by the calling thread
            errors.append(exc)
            stop.set()

    pool = [
        threading.Thread(target=work, args=(number,), name=f"deliver-{number}", daemon=True)
        for number in range(1, threads + 1)
    ]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    if errors:
        raise errors[0]
    total = BatchReport()
    for report in reports:
        total.add(report)
    return total


def deliver_pending(batch: int = DEFAULT_BATCH, name: str | None = None) -> BatchReport:
    """Deliver everything that is due now (one ``advocacy deliver --once``)."""
    return Worker(name).run(loop=False, batch=batch)
