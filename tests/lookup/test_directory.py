"""Directory sync: atomic per state, history of changes, bad files keep the previous roster."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from advocacy.extensions import db
from advocacy.lookup.cli import status_command, sync_command
from advocacy.lookup.directory import SeatGroup, seat_groups, sync_states
from advocacy.lookup.known_vacancies import (
    KnownVacancyError,
    known_vacancies,
    parse_known_vacancies,
)
from advocacy.lookup.models import DirectoryState, Legislator, RosterChange, Vacancy
from advocacy.lookup.openstates import BulkPeopleSource
from advocacy.lookup.registry import registry_district
from tests.conftest import SHARED_PEOPLE, need_shared
from tests.fakes.upstream import FakeUpstreams
from tests.lookup.people import HEADER, ROSTERS, Row, full_legislature, people_csv, write_state


def seat_group(state: str, chamber: str, district: str, division_id: str) -> SeatGroup:
    return seat_groups([(state, chamber, district, division_id)])[0]

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


def test_truncated_csv_keeps_the_previous_roster(app: Flask, people_dir: Path) -> None:
    roster = full_legislature("ne")
    assert len(roster) == 49
    write_state(people_dir, "ne", roster)
    runner = app.test_cli_runner()
    first = runner.invoke(sync_command, ["--source", str(people_dir), "--state", "ne"])
    assert first.exit_code == 0 and "NE: 49 legislators" in first.output
    assert "warning" not in first.output
    before = db.session.get(DirectoryState, "ne")
    assert before is not None
    synced_at = before.synced_at
    text = (people_dir / "ne.csv").read_text()
    lines = text.splitlines(keepends=True)
    (people_dir / "ne.csv").write_text("".join(lines[:31]))  # cut at a line boundary: 30 rows
    result = runner.invoke(sync_command, ["--source", str(people_dir), "--state", "ne"])
    assert result.exit_code == 1
    assert (
        "NE: FAILED, previous roster kept: ne: the roster lists 30 current legislators "
        "for 49 seats (under 80%); it looks truncated and would drop 19 of the 49 people"
    ) in result.output
    db.session.expire_all()
    assert count(Legislator, state="ne") == 49
    after = db.session.get(DirectoryState, "ne")
    assert after is not None and after.synced_at == synced_at
    (people_dir / "ne.csv").write_text("".join(lines[:41]))  # 40 of 49: over 80%, accepted
    assert sync_states(BulkPeopleSource(str(people_dir)), ["ne"])[0].ok
    assert count(Legislator, state="ne") == 40


def test_short_first_load_is_loaded_with_a_warning(app: Flask, people_dir: Path) -> None:
    result = app.test_cli_runner().invoke(
        sync_command, ["--source", str(people_dir), "--state", "nh"]
    )
    assert result.exit_code == 0 and count(Legislator, state="nh") == 6
    assert (
        "warning: nh: the roster lists 6 current legislators for 424 seats (under 80%); "
        "loaded, but check the source is complete"
    ) in result.output


def test_truncated_real_roster_is_refused(app: Flask, tmp_path: Path) -> None:
    need_shared(SHARED_PEOPLE / "me.csv")
    folder = tmp_path / "real"
    folder.mkdir()
    text = (SHARED_PEOPLE / "me.csv").read_text(encoding="utf-8")
    (folder / "me.csv").write_text(text, encoding="utf-8")
    [loaded] = sync_states(BulkPeopleSource(str(folder)), ["me"])
    assert loaded.ok and loaded.count == 187 and not loaded.warnings
    lines = text.splitlines(keepends=True)
    (folder / "me.csv").write_text("".join(lines[:100]), encoding="utf-8")
    [refused] = sync_states(BulkPeopleSource(str(folder)), ["me"])
    assert not refused.ok and "looks truncated" in (refused.error or "")
    assert count(Legislator, state="me") == 187


def test_progress_bar_label_without_a_terminal(app: Flask, people_dir: Path) -> None:
    result = app.test_cli_runner().invoke(
        sync_command, ["--source", str(people_dir), "--state", "nh", "--state", "wa"]
    )
    assert result.exit_code == 0
    # Not a terminal: click writes the label once, to stderr, and no bar.
    assert result.stderr.count("Loading rosters") == 1 and "%" not in result.stderr
    assert "Loading rosters" not in result.stdout and "NH: 6 legislators" in result.stdout


def test_progress_bar_on_a_terminal(database_url: str, people_dir: Path, tmp_path: Path) -> None:
    """The real command on a pseudo-terminal draws the bar, with its label and the state."""
    main_fd, terminal_fd = pty.openpty()
    env = {
        **os.environ,
        "ADVOCACY_DATABASE_URL": database_url,
        "ADVOCACY_INSTANCE_DIR": str(tmp_path / "instance"),
        "ADVOCACY_SECRET_KEY": "test-secret",
        "COLUMNS": "120",
        "TERM": "xterm",
    }
    command = [sys.executable, "-m", "flask", "--app", "advocacy", "directory", "sync"]
    process = subprocess.Popen(
        [*command, "--source", str(people_dir), "--state", "nh", "--state", "wa"],
        stdin=terminal_fd,
        stdout=terminal_fd,
        stderr=terminal_fd,
        env=env,
        close_fds=True,
    )
    os.close(terminal_fd)
    chunks = []
    try:
        while True:
            try:
                chunk = os.read(main_fd, 4096)
            except OSError:  # EIO: the terminal closed with the process
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(main_fd)
        assert process.wait(timeout=60) == 0, b"".join(chunks)
    output = b"".join(chunks).decode("utf-8", "replace")
    assert "Loading rosters" in output and "100%" in output, output
    assert re.search(r"Loading rosters\s+\[#+\]\s+100%\s+WA", output), output
    assert "NH: 6 legislators" in output and "WA: 3 legislators" in output


def test_known_vacancies_are_recorded_by_the_sync(app: Flask, people_dir: Path) -> None:
    """DC At-Large and MN 21A are not on Open States' list; the app's own list has them."""
    entries = {(v.state, v.chamber, v.district): v for v in known_vacancies()}
    assert set(entries) >= {("dc", "legislature", "At-Large"), ("mn", "lower", "21A")}
    results = sync_states(BulkPeopleSource(str(people_dir)), ["dc", "mn"])  # no settings.yml
    assert all(r.ok for r in results), results
    assert not [w for r in results for w in r.warnings if "known vacancy" in w]
    at_large = seat_group("dc", "legislature", "At-Large", "ocd-division/country:us/district:dc")
    assert (at_large.seats, len(at_large.members), at_large.vacancies) == (4, 2, 2)
    assert at_large.vacancy_recorded and at_large.vacant_until is None
    mn_21a = seat_group("mn", "lower", "21A", "ocd-division/country:us/state:mn/sldl:21a")
    assert mn_21a.vacancies == 1 and mn_21a.vacancy_recorded
    unlisted = seat_group("mn", "lower", "21B", "ocd-division/country:us/state:mn/sldl:21b")
    assert unlisted.vacancies == 1 and not unlisted.vacancy_recorded


def test_open_states_date_wins_and_a_filled_known_seat_is_reported(
    app: Flask, people_dir: Path
) -> None:
    (people_dir / "settings.yml").write_text(
        "dc:\n  vacancies:\n  - chamber: legislature\n    district: At-Large\n"
        "    vacant_until: 2027-01-02\n"
    )
    sync_states(BulkPeopleSource(str(people_dir)), ["dc"])
    rows = list(db.session.scalars(select(Vacancy).where(Vacancy.state == "dc")))
    assert len(rows) == 1 and rows[0].vacant_until == datetime(2027, 1, 2, tzinfo=UTC)
    (people_dir / "settings.yml").unlink()
    full = [*ROSTERS["dc"], Row("legislature", "At-Large", "Uli", "Ulmus")]
    full.append(Row("legislature", "At-Large", "Vera", "Vetch"))
    write_state(people_dir, "dc", full)
    result = app.test_cli_runner().invoke(
        sync_command, ["--source", str(people_dir), "--state", "dc"]
    )
    assert (
        "warning: known vacancy legislature At-Large is filled now; remove it from "
        "known_vacancies.yaml"
    ) in result.output
    group = seat_group("dc", "legislature", "At-Large", "ocd-division/country:us/district:dc")
    assert group.vacancies == 0 and not group.vacancy_recorded


def test_known_vacancies_file_is_checked() -> None:
    for entry in known_vacancies():
        assert registry_district(entry.state, entry.chamber, entry.district), entry
        assert len(entry.source) > 40
    bad = "dc:\n  - chamber: legislature\n    district: At-Large\n    vacant_until: null\n"
    with pytest.raises(KnownVacancyError, match="needs a source"):
        parse_known_vacancies(bad)
    with pytest.raises(KnownVacancyError, match="unknown chamber"):
        parse_known_vacancies("dc:\n  - {chamber: house, district: '1', source: x}\n")
