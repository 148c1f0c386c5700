"""With OPENSTATES_API_KEY set, the answer is compared with Open States' people.geo."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from advocacy.lookup.directory import sync_states
from advocacy.lookup.openstates import BulkPeopleSource
from advocacy.lookup.service import lookup_address
from tests.conftest import SHARED_FIXTURES, SHARED_PEOPLE, need_shared
from tests.fakes.upstream import FakeUpstreams, Match, sld_object

SEATTLE = "1000 E Pike St, Seattle, WA 98122"
GEO_FIXTURE = SHARED_FIXTURES / "openstates_people_geo_wa_seattle.json"


def seattle_match() -> Match:
    return Match(
        "1000 E PIKE ST, SEATTLE, WA, 98122",
        "53",
        upper=[sld_object("upper", "53037", "37")],
        lower=[sld_object("lower", "53037", "37")],
        longitude=-122.3115,
        latitude=47.6105,
    )


@pytest.fixture
def seattle(app: Flask, upstream: FakeUpstreams) -> FakeUpstreams:
    need_shared(GEO_FIXTURE)
    upstream.add_address(SEATTLE, seattle_match())
    upstream.people_geo[("47.6105", "-122.3115")] = GEO_FIXTURE.read_bytes()
    return upstream


def test_real_people_geo_agrees_with_the_real_roster(app: Flask, seattle: FakeUpstreams) -> None:
    need_shared(SHARED_PEOPLE / "wa.csv")
    assert sync_states(BulkPeopleSource(str(SHARED_PEOPLE)), ["wa"])[0].ok
    app.config["OPENSTATES_API_KEY"] = "test-key"
    result = lookup_address(SEATTLE)
    assert result.cross_check == "agrees", result.notes
    assert {m.name for g in result.districts for m in g.members} >= {"Chipalo Street"}
    geo_calls = [q for path, q in seattle.requests if path == "/people.geo"]
    assert geo_calls == [{"lat": ["47.6105"], "lng": ["-122.3115"]}]


def test_disagreement_is_shown(app: Flask, seattle: FakeUpstreams, directory: Path) -> None:
    app.config["OPENSTATES_API_KEY"] = "test-key"
    result = lookup_address(SEATTLE)  # the made-up WA roster has other people in district 37
    assert result.cross_check == "differs"
    assert any("Open States' own map lookup" in note for note in result.notes)


def test_bad_key_or_no_key(app: Flask, seattle: FakeUpstreams, directory: Path) -> None:
    app.config["OPENSTATES_API_KEY"] = "bad"
    result = lookup_address(SEATTLE)
    assert result.cross_check == "unavailable" and result.districts
    calls_before = [p for p, _ in seattle.requests if p == "/people.geo"]
    app.config["OPENSTATES_API_KEY"] = ""
    assert lookup_address(SEATTLE).cross_check is None
    assert [p for p, _ in seattle.requests if p == "/people.geo"] == calls_before
