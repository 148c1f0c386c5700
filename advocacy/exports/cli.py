"""``advocacy export tallies|supporters`` and ``advocacy retention apply``."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from ..actions.models import Contact
from ..admin import audit
from ..campaigns import service as campaign_service
from ..campaigns.models import Campaign
from ..dbstatus import needs_database
from ..extensions import db
from . import supporters, tallies
from .retention import apply_retention

BY_HELP = "Comma-separated groupings: " + ", ".join(tallies.DIMENSIONS) + "."


def _campaign(slug: str) -> Campaign:
    campaign = campaign_service.get_campaign(slug)
    if campaign is None:
        click.echo(f"no campaign with the slug {slug!r} (see `advocacy campaigns list`)", err=True)
        sys.exit(1)
    return campaign


def write_chunks(chunks: Iterable[bytes], output: Path | None) -> int:
    """Write to ``output`` (atomically: a partial file never has the final name) or stdout."""
    written = 0
    if output is None or str(output) == "-":
        stream: BinaryIO = sys.stdout.buffer
        for chunk in chunks:
            stream.write(chunk)
            written += len(chunk)
        stream.flush()
        return written
    partial = output.with_name(output.name + ".partial")
    try:
        with partial.open("wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
                written += len(chunk)
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
    return written


def export_tallies_to(
    tally: tallies.TallyRequest, output: Path | None, progress: bool = False
) -> tuple[int, int]:
    """The CLI's export path (also what the benchmark measures). Returns (rows, contacts);
    contacts is -1 without ``progress`` (only the progress bar adds them up)."""
    counted = {"rows": 0, "contacts": 0}

    def add_rows(count: int) -> None:
        counted["rows"] += count

    if not progress:
        write_chunks(tallies.csv_stream(tally, on_rows=add_rows), output)
        return counted["rows"], -1
    # The bar's length is the number of contacts selected; each row moves it by its count.
    total = int(
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Contact).where(*tallies.contact_filters(tally))
        )
        or 0
    )
    with click.progressbar(
        length=total, label="Exporting tallies", file=sys.stderr, show_pos=True
    ) as bar:

        def advancing(rows: Iterator[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
            step = 0
            for row in rows:
                counted["contacts"] += row[-1]
                step += row[-1]
                if step >= 10_000:
                    bar.update(step)
                    step = 0
                yield row
            bar.update(step)

        rows = advancing(tallies.iter_rows(tally))
        write_chunks(tallies.csv_stream(tally, on_rows=add_rows, rows=rows), output)
    return counted["rows"], counted["contacts"]


@click.group("export")
def export_group() -> None:
    """Tallies and supporter lists as CSV files."""


@export_group.command("tallies")
@click.option("--campaign", "slug", required=True, help="The campaign's slug.")
@click.option("--by", default=",".join(tallies.DEFAULT_BY), show_default=True, help=BY_HELP)
@click.option("--from", "start", default=None, help="First local day (YYYY-MM-DD), included.")
@click.option("--to", "end", default=None, help="Last local day (YYYY-MM-DD), included.")
@click.option("--state", default=None, help="Only contacts to this state's legislators.")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write (default: standard output). Shows a progress bar.",
)
@with_appcontext
@needs_database
def export_tallies_command(
    slug: str, by: str, start: str | None, end: str | None, state: str | None, output: Path | None
) -> None:
    """Counts of contacts grouped by --by: the same bytes as the web export."""
    campaign = _campaign(slug)
    try:
        tally = tallies.tally_request(campaign, by=by, start=start, end=end, state=state)
    except tallies.TallyProblem as exc:
        raise click.UsageError(str(exc)) from None
    audit.record("tallies.exported", campaign.slug, {**tally.describe(), "via": "cli"})
    db.session.commit()
    began = time.monotonic()
    to_file = output is not None and str(output) != "-"
    rows, contacts = export_tallies_to(tally, output, progress=to_file)
    if to_file:
        click.echo(
            f"wrote {rows} row(s) ({contacts} contact(s)) to {output} "
            f"in {time.monotonic() - began:.1f} s",
            err=True,
        )


@export_group.command("supporters")
@click.option("--campaign", "slug", required=True, help="The campaign's slug.")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write (default: standard output).",
)
@with_appcontext
@needs_database
def export_supporters_command(slug: str, output: Path | None) -> None:
    """People who opted in: names, emails, addresses (personal data; audited)."""
    campaign = _campaign(slug)
    audit.record("supporters.exported", campaign.slug, {"via": "cli"})
    db.session.commit()
    counted = {"rows": 0}
    stream = supporters.csv_stream(
        campaign,
        str(current_app.config["TIMEZONE"]),
        on_rows=lambda n: counted.__setitem__("rows", counted["rows"] + n),
    )
    write_chunks(stream, output)
    if output is not None and str(output) != "-":
        click.echo(f"wrote {counted['rows']} supporter(s) to {output}", err=True)


@click.group("retention")
def retention_group() -> None:
    """Remove personal data older than ADVOCACY_RETENTION_DAYS."""


@retention_group.command("apply")
@with_appcontext
@needs_database
def retention_apply_command() -> None:
    """Anonymise actions older than ADVOCACY_RETENTION_DAYS; tallies stay the same."""
    report = apply_retention()
    click.echo(report.message)
