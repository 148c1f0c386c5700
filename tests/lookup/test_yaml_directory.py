"""The directory from Open States' people YAML: each office's phone, term dates (ended, coming,
current), the repository's archive streamed over HTTP, and folders."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from advocacy.extensions import db
from advocacy.lookup.changes import describe
from advocacy.lookup.cli import sync_command
from advocacy.lookup.directory import (
    district_choices,
    legislators_in_state,
    seat_groups,
    site_today,
    sync_states,
)
from advocacy.lookup.models import DirectoryState, Legislator, RosterChange, Vacancy
from advocacy.lookup.openstates import (
    BulkPeopleSource,
    PeopleRepoSource,
    SourceError,
    people_source,
    person_from_yaml,
)
from advocacy.lookup.registry import registry_district
from tests.fakes.upstream import CODELOAD_PATH, PEOPLE_ARCHIVE_PATH, FakeUpstreams
from tests.lookup.people import ROSTERS, Row
from tests.lookup.yaml_people import archive, person, role, write_repo

TODAY = date(2026, 11, 22)
SETTINGS = (
    "nh:\n  vacancies:\n  - chamber: lower\n    district: Hillsborough 40\n"
    "    vacant_until: 2027-01-02\n"
)


def by_name(state: str) -> dict[str, Legislator]:
    rows = db.session.scalars(select(Legislator).where(Legislator.state == state))
    return {row.name: row for row in rows}


def roster_docs(*states: str) -> dict[str, list[dict[str, object]]]:
    return {state: [person(state, row) for row in ROSTERS[state]] for state in states}


# -- one person file ------------------------------------------------------------------------


def test_each_office_keeps_its_own_phone_and_the_capitol_comes_first() -> None:
    row = Row("lower", "Hillsborough 23", "Ada", "Alder", party="Democratic")
    doc = person(
        "nh",
        row,
        roles=[
            role("nh", "upper", "9", start=date(2015, 1, 7), end=date(2019, 1, 2)),
            role("nh", "lower", "Hillsborough 23", start="2023-01-04"),
        ],
        party=[
            {"name": "Democratic", "end_date": date(2024, 5, 1)},
            {"name": "Independent", "start_date": date(2024, 5, 1)},
        ],
        offices=[
            {"classification": "district", "address": "1 Elm St; Nashua, NH",
             "voice": "603-555-0101"},
            {"classification": "capitol-mail", "address": "State House Mail; Concord, NH"},
            {"classification": "capitol", "address": "107 N Main St; Concord, NH",
             "voice": "603-271-3661"},
            {"classification": "district", "voice": "603-555-0102"},
            {"classification": "home", "voice": "603-555-0199"},
        ],
        extras={"home phone": "603-555-0198", "Extra Phone": "800-555-0100",
                "legislative assistant email": "aide@leg.example.gov"},
    )  # fmt: skip
    ada = person_from_yaml(doc, "nh", TODAY, "Ada-Alder.yml")
    assert ada is not None
    assert (ada.id, ada.name, ada.chamber, ada.district) == (
        row.person_id,
        "Ada Alder",
        "lower",
        "Hillsborough 23",
    )
    assert ada.capitol_phone == "603-271-3661"
    assert ada.capitol_address == "107 N Main St; Concord, NH"
    assert (ada.district_phone, ada.district_address) == ("603-555-0101", "1 Elm St; Nashua, NH")
    assert ada.extra_phone == "800-555-0100"  # the legislature's line, not a home number
    assert ada.party == "Independent"  # the party held today
    assert (ada.starts_on, ada.ends_on) == (date(2023, 1, 4), None)
    assert ada.image == "https://leg.example.gov/photos/alder.jpg"
    assert ada.links == "https://leg.example.gov/members/alder"
    assert ada.email == "ada@leg.example.gov"


def test_a_capitol_mailing_office_gives_the_capitol_phone_when_there_is_no_other() -> None:
    """Kentucky's members have only a capitol-mail office (README of the shared data)."""
    doc = person(
        "ky",
        Row("upper", "7", "Aaron", "Reed"),
        offices=[
            {"classification": "capitol-mail", "address": "702 Capital Ave.; Frankfort, KY",
             "voice": "502-564-8100"},
        ],
        extras={"capitol phone": "502-564-8100"},  # the same number is not offered twice
    )  # fmt: skip
    reed = person_from_yaml(doc, "ky", TODAY, "Aaron-Reed.yml")
    assert reed is not None
    assert (reed.capitol_phone, reed.district_phone, reed.extra_phone) == ("502-564-8100", "", "")
    assert reed.capitol_address == "702 Capital Ave.; Frankfort, KY"


def test_a_file_without_a_seat_now_or_later_is_no_one() -> None:
    row = Row("lower", "5", "Old", "Member")
    gone = person("nh", row, roles=[role("nh", "lower", "5", end=date(2024, 12, 4))])
    assert person_from_yaml(gone, "nh", TODAY, "Old-Member.yml") is None
    governor = person("nh", row, roles=[{"type": "governor", "start_date": date(2025, 1, 9)}])
    assert person_from_yaml(governor, "nh", TODAY, "Gov.yml") is None
    with pytest.raises(SourceError, match="no Open States person id"):
        person_from_yaml({**gone, "id": "person/1"}, "nh", TODAY, "Bad.yml")
    with pytest.raises(SourceError, match="'next spring' is not a date"):
        person_from_yaml(
            person("nh", row, roles=[role("nh", "lower", "5", start="next spring")]),
            "nh",
            TODAY,
            "Bad.yml",
        )


# -- term dates -----------------------------------------------------------------------------


def chittenden_central() -> tuple[str, str, str, str]:
    district = registry_district("vt", "upper", "Chittenden Central")
    assert district is not None and district.seats == 3
    return ("vt", "upper", "Chittenden Central", district.division_id)


def vermont_with_terms(today: date, eve_starts: date) -> dict[str, list[dict[str, object]]]:
    """Chittenden Central (3 seats): Fred Fig sits; Cal Cork's term ended today; Eve Elder is
    elected and sworn in on ``eve_starts``. Dee Dune's House term ends next month."""
    bo, cal, dee = ROSTERS["vt"]
    fred = Row("upper", "Chittenden Central", "Fred", "Fig")
    eve = Row("upper", "Chittenden Central", "Eve", "Elder", party="Democratic")
    return {
        "vt": [
            person("vt", bo),
            person("vt", cal, roles=[role("vt", "upper", "Chittenden Central", end=today)]),
            person("vt", fred, roles=[role("vt", "upper", "Chittenden Central")]),
            person("vt", dee, roles=[role("vt", "lower", dee.district, end=today + timedelta(30))]),
            person("vt", eve, roles=[role("vt", "upper", "Chittenden Central", start=eve_starts)]),
        ]
    }


def test_ended_terms_are_not_loaded_and_coming_ones_are_no_ones_target_yet(
    app: Flask, tmp_path: Path
) -> None:
    today = site_today()
    root = write_repo(tmp_path / "people", vermont_with_terms(today, today + timedelta(30)))
    [result] = sync_states(people_source(str(root)), ["vt"])
    assert result.ok, result.error
    loaded = by_name("vt")
    assert set(loaded) == {"Bo Box", "Fred Fig", "Dee Dune", "Eve Elder"}  # Cal's term is over
    assert loaded["Eve Elder"].starts_on == today + timedelta(30)
    assert loaded["Dee Dune"].ends_on == today + timedelta(30)
    # Whoever holds a seat today answers the lookup; Eve's seat counts as empty until then.
    [group] = seat_groups([chittenden_central()])
    assert [m.name for m in group.members] == ["Fred Fig"] and group.vacancies == 2
    assert {p.name for p in legislators_in_state("vt")} == {"Bo Box", "Fred Fig", "Dee Dune"}
    [upper] = district_choices("vt", {"upper"})
    choice = next(d for d in upper.districts if d.district == "Chittenden Central")
    assert choice.members == ["Fred Fig"]
    joined = db.session.scalar(select(RosterChange).where(RosterChange.name == "Eve Elder"))
    assert joined is not None and joined.kind == "joined"
    assert describe(joined) == (
        f"Senate, Chittenden Central, Democratic; takes office "
        f"{(today + timedelta(30)).isoformat()}"
    )


def test_the_lookup_follows_the_calendar_between_two_refreshes(app: Flask, tmp_path: Path) -> None:
    """Loaded yesterday, when Cal still sat and Eve was to start today: today's lookups show
    Eve and not Cal, before any new refresh."""
    today = site_today()
    root = write_repo(tmp_path / "people", vermont_with_terms(today, eve_starts=today))
    [result] = sync_states(people_source(str(root)), ["vt"], today=today - timedelta(1))
    assert result.ok and result.count == 5
    [group] = seat_groups([chittenden_central()])
    assert sorted(m.name for m in group.members) == ["Eve Elder", "Fred Fig"]
    assert group.vacancies == 1


# -- sources: the archive over HTTP, folders -------------------------------------------------


@pytest.fixture
def yaml_upstream(app_config: dict[str, object], upstream: FakeUpstreams) -> FakeUpstreams:
    app_config["OPENSTATES_DATA_URL"] = upstream.archive_url
    upstream.extra["/settings.yml"] = (200, "text/plain", SETTINGS.encode())
    return upstream


def test_sync_streams_the_repository_archive_over_http(
    yaml_upstream: FakeUpstreams, app: Flask
) -> None:
    docs = roster_docs("nh", "vt", "wa")
    docs["nh"][1]["offices"] = [
        {"classification": "district", "address": "1 Elm St; Nashua", "voice": "603-555-0101"}
    ]
    yaml_upstream.people_archive = archive(docs)
    runner = app.test_cli_runner()
    result = runner.invoke(sync_command, ["--state", "nh", "--state", "wa"])  # the default URL
    assert result.exit_code == 0, result.output
    assert "NH: 6 legislators; 6 joined, 0 left, 0 changed" in result.output
    assert "WA: 3 legislators; 3 joined, 0 left, 0 changed" in result.output
    paths = [path for path, _ in yaml_upstream.requests]
    assert paths == ["/settings.yml", PEOPLE_ARCHIVE_PATH, CODELOAD_PATH]  # one download
    nh = by_name("nh")
    assert (nh["Sam Senator"].capitol_phone, nh["Sam Senator"].district_phone) == ("555-0100", None)
    assert (nh["Ada Alder"].capitol_phone, nh["Ada Alder"].district_phone) == (None, "603-555-0101")
    assert nh["Ada Alder"].district_address == "1 Elm St; Nashua"
    assert nh["Ben Birch"].image == "https://leg.example.gov/photos/birch.jpg"
    assert by_name("vt") == {}  # not asked for
    loaded = db.session.get(DirectoryState, "nh")
    assert loaded is not None
    assert loaded.source == f"{yaml_upstream.archive_url} (data/nh/legislature)"
    [vacancy] = db.session.scalars(select(Vacancy).where(Vacancy.state == "nh"))
    assert vacancy.district == "Hillsborough 40"


def test_a_missing_or_broken_archive_keeps_every_roster(
    yaml_upstream: FakeUpstreams, app: Flask
) -> None:
    first = roster_docs("nh", "vt", "wa")
    yaml_upstream.people_archive = archive(first)
    runner = app.test_cli_runner()
    every = ["--state", "nh", "--state", "vt", "--state", "wa"]
    assert runner.invoke(sync_command, every).exit_code == 0
    yaml_upstream.people_archive = None
    missing = runner.invoke(sync_command, ["--state", "nh"])
    assert missing.exit_code == 1
    assert (
        f"NH: FAILED, previous roster kept: cannot download {yaml_upstream.archive_url}: HTTP 404"
    ) in missing.output

    # The next archive changes everyone's phone; the download stops halfway.
    changed = {
        state: [person(state, row, offices=[{"classification": "capitol", "voice": "555-0199"}])
                for row in ROSTERS[state]]
        for state in ("nh", "vt", "wa")
    }  # fmt: skip
    body = archive(changed)
    yaml_upstream.people_archive = body
    yaml_upstream.archive_cut_at = len(body) // 2
    broken = runner.invoke(sync_command, every)
    assert broken.exit_code == 1
    assert "is incomplete or damaged (EOFError: Compressed file ended" in broken.output
    db.session.expire_all()
    for state in ("nh", "vt", "wa"):
        phones = {row.capitol_phone for row in by_name(state).values()}
        assert len(by_name(state)) == len(ROSTERS[state])
        # Each state is either loaded whole (read before the cut) or not at all.
        if f"{state.upper()}: FAILED" in broken.output:
            assert phones == {"555-0100"}
        else:
            assert phones == {"555-0199"}
    assert "WA: FAILED" in broken.output  # the last state is never read before the check


def test_a_folder_of_the_repository_and_the_unpacked_archive_both_work(
    app: Flask, tmp_path: Path
) -> None:
    clone = write_repo(tmp_path / "clone", roster_docs("nh"), settings=SETTINGS)
    unpacked = tmp_path / "unpacked"
    write_repo(unpacked / "openstates-people-1a2b3c4", roster_docs("nh"))
    csv_folder = tmp_path / "csv"
    csv_folder.mkdir()
    assert isinstance(people_source(str(clone)), PeopleRepoSource)
    assert isinstance(people_source(str(unpacked)), PeopleRepoSource)
    assert isinstance(people_source(str(csv_folder)), BulkPeopleSource)
    assert isinstance(people_source("https://data.openstates.org/people/current"), BulkPeopleSource)
    assert isinstance(people_source("https://example.org/people.tar.gz"), PeopleRepoSource)
    [from_clone] = sync_states(people_source(str(clone)), ["nh"])
    assert from_clone.ok and from_clone.count == 6
    assert db.session.scalar(select(Vacancy.district).where(Vacancy.state == "nh")) == (
        "Hillsborough 40"
    )  # the clone's own settings.yml
    [from_unpacked] = sync_states(people_source(str(unpacked)), ["nh"])
    assert from_unpacked.ok and not from_unpacked.has_changes
    wa = sync_states(people_source(str(unpacked)), ["wa"])[0]
    assert not wa.ok and wa.error == f"{unpacked} has no data/wa/legislature folder"


def test_a_bad_person_file_keeps_the_previous_roster(app: Flask, tmp_path: Path) -> None:
    root = write_repo(tmp_path / "people", roster_docs("nh"))
    assert sync_states(people_source(str(root)), ["nh"])[0].ok
    one = sorted((root / "data" / "nh" / "legislature").glob("*.yml"))[0]
    one.write_text("id: ocd-person/1\nname: [unclosed\n")
    [result] = sync_states(people_source(str(root)), ["nh"])
    assert not result.ok and f"{one.name} is not valid YAML" in (result.error or "")
    assert len(by_name("nh")) == 6
