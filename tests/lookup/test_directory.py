"""Directory sync: atomic per state, history of changes, bad files keep the previous roster."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from advocacy.extensions import db
from advocacy.lookup.cli import status_command, sync_command
from advocacy.lookup.directory import sync_states
from advocacy.lookup.models import DirectoryState, Legislator, RosterChange
from advocacy.lookup.openstates import BulkPeopleSource
from tests.fakes.upstream import FakeUpstreams
from tests.lookup.people import HEADER, ROSTERS, Row, people_csv, write_state


def count(model: type, **filters: object) -> int:
    query = select(func.count()).select_from(model)
    for key, value in filters.items():
        query = query.where(getattr(model, key) == value)
    return db.session.scalar(query) or 0


def test_sync_from_folder_prints_summary_and_status(app: Flask, people_dir: Path) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        sync_command, ["--source", str(people_dir), "--state", "nh", "--state", "wa"]
    )
    assert result.exit_code == 0, result.output
    assert "NH: 6 legislators; 6 joined, 0 left, 0 changed" in result.output
    assert count(Legislator, state="nh") == 6
    status = runner.invoke(status_command).output
    assert "NH     6 legislators" in status and "0 days ago" in status
    assert "TX  never loaded" in status


def test_changes_are_recorded_as_history(app: Flask, people_dir: Path) -> None:
    source = BulkPeopleSource(str(people_dir))
    sync_states(source, ["nh"])
    rows = list(ROSTERS["nh"])
    leaving = rows.pop(1)  # Ada Alder leaves
    rows[0] = Row("upper", "15", "Sam", "Senator", email="sam.new@leg.example.gov")
    rows.append(Row("lower", "Hillsborough 23", "Fay", "Fir"))
    write_state(people_dir, "nh", rows)
    [result] = sync_states(source, ["nh"])
    assert result.ok
    assert result.left == [leaving.name]
    assert result.joined == ["Fay Fir"]
    assert result.changed == ["Sam Senator"]
    change = db.session.scalar(select(RosterChange).where(RosterChange.kind == "changed"))
    assert change is not None
    assert change.detail == {"email": ["sam@leg.example.gov", "sam.new@leg.example.gov"]}
    assert count(RosterChange, state="nh", kind="left") == 1


def test_district_change_is_recorded(app: Flask, people_dir: Path, tmp_path: Path) -> None:
    source = BulkPeopleSource(str(people_dir))
    sync_states(source, ["nh"])
    text = (
        (people_dir / "nh.csv")
        .read_text()
        .replace(",Hillsborough 23,lower,Ben,", ",Hillsborough 40,lower,Ben,")
    )
    (people_dir / "nh.csv").write_text(text)
    [result] = sync_states(source, ["nh"])
    assert result.changed == ["Ben Birch"]
    change = db.session.scalar(select(RosterChange).where(RosterChange.kind == "changed"))
    assert change is not None and change.detail == {
        "district": ["Hillsborough 23", "Hillsborough 40"]
    }


def test_missing_column_keeps_previous_roster(app: Flask, people_dir: Path) -> None:
    source = BulkPeopleSource(str(people_dir))
    sync_states(source, ["nh"])
    write_state(
        people_dir, "nh", ROSTERS["nh"][:2], columns=[c for c in HEADER if c != "current_district"]
    )
    result = app.test_cli_runner().invoke(
        sync_command, ["--source", str(people_dir), "--state", "nh"]
    )
    assert result.exit_code == 1
    assert (
        "NH: FAILED, previous roster kept" in result.output and "current_district" in result.output
    )
    assert count(Legislator, state="nh") == 6


def test_malformed_csv_keeps_previous_roster(app: Flask, people_dir: Path) -> None:
    source = BulkPeopleSource(str(people_dir))
    sync_states(source, ["nh", "wa"])
    before = db.session.get(DirectoryState, "nh")
    assert before is not None
    synced_at = before.synced_at
    good = people_csv(ROSTERS["nh"])
    broken = good + 'ocd-person/x,"unterminated\n'
    for bad in (
        broken,
        good.splitlines()[0] + "\n",
        "not,a,people,file\n1,2,3,4\n",
        good.replace("ocd-person/", "person/"),
    ):
        (people_dir / "nh.csv").write_text(bad)
        [result] = sync_states(source, ["nh"])
        assert not result.ok and result.error
    db.session.expire_all()
    after = db.session.get(DirectoryState, "nh")
    assert after is not None and after.synced_at == synced_at
    assert count(Legislator, state="nh") == 6


def test_one_state_failing_does_not_stop_the_others(app: Flask, people_dir: Path) -> None:
    (people_dir / "wa.csv").unlink()
    results = {r.state: r for r in sync_states(BulkPeopleSource(str(people_dir)), ["wa", "nh"])}
    assert not results["wa"].ok and "cannot read" in (results["wa"].error or "")
    assert results["nh"].ok and count(Legislator, state="nh") == 6


def test_sync_over_http_from_the_bulk_url(app: Flask, upstream: FakeUpstreams) -> None:
    upstream.people["nh"] = people_csv(ROSTERS["nh"]).replace("\n", "\r\n").encode("utf-8")
    result = app.test_cli_runner().invoke(sync_command, ["--state", "nh", "--state", "vt"])
    assert "NH: 6 legislators" in result.output
    assert "VT: FAILED, previous roster kept: cannot download" in result.output
    assert "HTTP 404" in result.output
    assert result.exit_code == 1
    upstream.mode = "500"
    again = app.test_cli_runner().invoke(sync_command, ["--state", "nh"])
    assert "NH: FAILED" in again.output and count(Legislator, state="nh") == 6


def test_live_file_with_empty_capitol_columns_still_loads(app: Flask, people_dir: Path) -> None:
    """Open States' published files have empty capitol_* columns (openstates/issues#1392)."""
    text = (
        people_csv(ROSTERS["wa"]).replace("State House; Capitol City", "").replace("555-0100", "")
    )
    (people_dir / "wa.csv").write_text(text)
    assert sync_states(BulkPeopleSource(str(people_dir)), ["wa"])[0].ok
    legislator = db.session.scalar(select(Legislator).where(Legislator.state == "wa"))
    assert legislator is not None and legislator.capitol_phone is None
