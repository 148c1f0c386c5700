"""The real data (../shared): the whole people archive, served over HTTP, against the CSVs made
from it; and the phone numbers visitors get from the YAML and from the CSVs as Open States
publishes them (capitol columns empty, openstates/issues#1392)."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from advocacy.actions.recipients import legislator_recipient
from advocacy.extensions import db
from advocacy.lookup.directory import sync_states
from advocacy.lookup.models import Legislator, RosterChange
from advocacy.lookup.openstates import BulkPeopleSource, Roster, people_source
from advocacy.lookup.registry import STATES
from tests.conftest import SHARED_PEOPLE, SHARED_PEOPLE_YAML, need_shared
from tests.fakes.upstream import FakeUpstreams
from tests.lookup.conftest import PhoneReport

# "Current" in the shared CSVs means on this day (their README).
SNAPSHOT_DAY = date(2026, 11, 22)
CAPITOL_COLUMNS = ("capitol_address", "capitol_voice", "capitol_fax")
# States where not one legislator keeps a phone once the capitol columns are empty.
NO_PHONE_IN_LIVE_CSV = ("az", "co", "ct", "de", "hi", "ia", "in", "ks", "me", "mo", "ms", "nc")


def csv_rows(folder: Path, state: str) -> list[dict[str, str]]:
    with (folder / f"{state}.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def live_csvs(tmp_path: Path) -> Path:
    """The shared CSVs as Open States publishes them: capitol_address, capitol_voice and
    capitol_fax empty for everyone."""
    need_shared(SHARED_PEOPLE)
    folder = tmp_path / "live-csv"
    folder.mkdir()
    for path in sorted(SHARED_PEOPLE.glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
            columns = list(reader.fieldnames or [])
        with (folder / path.name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)  # CRLF, as upstream writes
            writer.writeheader()
            writer.writerows({**row, **dict.fromkeys(CAPITOL_COLUMNS, "")} for row in rows)
    return folder


def with_a_phone(people: list[Legislator]) -> int:
    return sum(1 for p in people if p.capitol_phone or p.district_phone or p.extra_phone)


def test_the_whole_archive_over_http_matches_the_csvs_and_keeps_the_phones(
    app: Flask, upstream: FakeUpstreams, live_csvs: Path, phone_report: PhoneReport
) -> None:
    need_shared(SHARED_PEOPLE_YAML)
    upstream.people_archive = SHARED_PEOPLE_YAML.read_bytes()
    source = people_source(upstream.archive_url)
    results = sync_states(source, list(STATES), today=SNAPSHOT_DAY)
    assert [r.error for r in results if not r.ok] == []
    assert [r.state for r in results] == sorted(STATES)  # the archive's order, one download
    live = {
        roster.state: roster.people
        for roster in BulkPeopleSource(str(live_csvs)).rosters(list(STATES), SNAPSHOT_DAY)
        if isinstance(roster, Roster)
    }
    assert set(live) == set(STATES)
    for state in STATES:
        expected = {row["id"]: row for row in csv_rows(SHARED_PEOPLE, state)}
        loaded = {
            p.id: p for p in db.session.scalars(select(Legislator).where(Legislator.state == state))
        }
        assert len(loaded) == len(expected), state
        assert set(loaded) == set(expected), state
        for person_id, row in expected.items():
            person = loaded[person_id]
            assert (person.chamber, person.district) == (
                row["current_chamber"],
                row["current_district"],
            ), person_id
            assert (person.party or "", person.email or "", person.image or "") == (
                row["current_party"],
                row["email"],
                row["image"],
            ), person_id
            # The CSVs keep the last office of a kind, the directory the first with a phone.
            assert bool(person.capitol_phone) >= bool(row["capitol_voice"]), person_id
            assert bool(person.district_phone) >= bool(row["district_voice"]), person_id
        from_csv = sum(1 for p in live[state] if p.capitol_phone or p.district_phone)
        from_yaml = with_a_phone(list(loaded.values()))
        assert from_yaml >= from_csv, state
        phone_report.states[state] = (len(loaded), from_yaml, from_csv)
    phone_report.write()
    totals = [sum(column) for column in zip(*phone_report.states.values(), strict=True)]
    assert totals == [7370, 7161, 1879]  # 97.2 % against 25.5 % (PR, not covered, aside)
    for state in NO_PHONE_IN_LIVE_CSV:
        legislators, from_yaml, from_csv = phone_report.states[state]
        assert from_csv == 0 and from_yaml >= 0.9 * legislators, state


def test_live_csvs_leave_the_call_list_empty_and_the_yaml_fills_it(
    app: Flask, live_csvs: Path
) -> None:
    need_shared(SHARED_PEOPLE_YAML)
    [from_csv] = sync_states(BulkPeopleSource(str(live_csvs)), ["az"])
    assert from_csv.ok and from_csv.count == 90
    arizona = list(db.session.scalars(select(Legislator).where(Legislator.state == "az")))
    assert [legislator_recipient(p).phone for p in arizona] == [""] * 90
    assert {p.capitol_address for p in arizona} == {None}

    [from_yaml] = sync_states(people_source(str(SHARED_PEOPLE_YAML)), ["az"], today=SNAPSHOT_DAY)
    assert from_yaml.ok and (len(from_yaml.joined), len(from_yaml.left)) == (0, 0)
    assert len(from_yaml.changed) == 90
    db.session.expire_all()
    arizona = list(db.session.scalars(select(Legislator).where(Legislator.state == "az")))
    recipients = [legislator_recipient(p) for p in arizona]
    assert all(r.phone and r.phone_office == "Capitol office" for r in recipients)
    assert all(p.capitol_address and "Phoenix" in p.capitol_address for p in arizona)
    change = db.session.scalar(
        select(RosterChange).where(RosterChange.kind == "changed", RosterChange.state == "az")
    )
    assert change is not None and change.detail["capitol_phone"][0] == ""
