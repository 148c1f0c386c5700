"""Committees and executive officials from Open States' people YAML: what is read from the
files, what a sync keeps (and records), how a campaign's committee or office is found, and the
whole shared archive."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
import yaml
from flask import Flask
from sqlalchemy import func, select

from advocacy.extensions import db
from advocacy.lookup.changes import describe
from advocacy.lookup.directory import sync_states
from advocacy.lookup.models import Committee, CommitteeMember, ExecutiveOfficial, RosterChange
from advocacy.lookup.offices import (
    committee_chamber_name,
    committee_label,
    find_committee,
    office_holder,
    role_kind,
    seated_members,
)
from advocacy.lookup.openstates import (
    SourceError,
    parse_committees,
    parse_officials,
    people_source,
)
from advocacy.lookup.registry import STATES
from tests.conftest import SHARED_PEOPLE_YAML, need_shared
from tests.fakes.upstream import FakeUpstreams
from tests.lookup.offices_world import (
    ATTORNEY_GENERAL,
    BEN,
    CY,
    DI,
    ED,
    FORMER_GOVERNOR,
    GOVERNOR,
    HOUSE_JUDICIARY,
    LIEUTENANT,
    SENATE_JUDICIARY,
    nh_people,
    sync_nh,
)
from tests.lookup.yaml_people import archive, committee, official, person

TODAY = date(2026, 11, 22)


def files(*docs: dict[str, object]) -> list[tuple[str, bytes]]:
    return [(f"{n}.yml", yaml.safe_dump(doc).encode()) for n, doc in enumerate(docs)]


# -- reading the files ------------------------------------------------------------------------


def test_a_committee_file_gives_its_members_in_order_with_their_roles() -> None:
    [judiciary] = parse_committees(files(HOUSE_JUDICIARY), "nh")
    assert (judiciary.name, judiciary.chamber) == ("Judiciary", "lower")
    assert judiciary.id == HOUSE_JUDICIARY["id"]
    assert [(m.name, m.role, m.person_id) for m in judiciary.members] == [
        ("Ben Birch", "chair", BEN.person_id),
        ("Cy Cedar", "vice chair", CY.person_id),
        ("Di Dogwood", "member", DI.person_id),
        ("Pat Nobody", "member", ""),  # named only, as a few of Vermont's members are
    ]


def test_a_committee_file_that_is_not_one_is_refused_with_its_name() -> None:
    no_id = {**HOUSE_JUDICIARY, "id": "judiciary"}
    with pytest.raises(SourceError, match=r"committees/0\.yml has no Open States organization"):
        parse_committees(files(no_id), "nh")
    with pytest.raises(SourceError, match="unknown chamber 'house'"):
        parse_committees(files({**HOUSE_JUDICIARY, "chamber": "house"}), "nh")
    with pytest.raises(SourceError, match="appears twice"):
        parse_committees(files(HOUSE_JUDICIARY, HOUSE_JUDICIARY), "nh")
    subcommittee = {**HOUSE_JUDICIARY, "classification": "subcommittee"}
    assert parse_committees(files(subcommittee), "nh") == []


def test_officials_in_office_or_taking_office_are_read_and_past_ones_left_out() -> None:
    coming = official("nh", "Nia", "North", start="2027-01-07", end="2031-01-02")
    mayor = official("nh", "Mo", "Mayor", "mayor")
    mayor["roles"][0]["jurisdiction"] = (
        "ocd-jurisdiction/country:us/state:nh/place:nashua/government"
    )
    legislator_once = official("nh", "Ex", "Member", "lower", start="2001-01-01", end="2005-01-01")
    read = parse_officials(
        files(GOVERNOR, FORMER_GOVERNOR, ATTORNEY_GENERAL, LIEUTENANT, coming, mayor,
              legislator_once),
        "nh",
        TODAY,
    )  # fmt: skip
    by_name = {o.name: o for o in read}
    assert set(by_name) == {"Kelly Ayres", "Jo Formby", "Lee Lamb", "Nia North"}
    assert by_name["Lee Lamb"].office == "lieutenant governor"  # Open States: lt_governor
    assert by_name["Jo Formby"].office == "attorney general"
    assert by_name["Jo Formby"].phone == "555-0160"
    assert by_name["Jo Formby"].address == "1 Granite Place South; Concord, NH 03301"
    assert by_name["Kelly Ayres"].email == "governor@nh.example.gov"
    assert by_name["Kelly Ayres"].holds_office_on(TODAY)
    assert not by_name["Nia North"].holds_office_on(TODAY)
    assert by_name["Nia North"].holds_office_on(date(2027, 1, 7))


# -- a sync -----------------------------------------------------------------------------------


def test_a_sync_keeps_committees_and_officials_and_a_new_roster_replaces_them(
    app: Flask, tmp_path: Path
) -> None:
    root = tmp_path / "repo"
    first = sync_nh(root, today=TODAY)
    assert not [w for w in first.warnings if "not reloaded" in w]
    found = find_committee("NH", "lower", "JUDICIARY")  # a name, any case
    assert found.committee is not None and found.committee.name == "Judiciary"
    members = seated_members(found.committee.id, TODAY)
    # Pat Nobody has no person id: no one to write to.
    assert [(m.legislator.name, m.role) for m in members] == [
        ("Ben Birch", "chair"),
        ("Cy Cedar", "vice chair"),
        ("Di Dogwood", "member"),
    ]
    governor = office_holder("nh", "governor", TODAY)
    assert governor is not None and governor.name == "Kelly Ayres"
    assert office_holder("nh", "secretary of state", TODAY) is None
    # A state's first officials are not news: no change recorded for them.
    assert not db.session.scalar(
        select(func.count())
        .select_from(RosterChange)
        .where(RosterChange.person_id == GOVERNOR["id"])
    )

    # The election: a new governor takes office in January; the House committee is gone.
    new_governor = official("nh", "Rowan", "Reyes", start="2027-01-07", end="2031-01-02")
    outgoing = {**GOVERNOR, "roles": [{**GOVERNOR["roles"][0], "end_date": "2027-01-07"}]}
    second = sync_nh(
        root,
        today=TODAY,
        committees=[SENATE_JUDICIARY],
        executives=[outgoing, new_governor, ATTORNEY_GENERAL],
    )
    assert "Rowan Reyes" in second.joined and "Lee Lamb" in second.left
    assert find_committee("nh", "lower", "Judiciary").committee is None
    assert db.session.scalar(select(func.count()).select_from(CommitteeMember)) == 1
    assert office_holder("nh", "governor", TODAY).name == "Kelly Ayres"  # type: ignore[union-attr]
    assert office_holder("nh", "governor", date(2027, 1, 7)).name == "Rowan Reyes"  # type: ignore[union-attr]
    changes = {
        (c.kind, c.name): describe(c)
        for c in db.session.scalars(
            select(RosterChange).where(RosterChange.refresh_id == second.refresh_id)
        )
    }
    assert changes[("joined", "Rowan Reyes")] == (
        "Governor of New Hampshire, Independent; takes office 2027-01-07"
    )
    assert changes[("left", "Lee Lamb")] == "Lieutenant Governor of New Hampshire, Independent"


def test_committee_files_that_cannot_be_read_keep_the_previous_ones_and_the_roster_loads(
    app: Flask, tmp_path: Path
) -> None:
    root = tmp_path / "repo"
    sync_nh(root, today=TODAY)
    broken = {**HOUSE_JUDICIARY, "chamber": "house"}
    moved = person("nh", replace(ED, email="ed.elm@leg.example.gov"))
    result = sync_nh(root, today=TODAY, people=nh_people(Elm=moved), committees=[broken])
    assert result.ok and result.changed == ["Ed Elm"]
    assert any(
        w.startswith("committees not reloaded: nh: committees/") and "unknown chamber" in w
        for w in result.warnings
    ), result.warnings
    assert db.session.scalar(select(func.count()).select_from(Committee)) == 2


def test_a_name_two_committees_share_must_be_given_by_id(app: Flask, tmp_path: Path) -> None:
    twin = {**HOUSE_JUDICIARY, "id": "ocd-organization/11111111-2222-3333-4444-555555555555"}
    sync_nh(tmp_path / "repo", today=TODAY, committees=[HOUSE_JUDICIARY, twin])
    found = find_committee("nh", "lower", "Judiciary")
    assert found.committee is None
    ids = ", ".join(sorted([HOUSE_JUDICIARY["id"], twin["id"]]))
    assert found.problem == f"2 committees are named 'Judiciary' ({ids}): give its id"
    by_id = find_committee("nh", "lower", twin["id"])
    assert by_id.committee is not None and by_id.committee.id == twin["id"]
    # An id of another chamber is not this chamber's committee.
    assert find_committee("nh", "upper", twin["id"]).committee is None
    assert find_committee("nh", "lower", "Finance").problem == (
        "no committee named 'Finance' in the directory"
    )


def test_two_holders_of_one_office_on_record_give_the_one_whose_term_began_last(
    app: Flask, tmp_path: Path
) -> None:
    # Massachusetts' file lists its lieutenant governor twice, under two ids.
    earlier = official("nh", "Kim", "Driscoll", "lt_governor", start="2023-01-05", end="2027-01-02")
    later = official(
        "nh", "Kimberly", "Driscoll", "lt_governor", start="2023-01-06", end="2027-01-07"
    )
    sync_nh(tmp_path / "repo", today=TODAY, executives=[earlier, later])
    assert office_holder("nh", "lieutenant governor", TODAY).name == "Kimberly Driscoll"  # type: ignore[union-attr]


def test_roles_and_committee_names_in_words() -> None:
    assert [role_kind(r) for r in ("Chair", "co-chair", "Vice-Chair", "vice chair",
                                   "democratic chair", "ranking member", "Presidente",
                                   "vicepresidenta")] == [
        "chair", "chair", "vice chair", "vice chair", "member", "member", "chair", "vice chair"
    ]  # fmt: skip
    house = committee_chamber_name("nh", "lower")
    assert committee_label("Judiciary", house) == "House Judiciary Committee"
    assert committee_label("Budget", committee_chamber_name("ca", "lower")) == (
        "Assembly Budget Committee"
    )
    joint = committee_chamber_name("ca", "legislature")
    assert (joint, committee_label("Joint Committee on Rules", joint)) == (
        "Joint",
        "Joint Committee on Rules",
    )
    ne = committee_chamber_name("ne", "legislature")
    assert committee_label("Agriculture", ne) == "Agriculture Committee"
    assert committee_label("Pension Review Commission", joint) == "Pension Review Commission"


# -- the real data ----------------------------------------------------------------------------


def test_every_state_of_the_shared_archive_has_its_committees_and_officials(
    app: Flask, upstream: FakeUpstreams
) -> None:
    need_shared(SHARED_PEOPLE_YAML)
    upstream.people_archive = SHARED_PEOPLE_YAML.read_bytes()
    results = sync_states(people_source(upstream.archive_url), list(STATES), today=TODAY)
    assert [(r.state, r.error) for r in results if not r.ok] == []
    assert [(r.state, r.warnings) for r in results if r.warnings] == []
    committees = dict(
        db.session.execute(select(Committee.state, func.count()).group_by(Committee.state)).all()
    )
    members = dict(
        db.session.execute(
            select(Committee.state, func.count())
            .join(CommitteeMember, CommitteeMember.committee_id == Committee.id)
            .group_by(Committee.state)
        ).all()
    )
    # Every state and DC lists committees (the archive: 2,699 of them, 4 to 116 a state),
    # with members (about 12 on average).
    assert set(committees) == set(STATES)
    assert sum(committees.values()) == 2699
    assert min(committees.values()) >= 4 and max(committees.values()) <= 120
    assert all(members[state] >= 4 * committees[state] for state in STATES), members
    # Officials holding an office on the snapshot's day: some states' files are out of date
    # (New Hampshire's governor left in 2025), so not every state has a governor.
    holding = dict(
        db.session.execute(
            select(ExecutiveOfficial.office, func.count())
            .where(
                (ExecutiveOfficial.starts_on.is_(None)) | (ExecutiveOfficial.starts_on <= TODAY),
                (ExecutiveOfficial.ends_on.is_(None)) | (ExecutiveOfficial.ends_on > TODAY),
            )
            .group_by(ExecutiveOfficial.office)
        ).all()
    )
    assert holding["governor"] >= 35 and holding["attorney general"] >= 45
    assert holding["lieutenant governor"] >= 40
    assert "lt_governor" not in holding
    assert office_holder("nh", "governor", TODAY) is None
    assert office_holder("ne", "governor", TODAY) is not None
    # A committee of a real file, found by its name, with its chair in office.
    found = find_committee("ne", "legislature", "Agriculture")
    assert found.committee is not None
    chairs = [m for m in seated_members(found.committee.id, TODAY) if role_kind(m.role) == "chair"]
    assert len(chairs) == 1


def test_a_committee_with_no_members_and_only_a_past_governor_load_as_such(
    app: Flask, upstream: FakeUpstreams
) -> None:
    past = official("nh", "Past", "Governor", start="2001-01-01", end="2005-01-01")
    upstream.people_archive = archive(
        {"nh": nh_people()},
        committees={"nh": [committee("nh", "Finance", "lower", [])]},
        executives={"nh": [past]},
    )
    [result] = sync_states(people_source(upstream.archive_url), ["nh"], today=TODAY)
    assert result.ok
    finance = find_committee("nh", "lower", "Finance").committee
    assert finance is not None and seated_members(finance.id, TODAY) == []
    assert office_holder("nh", "governor", TODAY) is None
    assert db.session.scalar(select(func.count()).select_from(ExecutiveOfficial)) == 0
