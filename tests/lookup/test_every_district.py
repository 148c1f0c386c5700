"""Every district in Open States' registry resolves, through the Census mapping, to the people
in the real bulk CSVs, or to a seat the app knows is vacant. Needs ../shared.

The per-state figures are written to ``every-district-report.txt`` in pytest's base temporary
folder and printed in the terminal summary (``tests/lookup/conftest.py``)."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC

import pytest
import yaml
from flask import Flask

from advocacy.lookup.directory import sync_states
from advocacy.lookup.divisions import census_geoids, divisions_for_census_district
from advocacy.lookup.known_vacancies import known_vacancies
from advocacy.lookup.openstates import BulkPeopleSource
from advocacy.lookup.registry import STATES
from tests.conftest import SHARED_DISTRICTS, SHARED_PEOPLE, need_shared
from tests.lookup.conftest import DistrictReport
from tests.lookup.test_directory import seat_group

# Maine's two non-voting tribal seats: no geography, so no Census code leads to them.
ME_TRIBAL = {
    "ocd-division/country:us/state:me/sldl:passamaquoddy-tribe",
    "ocd-division/country:us/state:me/sldl:houlton-band",
}

Key = tuple[str, str, str]


@pytest.fixture
def real_directory(app: Flask) -> Iterator[None]:
    need_shared(SHARED_PEOPLE)
    need_shared(SHARED_DISTRICTS)
    results = sync_states(BulkPeopleSource(str(SHARED_PEOPLE)), list(STATES))
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    assert not [r.unmatched for r in results if r.unmatched]
    assert not [r.warnings for r in results if r.warnings]  # no short file, no stale entry
    yield


def registry_rows() -> list[dict[str, str]]:
    with SHARED_DISTRICTS.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def open_states_vacancies() -> set[Key]:
    data = yaml.safe_load((SHARED_PEOPLE.parent / "settings.yml").read_text())
    return {
        (state, str(v["chamber"]), str(v["district"]))
        for state, entry in data.items()
        if state != "us"
        for v in (entry or {}).get("vacancies") or []
    }


def people_by_district() -> dict[Key, set[str]]:
    people: dict[Key, set[str]] = defaultdict(set)
    for state in STATES:
        with (SHARED_PEOPLE / f"{state}.csv").open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                key = (state, row["current_chamber"], row["current_district"])
                people[key].add(row["id"])
    return people


def test_every_district_resolves_to_its_people(
    real_directory: None, district_report: DistrictReport
) -> None:
    # Every division the Census mapping can produce, from every Census code it knows.
    reachable: dict[Key, str] = {}
    for state in STATES:
        for layer in ("upper", "lower"):
            for geoid in census_geoids(state, layer):
                for division in divisions_for_census_district(layer, geoid):
                    reachable[(division.state, division.chamber, division.district)] = (
                        division.division_id
                    )
    people = people_by_district()
    listed = open_states_vacancies()
    app_known = {(v.state, v.chamber, v.district) for v in known_vacancies()}
    assert not app_known & listed  # the app's list only adds what Open States' lacks

    problems = []
    seats_of: dict[Key, int] = {}
    for row in registry_rows():
        state, chamber, district = row["state"].lower(), row["chamber"], row["district"]
        key = (state, chamber, district)
        seats = seats_of[key] = int(row["num_seats"])
        if key in reachable:
            assert reachable[key] == row["division_id"], key
        elif row["division_id"] not in ME_TRIBAL:
            problems.append(f"{key}: no Census code leads here")
            continue
        group = seat_group(state, chamber, district, row["division_id"])
        assert group.seats == seats, key
        members = {m.id for m in group.members}
        assert members == people[key], key  # the very people of the CSV, tribal seats too
        if len(members) > seats:
            problems.append(f"{key}: {len(members)} people for {seats} seats")
            continue
        if len(members) < seats:
            assert group.vacancies == seats - len(members), key
            if not group.vacancy_recorded:
                problems.append(f"{key}: {len(members)} of {seats} seats filled, none recorded")
            elif key in listed:  # Open States' list carries the expected date
                assert group.vacant_until is not None and group.vacant_until.tzinfo == UTC
            else:
                assert key in app_known, key
        else:
            assert group.vacancies == 0 and not group.vacancy_recorded, key
        district_report.add(state, seats=seats, filled=len(members))
    stale = sorted(k for k in app_known if len(people[k]) >= seats_of.get(k, 0))
    assert stale == [], "known_vacancies.yaml lists seats that are filled or unknown"
    assert problems == []
    assert district_report.total("rows") == len(registry_rows())
    assert len(district_report.states) == 51
    district_report.write()
