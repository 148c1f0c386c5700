"""Every district in Open States' registry resolves, through the Census mapping, to the people
in the real bulk CSVs, or to a seat we know is vacant. Needs ../shared."""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC

import pytest
import yaml
from flask import Flask

from advocacy.lookup.directory import seat_group, sync_states
from advocacy.lookup.divisions import census_geoids, divisions_for_census_district
from advocacy.lookup.openstates import BulkPeopleSource
from advocacy.lookup.registry import STATES
from tests.conftest import SHARED_DISTRICTS, SHARED_PEOPLE, need_shared

# Empty seats the shared data's README names besides Open States' own vacancy list.
DOCUMENTED_EMPTY = {("dc", "legislature", "At-Large"), ("mn", "lower", "21A")}


@pytest.fixture
def real_directory(app: Flask) -> Iterator[None]:
    need_shared(SHARED_PEOPLE)
    need_shared(SHARED_DISTRICTS)
    results = sync_states(BulkPeopleSource(str(SHARED_PEOPLE)), list(STATES))
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    assert not [r.unmatched for r in results if r.unmatched]
    yield


def registry_rows() -> list[dict[str, str]]:
    with SHARED_DISTRICTS.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def listed_vacancies() -> set[tuple[str, str, str]]:
    data = yaml.safe_load((SHARED_PEOPLE.parent / "settings.yml").read_text())
    return {
        (state, str(v["chamber"]), str(v["district"]))
        for state, entry in data.items()
        if state != "us"
        for v in (entry or {}).get("vacancies") or []
    }


def test_every_district_resolves_to_its_people(real_directory: None) -> None:
    # Every division the Census mapping can produce, from every Census code it knows.
    reachable: dict[tuple[str, str, str], str] = {}
    for state in STATES:
        for layer in ("upper", "lower"):
            for geoid in census_geoids(state, layer):
                for division in divisions_for_census_district(layer, geoid):
                    reachable[(division.state, division.chamber, division.district)] = (
                        division.division_id
                    )
    people = Counter()
    for state in STATES:
        with (SHARED_PEOPLE / f"{state}.csv").open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                people[(state, row["current_chamber"], row["current_district"])] += 1
    vacancies = listed_vacancies() | DOCUMENTED_EMPTY

    verified: dict[str, Counter[str]] = defaultdict(Counter)
    problems = []
    for row in registry_rows():
        state, chamber, district = row["state"].lower(), row["chamber"], row["district"]
        key = (state, chamber, district)
        seats = int(row["num_seats"])
        if key not in reachable:
            if state == "me" and not district.isdigit():
                verified[state]["tribal seat (no geography)"] += 1
                continue
            problems.append(f"{key}: no Census code leads here")
            continue
        assert reachable[key] == row["division_id"], key
        group = seat_group(state, chamber, district, row["division_id"])
        assert group.seats == seats, key
        members = len(group.members)
        assert members == people[key], key
        if members > seats:
            problems.append(f"{key}: {members} people for {seats} seats")
        elif members == seats:
            verified[state]["full"] += 1
        elif key in vacancies:
            assert group.vacancies == seats - members
            if key not in DOCUMENTED_EMPTY:  # Open States' list carries the expected date
                assert group.vacant_until is not None and group.vacant_until.tzinfo == UTC
            verified[state]["recorded vacancy"] += 1
        else:
            problems.append(f"{key}: {members} of {seats} seats filled and no vacancy recorded")
    assert problems == []
    assert sum(sum(c.values()) for c in verified.values()) == len(registry_rows())
    assert len(verified) == 51
