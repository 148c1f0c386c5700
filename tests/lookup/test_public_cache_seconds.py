"""ADVOCACY_PUBLIC_CACHE_SECONDS for /api/lookup: a remembered answer is served without any
query for that long after the database last confirmed it; then it is checked again."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from advocacy.lookup import service
from advocacy.lookup.directory import sync_states
from advocacy.lookup.openstates import BulkPeopleSource
from tests.fakes.upstream import FakeUpstreams
from tests.lookup.people import ROSTERS, Row, write_state
from tests.lookup.test_lookup import ADDRESS, by_district, names, nh_match
from tests.queries import counted_statements


def district_23(app: Flask) -> list[str]:
    response = app.test_client().get("/api/lookup", query_string={"address": ADDRESS})
    assert response.status_code == 200
    return names(by_district(response.get_json())["Hillsborough 23"])


def test_a_new_roster_shows_once_the_window_is_over(
    app: Flask,
    upstream: FakeUpstreams,
    directory: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app.config["PUBLIC_CACHE_SECONDS"] = 5.0
    now = [1000.0]
    monkeypatch.setattr(service, "clock", lambda: now[0])
    upstream.add_address(ADDRESS, nh_match())
    assert district_23(app) == ["Ada Alder", "Ben Birch"]
    with counted_statements() as statements:
        assert district_23(app) == ["Ada Alder", "Ben Birch"]
    assert statements == []

    rows = [row for row in ROSTERS["nh"] if row.given != "Ben"]
    write_state(directory, "nh", [*rows, Row("lower", "Hillsborough 23", "Bea", "Bramble")])
    assert all(r.ok for r in sync_states(BulkPeopleSource(str(directory)), ["nh"]))
    now[0] += 4.0
    assert district_23(app) == ["Ada Alder", "Ben Birch"]  # a moment late
    now[0] += 1.0
    assert district_23(app) == ["Ada Alder", "Bea Bramble"]
