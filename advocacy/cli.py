"""The ``advocacy`` command line. Each feature adds its own click group here."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from .actions.samples import sample_visitors
from .campaigns import service as campaign_service
from .campaigns.loader import campaign_files, load_file
from .config import reference
from .dbstatus import needs_database


def register_commands(app: Flask) -> None:
    app.cli.add_command(serve_command)
    app.cli.add_command(campaigns_group)
    from .lookup.cli import directory_group, lookup_command

    app.cli.add_command(directory_group)
    app.cli.add_command(lookup_command)
    from .delivery.cli import deliver_group, inbound_command

    app.cli.add_command(deliver_group)
    app.cli.add_command(inbound_command)
    from .admin.cli import users_group

    app.cli.add_command(users_group)
    from .health import metrics_group
    from .jobs.cli import jobs_group, scheduler_command

    app.cli.add_command(scheduler_command)
    app.cli.add_command(jobs_group)
    app.cli.add_command(metrics_group)
    from .exports.cli import export_group, retention_group

    app.cli.add_command(export_group)
    app.cli.add_command(retention_group)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", default=128, show_default=True, type=click.IntRange(min=2))
@with_appcontext
def serve_command(host: str, port: int, threads: int) -> None:
    """Apply migrations, sync campaign files, and serve with waitress."""
    from flask_migrate import upgrade
    from waitress import serve

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    upgrade()
    report = campaign_service.sync_folder(Path(app.config["CAMPAIGNS_DIR"]), sample_visitors)
    for problem in report.problems:
        click.echo(f"campaign file problem: {problem}", err=True)
    for warning in report.warnings:
        click.echo(f"campaign file {warning}", err=True)
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 - display only
    click.echo(f"Database: {app.config['SQLALCHEMY_DATABASE_URI']}")
    click.echo(f"Delivery mode: {app.config['DELIVERY_MODE']}")
    from .lookup.directory import directory_states

    if not directory_states():
        click.echo(
            "The legislator directory is empty: address lookups will find no one until "
            "you run `advocacy directory sync` (add --source FOLDER for local files)."
        )
    click.echo(f"Open http://{shown_host}:{port}/ in your browser (Ctrl+C to stop).", err=False)
    sys.stdout.flush()
    # Address lookups wait on the Census in threads; pages keep a quarter of them.
    app.config["SERVER_THREADS"] = threads
    serve(
        app,
        host=host,
        port=port,
        threads=threads,
        ident="advocacy",
        # Room for every thread's connection and more waiting; poll() has no limit on
        # descriptor numbers, where select() stops at 1024.
        connection_limit=max(100, threads * 4),
        asyncore_use_poll=True,
    )


@click.group("campaigns")
def campaigns_group() -> None:
    """Validate, load and list campaign files."""


@campaigns_group.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@with_appcontext
def validate_command(paths: tuple[Path, ...]) -> None:
    """Check campaign files (default: every file in the campaigns folder)."""
    files: list[Path] = []
    for path in paths or (Path(current_app.config["CAMPAIGNS_DIR"]),):
        files.extend(campaign_files(path) if path.is_dir() else [path])
    if not files:
        click.echo("no campaign files found", err=True)
        sys.exit(1)
    failed = warned = 0
    for file in files:
        result = load_file(file, sample_visitors)
        if result.ok and not result.warnings:
            click.echo(f"ok  {file}")
            continue
        failed += not result.ok
        warned += bool(result.warnings)
        for problem in result.problems:
            click.echo(str(problem))
        for warning in result.warnings:
            click.echo(str(warning))
    if failed:
        click.echo(f"{failed} of {len(files)} campaign file(s) have problems", err=True)
    if warned:
        click.echo(
            f"{warned} of {len(files)} campaign file(s) have warnings: messages that read "
            "wrong for some sample visitors",
            err=True,
        )
    if failed or warned:
        sys.exit(1)


@campaigns_group.command("sync")
@with_appcontext
@needs_database
def sync_command() -> None:
    """Load campaign files into the database (a changed file becomes a new version)."""
    report = campaign_service.sync_folder(
        Path(current_app.config["CAMPAIGNS_DIR"]), sample_visitors
    )
    for slug in report.created:
        click.echo(f"created   {slug}")
    for slug in report.updated:
        click.echo(f"new version {slug}")
    for slug in report.unchanged:
        click.echo(f"unchanged {slug}")
    for name in report.skipped:
        click.echo(f"skipped   {name}")
    for problem in report.problems:
        click.echo(str(problem), err=True)
    for warning in report.warnings:  # loaded all the same; `campaigns validate` fails on them
        click.echo(str(warning), err=True)
    if report.problems:
        sys.exit(1)


@campaigns_group.command("list")
@with_appcontext
@needs_database
def list_command() -> None:
    """Show every campaign with its status and current version."""
    campaigns = campaign_service.list_campaigns()
    if not campaigns:
        click.echo("no campaigns (run: advocacy campaigns sync)")
        return
    for campaign in campaigns:
        version = campaign.current_version.number if campaign.current_version else "-"
        state = campaign_service.public_state(campaign).key
        click.echo(
            f"{campaign.slug:40} {state:10} v{version:<4} {campaign.source:6} {campaign.title}"
        )


@click.group("config")
def config_group() -> None:
    """The settings (ADVOCACY_* environment variables)."""


@config_group.command("reference")
def reference_command() -> None:
    """Print docs/configuration.md: every setting, its default and meaning."""
    click.echo(reference(), nl=False)


def _create_app() -> Flask:
    from . import create_app

    return create_app()


main = FlaskGroup(
    name="advocacy",
    create_app=_create_app,
    add_version_option=False,
    load_dotenv=False,
    help="Constituent advocacy action site.",
)
# Needs no app (and so no database or instance folder): added to the group itself.
main.add_command(config_group)
