from __future__ import annotations

import json
import sys
from datetime import date, datetime, time, timedelta
from typing import NoReturn

import click
from flask import current_app
from flask.cli import with_appcontext

from ..dbtypes import utcnow
from ..urls import site_zone
from . import changes, directory, openstates, photos
from .known_vacancies import KnownVacancyError, known_vacancies
from .registry import STATES
from .service import BadAddress, CensusUnavailable, lookup_address

EXIT_BAD_INPUT = 2
EXIT_NO_MATCH = 3
EXIT_UPSTREAM = 4
DEFAULT_CHANGES_DAYS = 30


def _fail(message: str, code: int, as_json: bool) -> NoReturn:
    click.echo(message, err=True)
    if as_json:
        click.echo(json.dumps({"error": message}, ensure_ascii=False))
    sys.exit(code)


@click.command("lookup")
@click.argument("address")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@with_appcontext
def lookup_command(address: str, as_json: bool) -> None:
    """Find the state legislators for a street address.

    \b
    Exit status:
      0  matched, with at least one legislative district
      2  the input cannot be an address (empty, too long, no house number...)
      3  no match, or the Census matched the address but it maps to no district
      4  the Census geocoder failed (with --json, {"error": ...} is printed too)
    """
    try:
        result = lookup_address(address)
    except BadAddress as exc:
        _fail(str(exc), EXIT_BAD_INPUT, as_json)
    except CensusUnavailable as exc:
        _fail(f"The Census geocoder is unavailable: {exc}", EXIT_UPSTREAM, as_json)
    for note in result.notes:
        click.echo(note, err=True)
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False))
    elif result.confidence != "none":
        click.echo(f"Matched: {result.matched_address} ({result.confidence})")
        for group in result.districts:
            vacant = (
                "vacancies unknown (no directory data)"
                if group.vacancies is None
                else f"{group.vacancies} vacant"
            )
            click.echo(f"{group.chamber} {group.district}: {group.seats} seat(s), {vacant}")
            for member in group.members:
                click.echo(f"  {member.name} ({member.party}) {member.email or ''}")
    if result.confidence == "none":
        sys.exit(EXIT_NO_MATCH)
    if not result.districts:
        click.echo(
            f"No legislative district found: the Census matched {result.matched_address}, "
            "but it maps to no current state legislative district.",
            err=True,
        )
        sys.exit(EXIT_NO_MATCH)


@click.group("directory")
def directory_group() -> None:
    """The local legislator directory (Open States' people data)."""


@directory_group.command("sync")
@click.option("--state", "states", multiple=True, help="Two-letter code; repeat for several.")
@click.option(
    "--source",
    default=None,
    help=(
        "Open States' people repository as a .tar.gz archive (URL or file) or a folder holding "
        "its data/ folder; or the base URL or folder of the bulk {abbr}.csv files "
        "(default ADVOCACY_OPENSTATES_DATA_URL)."
    ),
)
@click.option(
    "--accept-large-change",
    is_flag=True,
    help="Load a roster even if it removes more than a fifth of the state's legislators.",
)
@click.option(
    "--no-photos",
    is_flag=True,
    help="Do not download the legislators' photos (`advocacy directory photos` does it later).",
)
@with_appcontext
def sync_command(
    states: tuple[str, ...], source: str | None, accept_large_change: bool, no_photos: bool
) -> None:
    """Load current legislators; each state is replaced atomically or not at all. Then
    download the photos of the states loaded (new or changed ones only).

    Staff (ADVOCACY_ALERT_EMAIL) get one mail listing who joined, left or changed."""
    config = current_app.config
    people_source = openstates.people_source(
        source or config["OPENSTATES_DATA_URL"],
        timeout=config["OPENSTATES_TIMEOUT"],
        vacancies_url=config["OPENSTATES_VACANCIES_URL"],
    )
    chosen = [s.lower() for s in states] or list(STATES)
    try:
        known_vacancies()  # a broken app list stops the sync before anything changes
    except (OSError, KnownVacancyError) as exc:
        click.echo(f"cannot read the known vacancies: {exc}", err=True)
        sys.exit(1)
    with click.progressbar(
        length=len(chosen),
        label="Loading rosters",
        file=sys.stderr,
        item_show_func=lambda state: state.upper() if state else None,
    ) as bar:
        refreshed = changes.refresh(
            people_source,
            chosen,
            actor="cli",
            accept_large_change=accept_large_change,
            progress=lambda state: bar.update(1, state),
        )
    failures = 0
    for result in refreshed.results:
        if result.refused:
            failures += 1
            click.echo(f"{result.state.upper()}: REFUSED, previous roster kept: {result.error}")
            continue
        if not result.ok:
            failures += 1
            click.echo(f"{result.state.upper()}: FAILED, previous roster kept: {result.error}")
            continue
        summary = (
            f"{result.state.upper()}: {result.count} legislators; "
            f"{len(result.joined)} joined, {len(result.left)} left, "
            f"{len(result.changed)} changed"
        )
        click.echo(summary)
        for label, names in (
            ("joined", result.joined),
            ("left", result.left),
            ("changed", result.changed),
        ):
            if names and len(names) <= 20:
                click.echo(f"    {label}: {', '.join(names)}")
        for unmatched in result.unmatched:
            click.echo(f"    warning: no such district in the registry: {unmatched}")
        for warning in result.warnings:
            click.echo(f"    warning: {warning}")
    if refreshed.alerted:
        click.echo(f"Alert mail about the changes queued to {refreshed.alerted}.")
    loaded = [result.state for result in refreshed.results if result.ok]
    if loaded and not no_photos:
        _sync_photos(loaded)
    if failures:
        sys.exit(1)


def _sync_photos(states: list[str] | None) -> None:
    with click.progressbar(length=0, label="Downloading photos", file=sys.stderr) as bar:

        def advance(done: int, total: int) -> None:
            bar.length = total
            bar.update(1)

        report = photos.sync_photos(states, progress=advance)
    click.echo(report.summary())
    for failure in report.failures[:20]:
        click.echo(f"    not downloaded: {failure}")
    if len(report.failures) > 20:
        click.echo(f"    ... and {len(report.failures) - 20} more (see the log)")


@directory_group.command("photos")
@click.option("--state", "states", multiple=True, help="Two-letter code; repeat for several.")
@with_appcontext
def photos_command(states: tuple[str, ...]) -> None:
    """Download the legislators' photos that are new or whose URL changed (default: every
    loaded state). A photo that cannot be had is reported and skipped; exit 0 all the same."""
    unknown = [s for s in states if s.lower() not in STATES]
    if unknown:
        click.echo(f"not a state we cover: {', '.join(unknown)}", err=True)
        sys.exit(2)
    _sync_photos([s.lower() for s in states] or None)


@directory_group.command("changes")
@click.option("--state", "states", multiple=True, help="Two-letter code; repeat for several.")
@click.option(
    "--since",
    default=None,
    help="First day to show, YYYY-MM-DD in ADVOCACY_TIMEZONE (default: the last 30 days).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list on stdout.")
@with_appcontext
def changes_command(states: tuple[str, ...], since: str | None, as_json: bool) -> None:
    """Who joined, left, or changed district, party, email or phone, newest first (a
    state's first load is not listed)."""
    unknown = [s for s in states if s.lower() not in STATES]
    if unknown:
        _fail(f"not a state we cover: {', '.join(unknown)}", EXIT_BAD_INPUT, as_json)
    zone = site_zone()
    try:
        first_day = (
            date.fromisoformat(since)
            if since
            else directory.site_today() - timedelta(days=DEFAULT_CHANGES_DAYS)
        )
    except ValueError:
        _fail(f"--since {since!r} is not a date such as 2027-01-15", EXIT_BAD_INPUT, as_json)
    start = datetime.combine(first_day, time(), tzinfo=zone)
    found = changes.changes_since(start, states)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "recorded_at": change.recorded_at.isoformat(),
                        "state": change.state.upper(),
                        "person_id": change.person_id,
                        "name": change.name,
                        "kind": change.kind,
                        "description": changes.describe(change),
                        "detail": change.detail,
                    }
                    for change in found
                ],
                ensure_ascii=False,
            )
        )
        return
    where = ", ".join(s.upper() for s in states) or "all states"
    click.echo(f"Roster changes since {first_day.isoformat()} ({where}): {len(found)}")
    for change in found:
        when = change.recorded_at.astimezone(zone).strftime("%Y-%m-%d")
        click.echo(
            f"{when}  {change.state.upper()}  {change.kind:7}  {change.name}: "
            f"{changes.describe(change)}"
        )


@directory_group.command("status")
@with_appcontext
def status_command() -> None:
    """Show when each state's roster was loaded."""
    rows = {row.state: row for row in directory.directory_states()}
    now = utcnow()
    for state in STATES:
        row = rows.get(state)
        if row is None:
            click.echo(f"{state.upper()}  never loaded")
            continue
        age = now - row.synced_at
        flag = "  STALE" if age > directory.STALE_AFTER else ""
        click.echo(
            f"{state.upper()}  {row.legislator_count:4d} legislators  loaded "
            f"{row.synced_at:%Y-%m-%d %H:%M} UTC ({age.days} days ago){flag}"
        )
