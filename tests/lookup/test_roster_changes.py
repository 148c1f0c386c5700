"""Roster changes staff can see: one alert mail per refresh with changes (through the outbox and
the delivery mode), `advocacy directory changes`, and the large-change guard."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from advocacy.alerts import StaffAlert
from advocacy.delivery.models import OutboxMessage
from advocacy.delivery.worker import Worker
from advocacy.extensions import db
from advocacy.lookup.changes import refresh
from advocacy.lookup.cli import changes_command, sync_command
from advocacy.lookup.directory import site_today, sync_states
from advocacy.lookup.models import DirectoryRefresh, Legislator
from advocacy.lookup.openstates import people_source
from tests.lookup.people import ROSTERS, Row, full_legislature
from tests.lookup.yaml_people import after_the_election, person, write_nh, write_repo

STAFF = "staff@speakup.example.org"


def next_month() -> date:
    return site_today() + timedelta(days=30)


def count(model: type, *where: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


@pytest.fixture
def nh_repo(app: Flask, tmp_path: Path) -> Path:
    """New Hampshire loaded once from the YAML folder (a first load: no alert)."""
    app.config.update(ALERT_EMAIL=STAFF, SITE_URL="https://speakup.example.org")
    root = write_nh(tmp_path / "people", [person("nh", row) for row in ROSTERS["nh"]])
    app.config["OPENSTATES_DATA_URL"] = str(root)
    first = app.test_cli_runner().invoke(sync_command, ["--state", "nh"])
    assert first.exit_code == 0 and "NH: 6 legislators; 6 joined" in first.output
    assert "Alert mail" not in first.output and count(OutboxMessage) == 0
    return root


def delivered_alerts(app: Flask) -> list[Any]:
    """Run the delivery worker (log mode) and read the alert mails it wrote."""
    Worker("test").run_batch()
    return [
        message_from_bytes(path.read_bytes(), policy=policy.default)
        for path in sorted(Path(app.config["MAIL_LOG_DIR"]).glob("alert-*.eml"))
    ]


def test_a_refresh_with_changes_mails_staff_once_through_the_outbox(
    app: Flask, nh_repo: Path
) -> None:
    write_nh(nh_repo, after_the_election(next_month()))
    runner = app.test_cli_runner()
    result = runner.invoke(sync_command, ["--state", "nh"])
    assert result.exit_code == 0, result.output
    assert "NH: 7 legislators; 2 joined, 1 left, 4 changed" in result.output
    assert f"Alert mail about the changes queued to {STAFF}." in result.output
    [queued] = db.session.scalars(select(OutboxMessage))
    assert (queued.kind, queued.status) == ("alert", "pending")

    [mail] = delivered_alerts(app)  # the log mode writes it to the mail log
    assert mail["To"] == STAFF
    assert mail["Subject"] == "[Speak Up] Legislator directory: changes in NH"
    body = mail.get_content()
    starts = next_month().isoformat()
    for line in (
        "New Hampshire (NH): 7 legislators; 2 joined, 1 left, 4 changed",
        f"  joined: Fay Fir: House, Hillsborough 23, Democratic; takes office {starts}",
        "  joined: Gil Gale: House, Hillsborough 23, Independent",
        "  left: Ada Alder: House, Hillsborough 23, Independent",
        "  changed: Ben Birch: district from Hillsborough 23 to Hillsborough 40",
        "  changed: Cy Cedar: party from Independent to Republican",
        "  changed: Di Dogwood: capitol phone from 555-0100 to 603-271-3661",
        "  changed: Sam Senator: email from sam@leg.example.gov to sam.senator@leg.example.gov",
        "https://speakup.example.org/admin/directory",
    ):
        assert line in body, line
    db.session.expire_all()
    assert db.session.scalars(select(OutboxMessage.status)).all() == ["sent"]

    # The same roster again: nothing changed, no second mail.
    again = runner.invoke(sync_command, ["--state", "nh"])
    assert "NH: 7 legislators; 0 joined, 0 left, 0 changed" in again.output
    assert "Alert mail" not in again.output and count(OutboxMessage) == 1


def test_without_an_alert_address_nothing_is_queued(app: Flask, nh_repo: Path) -> None:
    app.config["ALERT_EMAIL"] = ""
    write_nh(nh_repo, after_the_election(next_month()))
    result = app.test_cli_runner().invoke(sync_command, ["--state", "nh"])
    assert result.exit_code == 0 and "2 joined, 1 left, 4 changed" in result.output
    assert count(OutboxMessage) == 0 and count(StaffAlert) == 0


def test_changes_command_lists_them_as_text_and_json(app: Flask, nh_repo: Path) -> None:
    write_nh(nh_repo, after_the_election(next_month()))
    runner = app.test_cli_runner()
    assert runner.invoke(sync_command, ["--state", "nh"]).exit_code == 0
    today = site_today().isoformat()

    text = runner.invoke(changes_command, ["--state", "nh", "--since", today])
    assert text.exit_code == 0, text.output
    assert f"Roster changes since {today} (NH): 7" in text.output  # not the first load's 6 joins
    assert f"{today}  NH  left     Ada Alder: House, Hillsborough 23, Independent" in text.output
    assert f"{today}  NH  changed  Cy Cedar: party from Independent to Republican" in text.output

    listed = json.loads(runner.invoke(changes_command, ["--json"]).output)
    assert len(listed) == 7
    left = next(item for item in listed if item["kind"] == "left")
    assert left["name"] == "Ada Alder" and left["state"] == "NH"
    assert left["person_id"] == ROSTERS["nh"][1].person_id
    assert left["description"] == "House, Hillsborough 23, Independent"

    later = (site_today() + timedelta(days=1)).isoformat()
    none = runner.invoke(changes_command, ["--since", later])
    assert none.exit_code == 0 and f"Roster changes since {later} (all states): 0" in none.output
    bad_date = runner.invoke(changes_command, ["--since", "last week"])
    assert bad_date.exit_code == 2
    assert "--since 'last week' is not a date such as 2027-01-15" in bad_date.output
    bad_state = runner.invoke(changes_command, ["--state", "zz", "--json"])
    assert bad_state.exit_code == 2
    assert json.loads(bad_state.stdout) == {"error": "not a state we cover: zz"}


# -- the large-change guard -----------------------------------------------------------------


def test_replacing_more_than_a_fifth_is_refused_alerted_and_loads_when_accepted(
    app: Flask, nh_repo: Path
) -> None:
    sam, ada, ben, cy, di, ed = ROSTERS["nh"]
    newcomers = [
        Row("lower", "Hillsborough 23", "Gus", "Gum"),
        Row("lower", "Hillsborough 23", "Hal", "Hazel"),
    ]
    write_nh(nh_repo, [person("nh", row) for row in (sam, cy, di, ed, *newcomers)])
    runner = app.test_cli_runner()
    refused = runner.invoke(sync_command, ["--state", "nh"])
    assert refused.exit_code == 1
    assert (
        "NH: REFUSED, previous roster kept: NH: the new roster would remove 2 of the 6 "
        "legislators loaded now (more than a fifth), so it was refused and the previous roster "
        "kept."
    ) in refused.output
    assert "--accept-large-change" in refused.output
    names = set(db.session.scalars(select(Legislator.name).where(Legislator.state == "nh")))
    assert names == {row.name for row in ROSTERS["nh"]}
    last = db.session.scalar(select(DirectoryRefresh).order_by(DirectoryRefresh.id.desc()))
    assert last is not None and (last.outcome, last.left, last.legislators) == ("refused", 2, 6)

    [mail] = delivered_alerts(app)
    assert mail["Subject"] == "[Speak Up] Legislator directory: refresh refused for NH"
    body = mail.get_content()
    assert "REFUSED New Hampshire (NH): NH: the new roster would remove 2 of the 6" in body
    assert "  would remove: Ada Alder, Ben Birch" in body

    accepted = runner.invoke(sync_command, ["--state", "nh", "--accept-large-change"])
    assert accepted.exit_code == 0, accepted.output
    assert "NH: 6 legislators; 2 joined, 2 left, 0 changed" in accepted.output
    names = set(db.session.scalars(select(Legislator.name).where(Legislator.state == "nh")))
    assert names == {"Sam Senator", "Cy Cedar", "Di Dogwood", "Ed Elm", "Gus Gum", "Hal Hazel"}


def test_a_fifth_exactly_is_loaded_and_one_more_is_refused(app: Flask, tmp_path: Path) -> None:
    """Alaska's 60 seats after an election: 12 new members load, 13 need acceptance."""
    sitting = full_legislature("ak")
    root = write_repo(tmp_path / "people", {"ak": [person("ak", row) for row in sitting]})
    assert sync_states(people_source(str(root)), ["ak"])[0].ok

    def elect(replaced: int, prefix: str) -> Any:
        rows = [
            replace(row, given=f"{prefix}{row.given}") if index < replaced else row
            for index, row in enumerate(sitting)
        ]
        folder = root / "data" / "ak" / "legislature"
        for old in folder.glob("*.yml"):
            old.unlink()
        write_repo(root, {"ak": [person("ak", row) for row in rows]})
        [result] = sync_states(people_source(str(root)), ["ak"])
        return result

    twelve = elect(12, "New")
    assert twelve.ok and (len(twelve.joined), len(twelve.left)) == (12, 12)
    thirteen = elect(13, "Newer")
    assert thirteen.refused and not thirteen.ok
    assert "would remove 13 of the 60 legislators loaded now" in (thirteen.error or "")
    assert count(Legislator, Legislator.state == "ak") == 60


def test_a_long_list_of_changes_is_cut_short_in_the_mail(app: Flask, tmp_path: Path) -> None:
    """Every phone changes (a new source): 40 names, then a count and where to see the rest."""
    app.config["ALERT_EMAIL"] = STAFF
    sitting = full_legislature("ak")
    root = write_repo(tmp_path / "people", {"ak": [person("ak", row) for row in sitting]})
    assert refresh(people_source(str(root)), ["ak"], actor="cli").alerted is None  # first load
    for old in (root / "data" / "ak" / "legislature").glob("*.yml"):
        old.unlink()
    renumbered = [replace(row, phone="907-555-0199") for row in sitting]
    write_repo(root, {"ak": [person("ak", row) for row in renumbered]})
    refreshed = refresh(people_source(str(root)), ["ak"], actor="scheduler")
    assert refreshed.alerted == STAFF
    [alert] = db.session.scalars(select(StaffAlert))
    assert alert.body.startswith("The legislator directory was refreshed (by scheduler).\n")
    assert "Alaska (AK): 60 legislators; 0 joined, 0 left, 60 changed" in alert.body
    listed = [line for line in alert.body.splitlines() if line.startswith("  changed: ")]
    assert len(listed) == 40
    assert all(line.endswith("capitol phone from 555-0100 to 907-555-0199") for line in listed)
    assert "  ... and 20 more changed: `advocacy directory changes --state AK`" in alert.body
