"""``advocacy export tallies|supporters`` and ``advocacy retention apply``: the same bytes as the
web export, clear exits for bad input, a file written whole."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from advocacy.admin.models import AuditEntry
from advocacy.campaigns.models import Campaign
from advocacy.extensions import db
from tests.exports.data import SLUG

GROUPINGS = [
    "state",
    "chamber",
    "district",
    "legislator",
    "day",
    "channel,status",
    "day,state,chamber,district,legislator,channel,status",
]


@pytest.mark.parametrize("by", GROUPINGS)
@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
def test_cli_and_web_exports_are_byte_identical(
    app: Flask, seeded: Campaign, as_role, tmp_path: Path, by: str, zone: str  # type: ignore[no-untyped-def]
) -> None:
    app.config["TIMEZONE"] = zone
    filters = ["--from", "2026-03-01", "--to", "2026-03-09"]
    web = as_role("organizer").get(
        f"/campaigns/{SLUG}/export.csv?by={by}&from=2026-03-01&to=2026-03-09"
    )
    assert web.status_code == 200
    output = tmp_path / "tallies.csv"
    result = app.test_cli_runner().invoke(
        args=["export", "tallies", "--campaign", SLUG, "--by", by, *filters, "-o", str(output)]
    )
    assert result.exit_code == 0, result.output
    assert output.read_bytes() == web.get_data()
    stdout = app.test_cli_runner().invoke(
        args=["export", "tallies", "--campaign", SLUG, "--by", by, *filters]
    )
    assert stdout.exit_code == 0
    assert stdout.stdout_bytes == web.get_data()


def test_cli_export_to_a_file_reports_and_is_audited(
    app: Flask, seeded: Campaign, tmp_path: Path
) -> None:
    output = tmp_path / "out.csv"
    result = app.test_cli_runner().invoke(
        args=["export", "tallies", "--campaign", SLUG, "--by", "legislator", "-o", str(output)]
    )
    assert result.exit_code == 0, result.output
    assert "Exporting tallies" in result.stderr  # the progress bar (a label when not a TTY)
    assert f"wrote 7 row(s) (16 contact(s)) to {output}" in result.stderr
    assert not list(tmp_path.glob("*.partial"))
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "tallies.exported"))
    assert entry is not None and entry.actor == "cli" and entry.detail["via"] == "cli"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--by", "state,horoscope"], "unknown grouping 'horoscope'"),
        (["--from", "2026-02-31"], "from is not a real date"),
        (["--to", "tomorrow"], "to must be a date written YYYY-MM-DD"),
        (["--from", "2026-03-09", "--to", "2026-03-01"], "is after to"),
        (["--state", "ZZ"], "state must be a two-letter state abbreviation"),
    ],
)
def test_bad_cli_input_exits_2_with_the_reason(
    app: Flask, seeded: Campaign, tmp_path: Path, arguments: list[str], message: str
) -> None:
    output = tmp_path / "never.csv"
    result = app.test_cli_runner().invoke(
        args=["export", "tallies", "--campaign", SLUG, *arguments, "--output", str(output)]
    )
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert not output.exists()


def test_unknown_campaign_exits_1(app: Flask, seeded: Campaign) -> None:
    result = app.test_cli_runner().invoke(args=["export", "tallies", "--campaign", "nope"])
    assert result.exit_code == 1
    assert "no campaign with the slug 'nope'" in result.output


def test_supporters_from_the_cli_match_the_web(
    app: Flask, seeded: Campaign, as_role, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    web = as_role("admin").get(f"/admin/c/{SLUG}/supporters.csv").get_data()
    output = tmp_path / "supporters.csv"
    result = app.test_cli_runner().invoke(
        args=["export", "supporters", "--campaign", SLUG, "--output", str(output)]
    )
    assert result.exit_code == 0, result.output
    assert output.read_bytes() == web
    assert "wrote 3 supporter(s)" in result.stderr


def test_retention_apply_says_when_it_is_off(app: Flask, seeded: Campaign) -> None:
    app.config["RETENTION_DAYS"] = 0
    result = app.test_cli_runner().invoke(args=["retention", "apply"])
    assert result.exit_code == 0
    assert "retention is off" in result.output


def test_retention_apply_from_the_cli(app: Flask, seeded: Campaign) -> None:
    app.config["RETENTION_DAYS"] = 1  # every seeded action is older than a day
    result = app.test_cli_runner().invoke(args=["retention", "apply"])
    assert result.exit_code == 0, result.output
    # a2 still has a message waiting in the outbox; the other five, and the other campaign's
    # action, are anonymised
    assert "removed personal data of 6 action(s) older than 1 day(s)" in result.output
    assert "1 action(s) kept until their mail is delivered" in result.output
