"""The outbox worker: claim due rows, send each message, record each outcome.

Any number of workers may run (threads, processes, hosts). A claim is a lease: the rows are
the worker's until ``claimed_until``, after which another worker may take them over. Every
write about a claimed row is guarded by the claim's token, so a worker that lost its lease
changes nothing. No transaction is open while a message is being sent.

Nothing is sent twice by a crash: just before the SMTP ``DATA`` command the worker commits
``send_started_at`` on the row (only if its lease still holds; otherwise it abandons the
message). A row taken over with that mark set may have been delivered, so it is dead-lettered
as "delivery may have happened" instead of being sent again; so is a message whose DATA got
no answer. SMTP answers: 2xx sent, 4xx retried with backoff, 5xx bounced (never retried).
"""

from __future__ import annotations

import logging
import os
import random
import smtplib
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, and_, or_, select, update

from ..config import DELIVERY_MODES, is_https
from ..dbtypes import utcnow
from ..extensions import db
from .bounces import PREFIX_PATTERN, bounce_address, bounce_prefix
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
from .outbox import Hold, Outcome, Queued, kind_named
from .webhooks import WebhookPost
from .webhooks import post as post_webhook

log = logging.getLogger(__name__)

DEFAULT_BATCH = 50
DEFAULT_INTERVAL = 5.0
DEFAULT_LEASE_SECONDS = 300.0
MAX_BACKOFF_SECONDS = 24 * 3600.0
UNCONFIRMED_ERROR = "delivery may have happened; check before retrying"
NOTHING_TO_SEND = "nothing to send (its kind gave no message for it)"
_random = random.SystemRandom()


class DeliveryConfigError(RuntimeError):
    """The delivery settings cannot work; nothing is claimed until they are fixed."""


class LeaseLost(RuntimeError):
    """The row is no longer this worker's (lease expired or taken over): do not send it."""


@dataclass(frozen=True)
class Claim:
    token: str
    until: datetime
    outbox_ids: tuple[int, ...]


@dataclass(frozen=True)
class Job:
    """A claimed row, and its message as its kind built it (None: nothing to send; Hold: its
    kind holds it)."""

    row: Queued
    attempts: int
    message_id: str
    send_started_at: datetime | None
    data: MessageData | WebhookPost | Hold | None


@dataclass
class BatchReport:
    claimed: int = 0
    sent: int = 0
    logged: int = 0
    retrying: int = 0
    bounced: int = 0
    dead: int = 0
    unconfirmed: int = 0
    held: int = 0
    released: int = 0
    lost: int = 0

    def add(self, other: BatchReport) -> None:
        for item in fields(self):
            setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))

    def count(self, result: str) -> None:
        name = {"retry": "retrying"}.get(result, result)
        setattr(self, name, getattr(self, name) + 1)

    def summary(self) -> str:
        return (
            f"claimed {self.claimed}: sent {self.sent}, logged {self.logged}, "
            f"retrying {self.retrying}, bounced {self.bounced}, dead {self.dead}, "
            f"unconfirmed (check, then `deliver retry`) {self.unconfirmed}, "
            f"held {self.held}, released {self.released}, unrecorded {self.lost}"
        )


def default_worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:60]


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
    prefix = bounce_prefix(config)
    if prefix and not PREFIX_PATTERN.fullmatch(prefix):
        raise DeliveryConfigError(
            "BOUNCE_ADDRESS_PREFIX must be up to 32 letters, digits, dots, dashes or "
            "underscores (no '+'), e.g. `bounces`"
        )


def _due(now: datetime) -> ColumnElement[bool]:
    """Rows a worker may take: waiting and due, or claimed by a worker whose lease ran out."""
    return or_(
        and_(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now),
        and_(
            OutboxMessage.status == "sending",
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
        ),
    )


def _claimed_by(claim: Claim, outbox_id: int) -> ColumnElement[bool]:
    """The row ``outbox_id``, while ``claim`` still holds it."""
    return and_(
        OutboxMessage.id == outbox_id,
        OutboxMessage.claimed_by == claim.token,
        OutboxMessage.status == "sending",
    )


class Worker:
    """Delivers outbox rows. Use inside an application context."""

    def __init__(self, name: str | None = None, *, lease_seconds: float | None = None) -> None:
        config = current_app.config
        self.name = (name or default_worker_name())[:60]
        self.lease_seconds = float(
            lease_seconds or config.get("DELIVERY_LEASE_SECONDS") or DEFAULT_LEASE_SECONDS
        )

    def claim(self, limit: int) -> Claim:
        """Take up to ``limit`` due rows for this worker, oldest first. Commits."""
        now = utcnow()
        token = f"{self.name}/{uuid.uuid4().hex[:12]}"
        until = now + timedelta(seconds=self.lease_seconds)
        claimed: list[int] = []
        while len(claimed) < limit:
            with db.engine.begin() as connection:
                # PostgreSQL locks the chosen rows until the commit, and other workers skip
                # them. SQLite locks nothing here; the UPDATE's "still due" then leaves out
                # rows another worker took meanwhile, and the rest are chosen again.
                chosen = connection.scalars(
                    select(OutboxMessage.id)
                    .where(_due(now))
                    .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                    .limit(limit - len(claimed))
                    .with_for_update(skip_locked=True)
                ).all()
                if not chosen:
                    break
                taken = connection.scalars(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(chosen), _due(now))
                    .values(
                        status="sending",
                        claimed_by=token,
                        claimed_until=until,
                        attempts=OutboxMessage.attempts + 1,
                        updated_at=now,
                    )
                    .returning(OutboxMessage.id)
                ).all()
            claimed.extend(taken)
            if len(taken) == len(chosen):
                break  # no other worker took any of them meanwhile
        return Claim(token=token, until=until, outbox_ids=tuple(sorted(claimed)))

    def run_batch(self, limit: int = DEFAULT_BATCH) -> BatchReport:
        """Claim up to ``limit`` due rows and deliver them."""
        check_configuration(current_app.config)
        return self.process(self.claim(limit))

    def process(self, claim: Claim) -> BatchReport:
        """Deliver the rows of ``claim`` that are still its own, one at a time."""
        report = BatchReport(claimed=len(claim.outbox_ids))
        if not claim.outbox_ids:
            return report
        config = current_app.config
        mode = config["DELIVERY_MODE"]
        settings = SMTPSettings.from_config(config)
        # Stop early enough that a message started now is recorded before the lease ends.
        margin = timedelta(seconds=min(settings.timeout * 2 + 1, self.lease_seconds / 2))
        sender = SMTPSender(settings) if mode != "log" else None
        jobs = self._load(claim)
        try:
            for index, job in enumerate(jobs):
                if utcnow() + margin >= claim.until:
                    report.released += self._release(claim, jobs[index:])
                    break
                outcome = self._deliver(job, mode, sender, claim)
                if outcome.result == "lost":
                    report.lost += 1
                else:
                    self._record(claim, job, outcome, report)
        finally:
            if sender is not None:
                sender.close()
        return report

    def _load(self, claim: Claim) -> list[Job]:
        """The claimed rows still this worker's, each with its message built by its kind."""
        with db.engine.begin() as connection:  # over before any message is sent
            rows = connection.execute(
                select(
                    OutboxMessage.id,
                    OutboxMessage.kind,
                    OutboxMessage.contact_id,
                    OutboxMessage.action_id,
                    OutboxMessage.attempts,
                    OutboxMessage.message_id,
                    OutboxMessage.send_started_at,
                )
                .where(OutboxMessage.claimed_by == claim.token, OutboxMessage.status == "sending")
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            ).all()
            queued = [Queued(row.id, row.kind, row.contact_id, row.action_id) for row in rows]
            messages: dict[int, MessageData | WebhookPost | Hold] = {}
            for name in {row.kind for row in queued}:
                kind = kind_named(name)
                if kind is not None:
                    messages.update(kind.load(connection, [q for q in queued if q.kind == name]))
        return [
            Job(q, row.attempts, row.message_id, row.send_started_at, messages.get(q.id))
            for q, row in zip(queued, rows, strict=True)
        ]

    def _mark_started(self, claim: Claim, job: Job) -> bool:
        """Commit ``send_started_at`` if the row is still ours and the lease unexpired."""
        now = utcnow()
        with db.engine.begin() as connection:
            result = connection.execute(
                update(OutboxMessage)
                .where(_claimed_by(claim, job.row.id), OutboxMessage.claimed_until > now)
                .values(send_started_at=now, updated_at=now)
            )
            return result.rowcount == 1

    def _deliver(self, job: Job, mode: str, sender: SMTPSender | None, claim: Claim) -> Outcome:
        """Send (or log) one message. Never raises: every problem becomes an outcome, and
        ``lost`` means the row stopped being this worker's before anything was sent."""
        config = current_app.config
        started = False

        def before_data() -> None:
            nonlocal started
            if not self._mark_started(claim, job):
                raise LeaseLost("the claim on this row was lost before DATA")
            started = True

        outbox_id = job.row.id
        try:
            if job.send_started_at is not None:
                log.warning("outbox %s: its worker died sending it; not sent again", outbox_id)
                return Outcome("unconfirmed", UNCONFIRMED_ERROR)
            if job.attempts > int(config["DELIVERY_MAX_ATTEMPTS"]):
                return Outcome("dead", "delivery was interrupted too many times")
            if job.data is None:
                return Outcome("dead", NOTHING_TO_SEND)
            if isinstance(job.data, Hold):
                log.info("outbox %s: held by its kind: %s", outbox_id, job.data.reason)
                return Outcome("held", job.data.reason)
            if isinstance(job.data, WebhookPost):
                return self._post(job.data, before_data)
            prepared = build_message(
                job.data,
                message_id=job.message_id,
                mode=mode,
                mail_from=config["MAIL_FROM"],
                site_name=config.get("SITE_NAME") or "",
                redirect_to=config.get("REDIRECT_TO") or "",
                html_alternative=bool(config["MAIL_HTML_ALTERNATIVE"]),
                envelope_from=bounce_address(outbox_id) if job.data.track_bounces else None,
            )
            if mode == "log":
                write_log(prepared, config["MAIL_LOG_DIR"], f"{job.row.kind}-{outbox_id}.eml")
                return Outcome("logged")
            if sender is None:  # pragma: no cover - process() makes one unless in log mode
                raise InvalidMessage("no SMTP sender")
            sender.send(prepared, before_data=before_data)
            return Outcome("sent")
        except LeaseLost as exc:
            log.warning("outbox %s: %s; left to its new owner", outbox_id, exc)
            return Outcome("lost", str(exc))
        except InvalidMessage as exc:
            log.warning("outbox %s: cannot be delivered: %s", outbox_id, exc)
            return Outcome("dead", str(exc))
        except smtplib.SMTPRecipientsRefused as exc:
            error = describe_error(exc)
            log.warning("outbox %s: recipient refused: %s", outbox_id, error)
            return Outcome("bounced" if permanent_refusal(exc) else "retry", error)
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            # A definite answer from the server: nothing was accepted.
            error = describe_error(exc)
            log.warning("outbox %s: refused: %s", outbox_id, error)
            return Outcome("bounced" if permanent_response(exc) else "retry", error)
        except Exception as exc:
            error = describe_error(exc)
            if started:
                # DATA began but no answer came back: the server may have accepted it.
                log.warning("outbox %s: no answer to DATA: %s", outbox_id, error)
                return Outcome("unconfirmed", f"{UNCONFIRMED_ERROR} ({error})")
            log.warning("outbox %s: delivery failed: %s", outbox_id, error)
            return Outcome("retry", error)

    def _post(self, webhook: WebhookPost, before_send: Callable[[], None]) -> Outcome:
        """POST a webhook, whatever the delivery mode (it goes to an endpoint staff set up,
        never to a legislator). Plain http only while the site itself runs on http."""
        before_send()
        result = post_webhook(
            webhook,
            timestamp=int(utcnow().timestamp()),
            allow_http=not is_https(current_app.config.get("SITE_URL")),
        )
        if result.ok:
            return Outcome("sent", status_code=result.status_code)
        return Outcome(
            "dead" if result.permanent else "retry", result.error, status_code=result.status_code
        )

    def _record(self, claim: Claim, job: Job, outcome: Outcome, report: BatchReport) -> None:
        """Write one outcome in one short transaction: the outbox row if it is still this
        claim's, then (only then) what the message belongs to, through its kind."""
        config = current_app.config
        now = utcnow()
        if outcome.result == "retry" and job.attempts >= int(config["DELIVERY_MAX_ATTEMPTS"]):
            outcome = Outcome("dead", outcome.error, outcome.status_code)
        values: dict[str, Any] = {
            "claimed_by": None,
            "claimed_until": None,
            "send_started_at": None,
            "last_error": outcome.error,
            "updated_at": now,
        }
        if outcome.result in ("sent", "logged"):
            values["status"] = "sent"
        elif outcome.result == "held":
            values.update(status="held", attempts=0)
        elif outcome.result == "retry":
            delay = backoff_seconds(job.attempts, float(config["DELIVERY_BACKOFF_SECONDS"]))
            values.update(status="pending", next_attempt_at=now + timedelta(seconds=delay))
        else:  # bounced | dead | unconfirmed
            values["status"] = "dead"
        if outcome.result == "unconfirmed":
            del values["send_started_at"]  # kept: it shows the message may have been sent
        kind = kind_named(job.row.kind)
        try:
            with db.engine.begin() as connection:
                result = connection.execute(
                    update(OutboxMessage).where(_claimed_by(claim, job.row.id)).values(values)
                )
                recorded = result.rowcount == 1
                if recorded and kind is not None and kind.on_outcome is not None:
                    kind.on_outcome(connection, job.row, outcome)
        except Exception:
            log.exception("outbox %s: could not record outcome %s", job.row.id, outcome.result)
            report.lost += 1
            return
        if not recorded:
            log.warning(
                "outbox %s: lease lost before its outcome (%s) was recorded",
                job.row.id,
                outcome.result,
            )
            report.lost += 1
            return
        report.count(outcome.result)

    def _release(self, claim: Claim, jobs: list[Job]) -> int:
        """Give back claimed rows that were not tried (the lease is about to run out)."""
        try:
            with db.engine.begin() as connection:
                result = connection.execute(
                    update(OutboxMessage)
                    .where(
                        OutboxMessage.id.in_([job.row.id for job in jobs]),
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
                )
        except Exception:
            log.exception("could not release %d claimed outbox rows", len(jobs))
            return 0
        return result.rowcount

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
    """``threads`` workers in this process, each with its own claims, database connections
    and SMTP connection. The first error stops them all and is raised once they have finished
    their batches."""
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
