"""The job lease: one run at a time across schedulers, due times, failures, renewal."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from advocacy.dbtypes import utcnow
from advocacy.extensions import db
from advocacy.jobs.models import JobLease
from advocacy.jobs.registry import (
    JobContext,
    JobFailed,
    JobSpec,
    get_job,
    register_job,
    registered_jobs,
)
from advocacy.jobs.runner import (
    RunResult,
    Scheduler,
    _finish,
    claim,
    ensure_rows,
    run_claimed,
    run_job,
)


def row(name: str) -> JobLease:
    db.session.expire_all()
    found = db.session.get(JobLease, name)
    assert found is not None
    db.session.commit()
    return found


def spec(name: str, func, every=timedelta(hours=1), lease=timedelta(minutes=5)) -> JobSpec:  # type: ignore[no-untyped-def]
    return JobSpec(name, func, every, "test job", lease)


def test_builtin_jobs_are_registered() -> None:
    names = {s.name for s in registered_jobs()}
    assert {"directory-refresh", "campaign-schedule", "retention", "dead-letter-alert"} <= names


def test_first_claim_wins_second_is_busy(app: Flask) -> None:
    job = spec("t-claim", lambda ctx: "ok")
    ensure_rows([job])
    first = claim(job, "host-a")
    second = claim(job, "host-b")
    assert not isinstance(first, RunResult)
    assert isinstance(second, RunResult) and second.status == "busy"
    assert "host-a" in second.detail
    result = run_claimed(first)
    assert result.status == "ok"
    stored = row("t-claim")
    assert stored.holder is None and stored.lease_until is None and stored.last_status == "ok"
    assert stored.next_run_at == first.started_at + timedelta(hours=1)
    # Not due again for an hour: the scheduler skips it, a one-shot run does not.
    again = claim(job, "host-b")
    assert isinstance(again, RunResult) and again.status == "not-due"
    assert run_job(job, "host-b").status == "ok"


def test_many_threads_racing_run_the_job_once(app: Flask) -> None:
    calls: list[str] = []
    job = spec("t-race", lambda ctx: calls.append(ctx.holder) or "ran")
    ensure_rows([job])
    barrier = threading.Barrier(6)
    results: list[RunResult] = []

    def contender(index: int) -> None:
        with app.app_context():
            barrier.wait(timeout=10)
            ran = Scheduler(f"sched-{index}", jobs=[job]).tick()
            # An empty list: by the time it looked, the job was done and no longer due.
            results.append(ran[0] if ran else RunResult(job.name, "not-due", ""))
            db.session.remove()

    threads = [threading.Thread(target=contender, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == 6
    assert len(calls) == 1
    assert sorted(r.status for r in results).count("ok") == 1
    assert {r.status for r in results} <= {"ok", "busy", "not-due"}


def test_expired_lease_of_a_dead_host_is_taken_over(app: Flask) -> None:
    job = spec("t-dead", lambda ctx: "rescued")
    ensure_rows([job])
    taken = claim(job, "dies-mid-run")
    assert not isinstance(taken, RunResult)
    # The host died: its lease runs out.
    db.session.execute(
        sa.update(JobLease)
        .where(JobLease.name == "t-dead")
        .values(lease_until=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    result = run_job(job, "rescuer", due_only=True)
    assert result.status == "ok" and result.detail == "rescued"
    # The dead host's late outcome is refused: it no longer holds the job.
    assert _finish(taken, "failed", "late", None) is False
    stored = row("t-dead")
    assert stored.last_detail == "rescued" and stored.last_status == "ok"


def test_failure_is_recorded_and_retried_sooner(app: Flask) -> None:
    def broken(ctx: JobContext) -> str:
        raise JobFailed("upstream said no")

    job = spec("t-fail", broken, every=timedelta(days=1))
    before = utcnow()
    result = run_job(job, "host-a")
    assert result.status == "failed" and result.detail == "JobFailed: upstream said no"
    stored = row("t-fail")
    assert stored.last_status == "failed" and stored.last_detail == "JobFailed: upstream said no"
    assert stored.next_run_at is not None
    assert before + timedelta(minutes=14) < stored.next_run_at < before + timedelta(minutes=16)


def test_a_long_run_keeps_its_lease(app: Flask) -> None:
    started = threading.Event()
    release = threading.Event()

    def slow(ctx: JobContext) -> str:
        started.set()
        release.wait(timeout=20)
        return "slow and steady"

    job = spec("t-slow", slow, lease=timedelta(seconds=1.2))
    ensure_rows([job])
    outcome: list[RunResult] = []

    def runner() -> None:
        with app.app_context():
            outcome.append(run_job(job, "slow-host"))
            db.session.remove()

    thread = threading.Thread(target=runner)
    thread.start()
    try:
        assert started.wait(timeout=10)
        deadline = time.monotonic() + 2.5  # twice the lease: renewed meanwhile
        while time.monotonic() < deadline:
            contender = claim(job, "eager-host", due_only=False)
            assert isinstance(contender, RunResult) and contender.status == "busy"
            time.sleep(0.2)
    finally:
        release.set()
        thread.join(timeout=30)
    assert outcome and outcome[0].status == "ok"


def test_interval_from_the_config_and_none_disables(app: Flask) -> None:
    app.config["T_EVERY_MINUTES"] = None
    calls: list[int] = []

    def every(config: Mapping[str, Any]) -> timedelta | None:
        minutes = config.get("T_EVERY_MINUTES")
        return timedelta(minutes=minutes) if minutes is not None else None

    job = spec("t-off", lambda ctx: calls.append(1) or "ok", every=every)
    assert job.interval(app.config) is None
    assert Scheduler("s", jobs=[job]).tick() == []
    assert run_job(job, "cron").status == "ok" and calls == [1]  # one-shot still runs it
    assert row("t-off").next_run_at is None
    app.config["T_EVERY_MINUTES"] = 2.5
    assert job.interval(app.config) == timedelta(minutes=2, seconds=30)
    app.config["T_EVERY_MINUTES"] = 0  # a zero interval disables it too
    assert job.interval(app.config) is None


def test_register_job_checks_names(scratch_jobs: list[str]) -> None:
    def job(ctx: JobContext) -> str:
        return "ok"

    with pytest.raises(ValueError, match="bad job name"):
        register_job("Not Good", job, every=timedelta(hours=1))
    scratch_jobs.append("t-registered")
    register_job("t-registered", job, every=timedelta(hours=1), description="mine")
    register_job("t-registered", job, every=timedelta(hours=1))  # re-import: same function
    assert get_job("t-registered") is not None

    def other(ctx: JobContext) -> str:
        return "other"

    with pytest.raises(ValueError, match="two different jobs"):
        register_job("t-registered", other, every=timedelta(hours=1))
