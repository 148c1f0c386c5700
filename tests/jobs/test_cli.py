"""``advocacy scheduler`` and ``advocacy jobs list|run``."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from advocacy.dbtypes import utcnow
from advocacy.extensions import db
from advocacy.jobs.models import JobLease
from advocacy.jobs.registry import registered_jobs
from advocacy.jobs.runner import Scheduler


def invoke(app: Flask, *args: str):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=list(args), catch_exceptions=False)


def quiet(app: Flask, tmp_path: Path) -> None:
    app.config.update(
        OPENSTATES_DATA_URL=str(tmp_path / "no-people"),  # the refresh fails: nothing there
        DELIVERY_MODE="log",
    )


def test_scheduler_once_runs_each_due_job_then_nothing(app: Flask, tmp_path: Path) -> None:
    quiet(app, tmp_path)
    first = invoke(app, "scheduler", "--once", "--name", "sched-a")
    assert first.exit_code == 1  # the directory refresh failed (no files), the others ran
    lines = first.stdout.splitlines()
    for name in ("campaign-schedule", "dead-letter-alert", "retention"):
        assert any(line.startswith(f"ran {name}: ok") for line in lines), first.stdout
    assert any(line.startswith("ran directory-refresh: failed") for line in lines)
    rows = {row.name: row for row in db.session.scalars(sa.select(JobLease))}
    assert all(r.last_started_at is not None for r in rows.values())
    db.session.commit()
    second = invoke(app, "scheduler", "--once", "--name", "sched-b")
    assert second.exit_code == 0 and second.stdout.strip() == "no job was due"


def test_jobs_list_shows_last_and_next_runs(app: Flask, tmp_path: Path) -> None:
    quiet(app, tmp_path)
    assert "last: never run" in invoke(app, "jobs", "list").stdout
    assert invoke(app, "jobs", "run", "campaign-schedule").exit_code == 0
    output = invoke(app, "jobs", "list").stdout
    assert "campaign-schedule  every 1min" in output
    assert "last: ok at " in output and "0 opened, 0 ended" in output and "next: " in output
    assert "directory-refresh  every 1d" in output
    assert "expire-unconfirmed  every off" in output  # ADVOCACY_REQUIRE_CONFIRMATION is off
    app.config["REQUIRE_CONFIRMATION"] = True
    assert "expire-unconfirmed  every 15min" in invoke(app, "jobs", "list").stdout


def test_jobs_run_exit_codes(app: Flask, tmp_path: Path) -> None:
    quiet(app, tmp_path)
    unknown = invoke(app, "jobs", "run", "no-such-job")
    assert unknown.exit_code == 2 and "no job named 'no-such-job'" in unknown.output
    failed = invoke(app, "jobs", "run", "directory-refresh")
    assert failed.exit_code == 1 and "ran directory-refresh: failed" in failed.stdout
    # Held by a scheduler elsewhere: cron's run steps aside.
    db.session.execute(
        sa.update(JobLease)
        .where(JobLease.name == "directory-refresh")
        .values(holder="other-host:1/abc", lease_until=utcnow() + timedelta(minutes=5))
    )
    db.session.commit()
    busy = invoke(app, "jobs", "run", "directory-refresh")
    assert busy.exit_code == 3 and "skipped directory-refresh: busy: running on other-host" in (
        busy.stdout
    )
    ok = invoke(app, "jobs", "run", "retention")
    assert ok.exit_code == 0 and ok.stdout.startswith("ran retention: ok")
    not_due = invoke(app, "jobs", "run", "retention", "--if-due")
    assert not_due.exit_code == 0 and "skipped retention: not-due: next run at" in not_due.stdout


def test_scheduler_loop_stops_when_asked(app: Flask, tmp_path: Path) -> None:
    quiet(app, tmp_path)
    stop = threading.Event()
    seen = []
    # Every job the scheduler runs with these settings runs once, then the loop stops.
    enabled = len([spec for spec in registered_jobs() if spec.interval(app.config)])

    def report(result):  # type: ignore[no-untyped-def]
        seen.append(result.name)
        if len(seen) >= enabled:
            stop.set()

    results = Scheduler("looper").run(loop=True, interval=0.1, stop=stop, report=report)
    assert sorted(r.name for r in results) == sorted(seen)
    assert len(seen) == enabled
