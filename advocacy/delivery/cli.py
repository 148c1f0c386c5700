"""``advocacy deliver``: run the outbox worker, requeue dead letters, show the queue."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import current_app
from flask.cli import with_appcontext

from ..processes import stop_on_signals
from .outbox import UnknownCampaign, outbox_counts, retry_dead_letters, unconfirmed_count
from .worker import DEFAULT_BATCH, DEFAULT_INTERVAL, DeliveryConfigError, run_workers


@click.group("deliver", invoke_without_command=True)
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit (the default).")
@click.option("--loop", is_flag=True, help="Keep delivering until stopped (SIGINT/SIGTERM).")
@click.option(
    "--batch",
    type=click.IntRange(1, 1000),
    default=DEFAULT_BATCH,
    show_default=True,
    help="Messages claimed at a time.",
)
@click.option(
    "--interval",
    type=click.FloatRange(0.0),
    default=DEFAULT_INTERVAL,
    show_default=True,
    help="Seconds to wait when nothing is due (--loop).",
)
@click.option(
    "--lease",
    type=click.FloatRange(1.0),
    default=None,
    help="Seconds a claim lasts before another worker may take the rows (default 300).",
)
@click.option("--name", default=None, help="Worker name recorded in claims (default host:pid).")
@click.option(
    "--threads",
    type=click.IntRange(1, 32),
    default=None,
    help="Messages sent at once, each thread with its own SMTP connection "
    "(default ADVOCACY_DELIVERY_THREADS, 2).",
)
@with_appcontext
@click.pass_context
def deliver_group(
    ctx: click.Context,
    once: bool,
    loop: bool,
    batch: int,
    interval: float,
    lease: float | None,
    name: str | None,
    threads: int | None,
) -> None:
    """Deliver queued messages (mode from ADVOCACY_DELIVERY_MODE; default `log`)."""
    if ctx.invoked_subcommand is not None:
        return
    if once and loop:
        raise click.UsageError("choose one of --once and --loop")
    count = threads or int(current_app.config["DELIVERY_THREADS"])
    click.echo(f"Delivery mode: {current_app.config['DELIVERY_MODE']}", err=True)
    stop = threading.Event()
    try:
        with stop_on_signals(stop, "this batch") if loop else _no_signals():
            report = run_workers(
                count,
                name,
                lease_seconds=lease,
                loop=loop,
                batch=batch,
                interval=interval,
                stop=stop,
            )
    except DeliveryConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(report.summary())


@contextmanager
def _no_signals() -> Iterator[None]:
    yield


@deliver_group.command("retry")
@click.option("--campaign", "campaign_slug", default=None, help="Only this campaign's messages.")
@with_appcontext
def retry_command(campaign_slug: str | None) -> None:
    """Requeue dead letters (attempts start again; due now).

    This includes messages whose worker died while sending them ("delivery may have
    happened"): check the mail server's log for their Message-ID first.
    """
    try:
        count = retry_dead_letters(campaign_slug)
    except UnknownCampaign as exc:
        raise click.ClickException(f"no campaign with slug {exc.args[0]!r}") from exc
    click.echo(f"requeued {count} dead letter(s)")


@deliver_group.command("status")
@with_appcontext
def status_command() -> None:
    """How many outbox messages are in each status."""
    counts = outbox_counts()
    for status in ("pending", "sending", "sent", "dead"):
        click.echo(f"{status:8} {counts.pop(status, 0)}")
    for status, count in sorted(counts.items()):
        click.echo(f"{status:8} {count}")
    unconfirmed = unconfirmed_count()
    if unconfirmed:
        click.echo(
            f"{unconfirmed} dead letter(s) may have been delivered (a worker died while "
            "sending them): check before `advocacy deliver retry`"
        )


@click.command("inbound")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (0.0.0.0: every interface, when it is the MX itself).",
)
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=2525,
    show_default=True,
    help="Port to listen on (25 when it is the MX itself).",
)
@with_appcontext
def inbound_command(host: str, port: int) -> None:
    """Receive bounce notices by SMTP until stopped (SIGINT/SIGTERM), and mark the messages
    they are about as bounced. Accepts mail for the site's bounce addresses only."""
    from .inbound import InboundConfigError, start_inbound

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        controller = start_inbound(app, host, port)
    except InboundConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from exc
    click.echo(f"Receiving bounce notices on {host}:{port} (Ctrl+C to stop).")
    stop = threading.Event()
    try:
        with stop_on_signals(stop, "the message being received"):
            stop.wait()
    finally:
        controller.stop()
