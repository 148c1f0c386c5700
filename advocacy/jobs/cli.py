"""``advocacy scheduler`` and ``advocacy jobs list|run``."""

from __future__ import annotations

import sys
import threading

import click
from flask import current_app
from flask.cli import with_appcontext

from ..dbstatus import needs_database
from ..dbtypes import utcnow
from ..processes import stop_on_signals
from .registry import describe_interval, get_job, registered_jobs
from .runner import DEFAULT_INTERVAL, RunResult, Scheduler, job_rows, overdue, run_job

EXIT_FAILED = 1
EXIT_BUSY = 3


def _echo_result(result: RunResult) -> None:
    if result.ran:
        click.echo(f"ran {result.name}: {result.status} in {result.seconds:.1f}s: {result.detail}")
    else:
        click.echo(f"skipped {result.name}: {result.status}: {result.detail}")


@click.command("scheduler")
@click.option("--once", is_flag=True, help="Run the jobs that are due now, then exit.")
@click.option(
    "--interval",
    type=click.FloatRange(0.1),
    default=DEFAULT_INTERVAL,
    show_default=True,
    help="At most this many seconds between looks for due jobs.",
)
@click.option("--name", default=None, help="Name recorded on the jobs it runs (default host:pid).")
@with_appcontext
@needs_database
def scheduler_command(once: bool, interval: float, name: str | None) -> None:
    """Run periodic jobs on time (directory refresh, campaign schedule, retention, alerts).

    Any number of schedulers may run on any number of hosts: each due job runs once, on
    whichever scheduler claims it first (a database lease, see `advocacy jobs list`).
    SIGINT/SIGTERM stop it after the running job.
    """
    scheduler = Scheduler(name)
    jobs = ", ".join(
        f"{spec.name} ({describe_interval(spec, current_app.config)})" for spec in registered_jobs()
    )
    click.echo(f"Scheduler {scheduler.name}: {jobs}", err=True)
    stop = threading.Event()
    with stop_on_signals(stop, "the running job"):
        results = scheduler.run(loop=not once, interval=interval, stop=stop, report=_echo_result)
    if once and not any(r.ran for r in results):
        click.echo("no job was due")
    if once and any(r.status == "failed" for r in results):
        sys.exit(EXIT_FAILED)


@click.group("jobs")
def jobs_group() -> None:
    """List the periodic jobs or run one now (for cron)."""


@jobs_group.command("list")
@with_appcontext
@needs_database
def list_command() -> None:
    """Each job: how often, last run (status, when, detail), next run, who holds it now."""
    rows = job_rows()
    now = utcnow()
    for spec in registered_jobs():
        row = rows.get(spec.name)
        every = describe_interval(spec, current_app.config)
        click.echo(f"{spec.name}  every {every}  {spec.description}")
        if row is None or row.last_started_at is None:
            click.echo("    last: never run")
        else:
            finished = (
                f"{row.last_finished_at:%Y-%m-%d %H:%M:%S} UTC" if row.last_finished_at else "-"
            )
            click.echo(
                f"    last: {row.last_status or 'running'} at {finished}: {row.last_detail or ''}"
            )
        if row is not None and row.next_run_at is not None and every != "off":
            late = overdue(spec, row, now)
            note = f" (overdue by {int(late.total_seconds())}s)" if late else ""
            click.echo(f"    next: {row.next_run_at:%Y-%m-%d %H:%M:%S} UTC{note}")
        if row is not None and row.lease_until is not None and row.lease_until > now:
            click.echo(f"    running on {row.holder} (lease until {row.lease_until:%H:%M:%S} UTC)")


@jobs_group.command("run")
@click.argument("name")
@click.option("--if-due", is_flag=True, help="Only run it when it is due (as the scheduler).")
@with_appcontext
@needs_database
def run_command(name: str, if_due: bool) -> None:
    """Run job NAME now, unless it is running elsewhere (exit 3). Exit 1 when it fails."""
    spec = get_job(name)
    if spec is None:
        names = ", ".join(s.name for s in registered_jobs())
        raise click.BadParameter(f"no job named {name!r} (jobs: {names})", param_hint="NAME")
    result = run_job(spec, due_only=if_due)
    _echo_result(result)
    if result.status == "failed":
        sys.exit(EXIT_FAILED)
    if result.status == "busy":
        sys.exit(EXIT_BUSY)
