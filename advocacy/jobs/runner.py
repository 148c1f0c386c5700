"""Run a job once, under its lease; and the scheduler loop that runs every due job.

Claiming a job is one atomic UPDATE on its ``job_lease`` row::

    UPDATE job_lease SET holder=:token, lease_until=:now+lease, last_started_at=:now
     WHERE name=:name AND (lease_until IS NULL OR lease_until < :now)
       AND (next_run_at IS NULL OR next_run_at <= :now)          -- scheduled runs only
       AND last_started_at IS NOT DISTINCT FROM :seen             -- nobody ran it meanwhile

Whoever's UPDATE changes the row (rowcount 1) runs the job; anyone else's changes nothing.
PostgreSQL re-checks the WHERE clause after waiting for a concurrent UPDATE of the row, and
SQLite runs one writer at a time, so this holds for any number of schedulers on any number of
hosts, and for ``advocacy jobs run`` from cron beside them. No file lock is involved.

While the job runs, a thread renews the lease every third of its length, so a long run is
never taken over. If the host dies, the lease runs out and the next scheduler runs the job.
The outcome (``last_status`` ok/failed, ``last_detail``, ``last_finished_at``, ``next_run_at``)
is written by an UPDATE guarded by the holder token.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.exc import IntegrityError

from ..dbtypes import utcnow
from ..extensions import db
from ..observability import context
from .models import JobLease
from .registry import JobContext, JobFailed, JobSpec, registered_jobs

log = logging.getLogger(__name__)

MAX_DETAIL = 2000
DEFAULT_INTERVAL = 10.0


def default_holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:80]


@dataclass(frozen=True)
class Claim:
    spec: JobSpec
    token: str
    started_at: datetime
    context: JobContext


@dataclass(frozen=True)
class RunResult:
    name: str
    status: str  # ok | failed | busy | not-due
    detail: str
    holder: str | None = None
    seconds: float = 0.0

    @property
    def ran(self) -> bool:
        return self.status in ("ok", "failed")


def _rowcount(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount)


def ensure_rows(specs: list[JobSpec], now: datetime | None = None) -> None:
    """Make sure every job has its ``job_lease`` row (new jobs are due at once)."""
    now = now or utcnow()
    known = set(db.session.scalars(select(JobLease.name)))
    db.session.commit()
    for spec in specs:
        if spec.name in known:
            continue
        try:
            db.session.execute(insert(JobLease).values(name=spec.name, next_run_at=now))
            db.session.commit()
        except IntegrityError:  # another scheduler added it a moment ago
            db.session.rollback()


def _read(name: str) -> JobLease | None:
    row = db.session.execute(
        select(JobLease).where(JobLease.name == name).execution_options(populate_existing=True)
    ).scalar_one_or_none()
    return row


def claim(
    spec: JobSpec, holder: str, *, now: datetime | None = None, due_only: bool = True
) -> Claim | RunResult:
    """Take the job's lease; a ``RunResult`` (busy / not-due) when someone else has it."""
    session = db.session
    for _attempt in range(3):
        now = now or utcnow()
        row = _read(spec.name)
        if row is None:
            session.commit()
            ensure_rows([spec], now)
            continue
        seen = row.last_started_at
        previous = (row.last_started_at, row.last_finished_at, row.last_status)
        current_holder, until, next_run = row.holder, row.lease_until, row.next_run_at
        session.commit()
        token = f"{holder}/{uuid.uuid4().hex[:8]}"[:120]
        conditions = [
            JobLease.name == spec.name,
            or_(JobLease.lease_until.is_(None), JobLease.lease_until < now),
            JobLease.last_started_at.is_(None)
            if seen is None
            else JobLease.last_started_at == seen,
        ]
        if due_only:
            conditions.append(or_(JobLease.next_run_at.is_(None), JobLease.next_run_at <= now))
        try:
            result = session.execute(
                update(JobLease)
                .where(and_(*conditions))
                .values(holder=token, lease_until=now + spec.lease, last_started_at=now)
                .execution_options(synchronize_session=False)
            )
            won = _rowcount(result) == 1
            session.commit()
        except BaseException:
            session.rollback()
            raise
        if won:
            return Claim(
                spec,
                token,
                now,
                JobContext(
                    name=spec.name,
                    now=now,
                    holder=token,
                    previous_started_at=previous[0],
                    previous_finished_at=previous[1],
                    previous_status=previous[2],
                ),
            )
        if until is not None and until >= now:
            return RunResult(
                spec.name, "busy", f"running on {current_holder} until {until:%H:%M:%S}"
            )
        if due_only and next_run is not None and next_run > now:
            return RunResult(spec.name, "not-due", f"next run at {next_run:%Y-%m-%d %H:%M:%S} UTC")
        now = None  # the row changed between the read and the update: look again
    return RunResult(spec.name, "busy", "another run took it first")


class _Heartbeat:
    """Renews a job's lease every third of its length while the job runs."""

    def __init__(self, engine: Engine, spec: JobSpec, token: str) -> None:
        self.engine, self.spec, self.token = engine, spec, token
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"lease-{spec.name}", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)

    def _run(self) -> None:
        period = max(self.spec.lease.total_seconds() / 3, 0.5)
        while not self.stop.wait(period):
            try:
                with self.engine.begin() as connection:
                    connection.execute(
                        update(JobLease)
                        .where(JobLease.name == self.spec.name, JobLease.holder == self.token)
                        .values(lease_until=utcnow() + self.spec.lease)
                    )
            except Exception as exc:
                log.warning("job %s: could not renew its lease: %s", self.spec.name, exc)


def run_claimed(job: Claim) -> RunResult:
    """Run a claimed job and record its outcome."""
    spec = job.spec
    config = current_app.config
    started = time.perf_counter()
    status, detail = "ok", ""
    with context.bound(f"job:{spec.name}/{job.token.rsplit('/', 1)[-1]}"):
        log.info("job %s started", spec.name, extra={"job": spec.name})
        with _Heartbeat(db.engine, spec, job.token):
            exc_info: BaseException | None = None
            try:
                detail = spec.func(job.context) or "ok"
            except JobFailed as exc:  # an expected failure: its message says it all
                db.session.rollback()
                status, detail = "failed", f"{type(exc).__name__}: {exc}"
            except Exception as exc:
                db.session.rollback()
                status, detail, exc_info = "failed", f"{type(exc).__name__}: {exc}", exc
        seconds = time.perf_counter() - started
        interval = spec.interval(config)
        if status == "ok":
            next_run = job.started_at + interval if interval else None
        else:
            next_run = utcnow() + spec.retry_delay(config)
        detail = " ".join(detail.split())[:MAX_DETAIL]
        finished = _finish(job, status, detail, next_run)
        log.log(  # one line per run; a failure's line is its only one
            logging.INFO if status == "ok" else logging.ERROR,
            "job %s %s in %.1fs: %s",
            spec.name,
            "finished" if status == "ok" else "FAILED",
            seconds,
            detail,
            exc_info=exc_info,
            extra={
                "job": spec.name,
                "status": status,
                "seconds": round(seconds, 3),
                "recorded": finished,
            },
        )
    return RunResult(spec.name, status, detail, job.token, seconds)


def _finish(job: Claim, status: str, detail: str, next_run: datetime | None) -> bool:
    session = db.session
    try:
        result = session.execute(
            update(JobLease)
            .where(JobLease.name == job.spec.name, JobLease.holder == job.token)
            .values(
                holder=None,
                lease_until=None,
                last_finished_at=utcnow(),
                last_status=status,
                last_detail=detail,
                next_run_at=next_run,
            )
            .execution_options(synchronize_session=False)
        )
        done = _rowcount(result) == 1
        session.commit()
    except Exception:
        session.rollback()
        log.exception("job %s: could not record its outcome", job.spec.name)
        return False
    if not done:
        log.warning("job %s: its lease was taken over before it finished", job.spec.name)
    return done


def run_job(spec: JobSpec, holder: str | None = None, *, due_only: bool = False) -> RunResult:
    """Run one job now if nobody else is running it (``due_only``: only if it is due)."""
    ensure_rows([spec])
    taken = claim(spec, holder or default_holder_name(), due_only=due_only)
    if isinstance(taken, RunResult):
        return taken
    return run_claimed(taken)


class Scheduler:
    """Runs every enabled job when it is due. Use inside an application context."""

    def __init__(self, name: str | None = None, jobs: list[JobSpec] | None = None) -> None:
        self.name = (name or default_holder_name())[:80]
        self.jobs = jobs

    def enabled_jobs(self) -> list[JobSpec]:
        config = current_app.config
        specs = registered_jobs() if self.jobs is None else self.jobs
        return [spec for spec in specs if spec.interval(config) is not None]

    def tick(self, stop: threading.Event | None = None) -> list[RunResult]:
        """Run each due job once (those another scheduler holds are skipped)."""
        specs = self.enabled_jobs()
        ensure_rows(specs)
        now = utcnow()
        due = {
            row.name
            for row in db.session.scalars(
                select(JobLease).where(
                    JobLease.name.in_([s.name for s in specs]),
                    or_(JobLease.next_run_at.is_(None), JobLease.next_run_at <= now),
                )
            )
        }
        db.session.commit()
        results = []
        for spec in specs:
            if stop is not None and stop.is_set():
                break
            if spec.name not in due:
                continue
            taken = claim(spec, self.name, due_only=True)
            results.append(taken if isinstance(taken, RunResult) else run_claimed(taken))
        return results

    def seconds_to_next(self, ceiling: float) -> float:
        """How long to sleep: until the next job is due, at most ``ceiling`` seconds."""
        names = [s.name for s in self.enabled_jobs()]
        if not names:
            return ceiling
        soonest = db.session.scalar(
            select(JobLease.next_run_at)
            .where(JobLease.name.in_(names), JobLease.next_run_at.is_not(None))
            .order_by(JobLease.next_run_at)
            .limit(1)
        )
        db.session.commit()
        if soonest is None:
            return ceiling
        return min(max((soonest - utcnow()).total_seconds(), 0.2), ceiling)

    def run(
        self,
        *,
        loop: bool = True,
        interval: float = DEFAULT_INTERVAL,
        stop: threading.Event | None = None,
        report: Any = None,
    ) -> list[RunResult]:
        stop = stop or threading.Event()
        everything: list[RunResult] = []
        while not stop.is_set():
            try:
                results = self.tick(stop)
            except Exception:
                if not loop:
                    raise
                db.session.rollback()
                log.exception("scheduler tick failed; trying again in %.1fs", interval)
                stop.wait(interval)
                continue
            everything.extend(results)
            if report is not None:
                for result in results:
                    report(result)
            if not loop:
                break
            stop.wait(self.seconds_to_next(interval))
        return everything


def job_rows() -> dict[str, JobLease]:
    rows = {row.name: row for row in db.session.scalars(select(JobLease))}
    db.session.commit()
    return rows


def overdue(spec: JobSpec, row: JobLease | None, now: datetime) -> timedelta | None:
    """How late a job is (None when it is not due or not scheduled)."""
    if row is None or row.next_run_at is None or spec.interval(current_app.config) is None:
        return None
    late = now - row.next_run_at
    return late if late > timedelta(0) else None
