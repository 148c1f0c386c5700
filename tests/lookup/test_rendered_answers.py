"""/api/lookup keeps the answers it built from cached addresses, and checks on every request
that the cache row and the state's roster are still the ones the answer was built from."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from unittest.mock import patch

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, update

from advocacy.dbtypes import utcnow
from advocacy.extensions import db
from advocacy.lookup.census import CensusGeocoder, GeocodeResult
from advocacy.lookup.directory import sync_states
from advocacy.lookup.models import LookupCacheEntry
from advocacy.lookup.openstates import BulkPeopleSource
from advocacy.lookup.service import lookup_address
from advocacy.pagecache import rendered_pages
from tests.fakes.upstream import FakeUpstreams
from tests.lookup.people import ROSTERS, Row, write_state
from tests.lookup.test_lookup import ADDRESS, by_district, names, nh_match
from tests.queries import counted_statements


def lookup(client: FlaskClient, address: str = ADDRESS) -> dict[str, object]:
    response = client.get("/api/lookup", query_string={"address": address})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()  # type: ignore[no-any-return]


def test_a_kept_answer_costs_one_query(
    app: Flask, upstream: FakeUpstreams, client: FlaskClient, directory: Path
) -> None:
    upstream.add_address(ADDRESS, nh_match())
    first = lookup(client)
    with counted_statements() as statements:
        again = lookup(client)
    assert again == first
    assert len(statements) == 1, statements
    assert len(rendered_pages()) == 1
    assert upstream.geocoder_calls() == 1


def test_the_input_shown_is_the_visitors_own(
    app: Flask, upstream: FakeUpstreams, client: FlaskClient, directory: Path
) -> None:
    upstream.add_address(ADDRESS, nh_match())
    lookup(client)
    other = lookup(client, "12  main st nashua NH 03060")
    assert other["input"] == "12 main st nashua NH 03060"
    assert lookup(client)["input"] == ADDRESS
    assert upstream.geocoder_calls() == 1  # same cache row, two kept answers


def test_a_new_roster_is_shown_at_once(
    app: Flask, upstream: FakeUpstreams, client: FlaskClient, directory: Path
) -> None:
    upstream.add_address(ADDRESS, nh_match())
    lookup(client)
    assert names(by_district(lookup(client))["Hillsborough 23"]) == ["Ada Alder", "Ben Birch"]
    rows = [row for row in ROSTERS["nh"] if row.given != "Ben"]
    write_state(directory, "nh", [*rows, Row("lower", "Hillsborough 23", "Bea", "Bramble")])
    assert all(r.ok for r in sync_states(BulkPeopleSource(str(directory)), ["nh"]))
    after = by_district(lookup(client))["Hillsborough 23"]
    assert names(after) == ["Ada Alder", "Bea Bramble"]


STALE_ROWS = {
    "expired": update(LookupCacheEntry).values(expires_at=utcnow() - timedelta(seconds=1)),
    "purged": delete(LookupCacheEntry),
}


@pytest.mark.parametrize("change", sorted(STALE_ROWS))
def test_an_expired_or_purged_address_is_asked_again(
    app: Flask, upstream: FakeUpstreams, client: FlaskClient, directory: Path, change: str
) -> None:
    upstream.add_address(ADDRESS, nh_match())
    lookup(client)
    lookup(client)  # kept
    db.session.execute(STALE_ROWS[change])
    db.session.commit()
    lookup(client)
    assert upstream.geocoder_calls() == 2


def test_a_row_purged_while_it_is_refreshed_still_gets_an_answer(
    app: Flask, upstream: FakeUpstreams, client: FlaskClient, directory: Path
) -> None:
    upstream.add_address(ADDRESS, nh_match())
    lookup(client)
    db.session.execute(update(LookupCacheEntry).values(expires_at=utcnow() - timedelta(days=1)))
    db.session.commit()
    real = CensusGeocoder.geocode

    def geocode_while_retention_runs(
        self: CensusGeocoder, address: str, deadline: float | None = None
    ) -> GeocodeResult:
        with db.engine.begin() as connection:  # the retention job, in another transaction
            connection.execute(delete(LookupCacheEntry))
        return real(self, address, deadline)

    with patch.object(CensusGeocoder, "geocode", geocode_while_retention_runs):
        result = lookup_address(ADDRESS)
    assert "Hillsborough 23" in [group.district for group in result.districts]
    assert not result.from_cache
