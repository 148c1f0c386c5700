"""Address -> districts -> legislators, through a fake Census geocoder speaking real HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select

from advocacy import create_app
from advocacy.extensions import db
from advocacy.lookup.cli import lookup_command
from advocacy.lookup.models import DirectoryState, District, LookupCacheEntry
from advocacy.lookup.views import tel_href
from tests.conftest import SHARED_FIXTURES, SHARED_PEOPLE, need_shared
from tests.fakes.upstream import FakeUpstreams, Match, sld_object

ADDRESS = "12 Main St, Nashua, NH 03060"


def nh_match(address: str = "12 MAIN ST, NASHUA, NH, 03060", **kwargs: Any) -> Match:
    # Hillsborough 23: SLDL "523" (county digit 5 + 23), BASENAME/NAME keep the county name.
    return Match(
        address,
        "33",
        upper=[sld_object("upper", "33015", "15")],
        lower=[
            sld_object("lower", "33523", "Hillsborough 23", "State House District Hillsborough 23")
        ],
        city="NASHUA",
        zip_code="03060",
        **kwargs,
    )


def cli_lookup(app: Flask, address: str) -> tuple[int, dict[str, Any] | None, str]:
    result = app.test_cli_runner().invoke(lookup_command, [address, "--json"])
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(lines) <= 1, result.stdout  # --json prints one object at most
    data = json.loads(lines[0]) if lines else None
    return result.exit_code, data, result.output


def by_district(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["district"]: d for d in data["districts"]}


def names(district: dict[str, Any]) -> list[str]:
    return [person["name"] for person in district["legislators"]]


def test_nh_base_and_floterial_multi_member_with_vacancy(
    app: Flask, upstream: FakeUpstreams, directory: Path
) -> None:
    upstream.add_address(ADDRESS, nh_match())
    code, data, _ = cli_lookup(app, ADDRESS)
    assert code == 0 and data is not None
    assert set(data) == {"input", "matched_address", "state", "confidence", "districts"}
    assert data["matched_address"] == "12 MAIN ST, NASHUA, NH, 03060"
    assert data["state"] == "NH" and data["confidence"] == "exact"
    districts = by_district(data)
    assert list(districts) == ["15", "Hillsborough 23", "Hillsborough 40"]
    assert districts["15"]["chamber"] == "upper" and names(districts["15"]) == ["Sam Senator"]
    base = districts["Hillsborough 23"]
    assert base["division_id"] == "ocd-division/country:us/state:nh/sldl:hillsborough_23"
    assert (base["seats"], base["vacancies"]) == (2, 0)
    assert names(base) == ["Ada Alder", "Ben Birch"]
    floterial = districts["Hillsborough 40"]
    assert (floterial["seats"], floterial["vacancies"]) == (4, 1)
    assert len(floterial["legislators"]) == 3
    person = base["legislators"][0]
    assert person["id"].startswith("ocd-person/") and person["email"] == "ada@leg.example.gov"
    assert person["phone"] == "555-0100" and person["party"] == "Independent"


@pytest.mark.parametrize(
    ("state_fips", "address", "upper", "lower", "expected"),
    [
        (
            "27",
            "5 Lake St, Mankato, MN",
            ("upper", "27012", "12"),
            ("lower", "2712A", "12A"),
            {"12": ["Mia Maple"], "12A": ["Ned Nettle"]},
        ),
        ("31", "1 O St, Lincoln, NE", ("upper", "31012", "12"), None, {"12": ["Pat Pine"]}),
        (
            "11",
            "3 Porter St NW, Washington, DC",
            ("upper", "11003", "3"),
            None,
            {
                "Ward 3": ["Quinn Quince"],
                "Chairman": ["Rae Rowan"],
                "At-Large": ["Sol Spruce", "Tess Teak"],
            },
        ),
        (
            "53",
            "1 Pike St, Seattle, WA",
            ("upper", "53037", "37"),
            ("lower", "53037", "37"),
            {"37": ["Uma Umber", "Vic Vine", "Wen Willow"]},
        ),
        (
            "02",
            "1 Main St, Juneau, AK",
            ("upper", "0200R", "R"),
            ("lower", "02040", "40"),
            {"R": ["Xia Yew"], "40": ["Yuri Yarrow"]},
        ),
        (
            "25",
            "1 Park St, Pittsfield, MA",
            ("upper", "25D01", "Berkshire, Hampden, Franklin and Hampshire"),
            None,
            {"Berkshire, Hampden, Franklin and Hampshire": ["Zoe Zelkova"]},
        ),
        (
            "50",
            "1 Main St, Milton, VT",
            ("upper", "50CHN", "Chittenden North"),
            ("lower", "50GIC", "Grand Isle-Chittenden"),
            {"Chittenden North": ["Bo Box", "Cal Cork"], "Grand Isle-Chittenden": ["Dee Dune"]},
        ),
    ],
)
def test_states_with_unusual_districts(
    app: Flask,
    upstream: FakeUpstreams,
    directory: Path,
    state_fips: str,
    address: str,
    upper: tuple[str, str, str],
    lower: tuple[str, str, str] | None,
    expected: dict[str, list[str]],
) -> None:
    match = Match(
        address.upper(),
        state_fips,
        upper=[sld_object(*upper)],
        lower=[sld_object(*lower)] if lower else [],
    )
    upstream.add_address(address, match)
    code, data, output = cli_lookup(app, address)
    assert code == 0, output
    assert data is not None
    found: dict[str, list[str]] = {}
    for district in data["districts"]:  # WA's upper and lower district 37 share a name
        found.setdefault(district["district"], []).extend(names(district))
    assert {k: sorted(v) for k, v in found.items()} == {k: sorted(v) for k, v in expected.items()}
    if state_fips in ("31", "11"):
        assert {d["chamber"] for d in data["districts"]} == {"legislature"}


def test_layer_names_without_a_year_are_read(
    app: Flask, upstream: FakeUpstreams, directory: Path
) -> None:
    upstream.add_address(ADDRESS, nh_match(layer_year=""))
    code, data, _ = cli_lookup(app, ADDRESS)
    assert code == 0 and data is not None and len(data["districts"]) == 3


def test_no_match(
    app: Flask, upstream: FakeUpstreams, client: FlaskClient, directory: Path
) -> None:
    code, data, output = cli_lookup(app, "99 Nowhere Rd, Atlantis, ZZ")
    assert code == 3 and data is not None
    assert data["confidence"] == "none" and data["districts"] == []
    assert "could not find" in output
    response = client.get("/api/lookup", query_string={"address": "99 Nowhere Rd, Atlantis"})
    assert response.status_code == 200 and response.get_json()["confidence"] == "none"


def test_approximate_match_is_flagged(app: Flask, upstream: FakeUpstreams, directory: Path) -> None:
    upstream.add_address(ADDRESS, nh_match(address="18 MAIN ST, NASHUA, NH, 03060"))
    code, data, output = cli_lookup(app, ADDRESS)
    assert code == 0 and data is not None and data["confidence"] == "approximate"
    assert "check it is yours" in output


def test_unknown_census_district_is_reported_not_guessed(
    app: Flask, upstream: FakeUpstreams, directory: Path
) -> None:
    match = Match("1 X ST, NASHUA, NH, 03060", "33", upper=[sld_object("upper", "33099", "99")])
    upstream.add_address("1 X St, Nashua NH", match)
    result = app.test_cli_runner().invoke(lookup_command, ["1 X St, Nashua NH", "--json"])
    assert result.exit_code == 3  # matched, but no district: not a success
    data = json.loads(result.stdout)
    assert data["matched_address"] == "1 X ST, NASHUA, NH, 03060" and data["districts"] == []
    assert "could not match" in result.stderr
    assert "maps to no current state legislative district" in result.stderr
    plain = app.test_cli_runner().invoke(lookup_command, ["1 X St, Nashua NH"])
    assert plain.exit_code == 3 and "No legislative district found" in plain.stderr


@pytest.mark.parametrize("mode", ["500", "badjson", "html", "reset"])
def test_upstream_failures_exit_4_and_503(
    app: Flask, upstream: FakeUpstreams, client: FlaskClient, mode: str
) -> None:
    upstream.mode = mode
    code, data, output = cli_lookup(app, ADDRESS)
    assert code == 4 and "unavailable" in output
    assert data is not None and list(data) == ["error"] and "unavailable" in data["error"]
    response = client.get("/api/lookup", query_string={"address": ADDRESS})
    assert response.status_code == 503 and "error" in response.get_json()


def test_timeout_is_bounded_and_retried(app: Flask, upstream: FakeUpstreams) -> None:
    app.config.update(CENSUS_TIMEOUT=0.3, CENSUS_RETRIES=1)
    upstream.mode, upstream.slow_seconds = "slow", 2.0
    code, _, _ = cli_lookup(app, ADDRESS)
    assert code == 4
    assert len(upstream.requests) == 2  # one try and one retry, no more


def test_failed_layers_inside_http_200_are_an_upstream_failure(
    app: Flask, upstream: FakeUpstreams
) -> None:
    upstream.add_address(ADDRESS, nh_match(failed_layers=True))
    code, _, output = cli_lookup(app, ADDRESS)
    assert code == 4 and "Layer query" in output


@pytest.mark.parametrize("failed", ["upper", "lower"])
def test_one_failed_chamber_layer_is_a_failure_and_never_cached(
    app: Flask, upstream: FakeUpstreams, client: FlaskClient, directory: Path, failed: str
) -> None:
    """The other chamber's layer answered: the answer must not lose a chamber silently."""
    upstream.add_address(ADDRESS, nh_match(failed_layers=[failed]))
    code, data, output = cli_lookup(app, ADDRESS)
    layer = f"2024 State Legislative Districts - {failed.title()}: Layer query"
    assert code == 4 and layer in output
    assert data is not None and layer in data["error"]
    api = client.get("/api/lookup", query_string={"address": ADDRESS})
    assert api.status_code == 503
    page = client.get("/find", query_string={"address": ADDRESS})
    assert page.status_code == 503 and "choose your state" in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(LookupCacheEntry)) == 0
    upstream.add_address(ADDRESS, nh_match())  # the layer answers again: a fresh, whole answer
    code, data, _ = cli_lookup(app, ADDRESS)
    assert code == 0 and data is not None
    assert [d["chamber"] for d in data["districts"]] == ["upper", "lower", "lower"]


def test_cache_answers_repeat_lookups(
    app: Flask, upstream: FakeUpstreams, client: FlaskClient, directory: Path
) -> None:
    upstream.add_address(ADDRESS, nh_match())
    first = client.get("/api/lookup", query_string={"address": ADDRESS}).get_json()
    again = client.get("/api/lookup", query_string={"address": "12  main st nashua NH 03060"})
    assert again.get_json()["districts"] == first["districts"]
    assert upstream.geocoder_calls() == 1
    query = upstream.requests[0][1]
    assert query["benchmark"] == ["Public_AR_Current"] and query["vintage"] == ["Current_Current"]


@pytest.mark.parametrize(
    "address",
    ["", "   ", "x" * 300, "no numbers here", "12\x00 Main St", "<script>alert(1)</script> 12"],
)
def test_bad_input_is_a_json_400(client: FlaskClient, address: str) -> None:
    response = client.get("/api/lookup", query_string={"address": address})
    assert response.status_code == 400 and response.get_json()["error"]


def test_find_page_shows_people_and_manual_path(
    client: FlaskClient, upstream: FakeUpstreams, directory: Path
) -> None:
    upstream.add_address(ADDRESS, nh_match())
    page = client.get("/find", query_string={"address": ADDRESS}).get_data(as_text=True)
    assert "12 MAIN ST, NASHUA, NH, 03060" in page
    assert "Ada Alder" in page and "Ben Birch" in page and "Vacant seat" in page
    assert '<a href="mailto:ada@leg.example.gov">ada@leg.example.gov</a>' in page
    assert '<a href="tel:5550100">555-0100</a>' in page
    assert ">email<" not in page
    assert "Legislator data from Open States, loaded " in page
    assert 'href="/find/nh"' in page
    upstream.mode = "500"
    response = client.get("/find", query_string={"address": "77 Other St, Nashua NH"})
    assert response.status_code == 503
    assert "choose your state" in response.get_data(as_text=True)


def test_state_page_lists_districts_with_vacancies(client: FlaskClient, directory: Path) -> None:
    page = client.get("/find/nh").get_data(as_text=True)
    assert "Hillsborough 40" in page and "1 vacant" in page and "Ada Alder" in page
    loaded = db.session.get(DirectoryState, "nh")
    assert loaded is not None
    assert f"Directory loaded {loaded.synced_at.strftime('%B %-d, %Y')} from Open States" in page
    assert '<a href="mailto:ada@leg.example.gov">ada@leg.example.gov</a>' in page
    assert '<a href="tel:5550100">555-0100</a>' in page
    no_email = client.get("/find/ma").get_data(as_text=True)  # Al Ash has a phone, no email
    assert "Al Ash" in no_email and '<a href="tel:5550100">555-0100</a>' in no_email
    never = client.get("/find/md").get_data(as_text=True)
    assert "No directory data for MD yet" in never and "vacant" not in never
    assert client.get("/find/zz").status_code == 404


@pytest.mark.parametrize(
    ("phone", "href"),
    [
        ("(603) 271-3661", "tel:+16032713661"),
        ("603-271-3661 ext. 12", "tel:+16032713661"),
        ("1-800-555-0100", "tel:+18005550100"),
        ("555-0100", "tel:5550100"),
    ],
)
def test_tel_links(phone: str, href: str) -> None:
    assert tel_href(phone) == href


def test_state_never_loaded_claims_no_vacancy(
    app: Flask, upstream: FakeUpstreams, client: FlaskClient, directory: Path
) -> None:
    """Maryland is not in the test directory: seats from the registry, vacancies unknown."""
    address = "100 State Cir, Annapolis, MD 21401"
    upstream.add_address(
        address,
        Match(
            "100 STATE CIR, ANNAPOLIS, MD, 21401",
            "24",
            upper=[sld_object("upper", "24030", "30")],
            lower=[sld_object("lower", "2430A", "30A")],
        ),
    )
    code, data, output = cli_lookup(app, address)
    assert code == 0 and data is not None
    assert data["districts"] == [
        {
            "chamber": "upper",
            "district": "30",
            "division_id": "ocd-division/country:us/state:md/sldu:30",
            "seats": 1,
            "vacancies": None,
            "legislators": [],
        },
        {
            "chamber": "lower",
            "district": "30A",
            "division_id": "ocd-division/country:us/state:md/sldl:30a",
            "seats": 2,
            "vacancies": None,
            "legislators": [],
        },
    ]
    assert "no directory data for MD yet" in output
    api = client.get("/api/lookup", query_string={"address": address}).get_json()
    assert [d["vacancies"] for d in api["districts"]] == [None, None]
    page = client.get("/find", query_string={"address": address}).get_data(as_text=True)
    assert "No directory data for MD yet" in page
    assert "Vacant seat" not in page and "no one to contact" not in page
    text = app.test_cli_runner().invoke(lookup_command, [address])
    assert "lower 30A: 2 seat(s), vacancies unknown (no directory data)" in text.stdout


def test_seats_come_from_the_registry_not_the_synced_table(
    app: Flask, upstream: FakeUpstreams, directory: Path
) -> None:
    db.session.execute(delete(District))  # e.g. a district table left behind by an old sync
    db.session.commit()
    upstream.add_address(ADDRESS, nh_match())
    code, data, _ = cli_lookup(app, ADDRESS)
    assert code == 0 and data is not None
    floterial = by_district(data)["Hillsborough 40"]
    assert (floterial["seats"], floterial["vacancies"]) == (4, 1)


def test_bad_input_exits_2_and_help_lists_the_exit_codes(app: Flask) -> None:
    code, data, output = cli_lookup(app, "no numbers here")
    assert code == 2 and "house number" in output
    assert data is not None and "house number" in data["error"]
    help_text = app.test_cli_runner().invoke(lookup_command, ["--help"]).output
    for line in (
        "0  matched",
        "2  the input cannot be an address",
        "3  no match, or the Census matched the address but it maps to no district",
        "4  the Census geocoder failed",
    ):
        assert line in help_text, help_text


def test_configured_benchmark_and_vintage_are_sent(
    app: Flask,
    app_config: dict[str, object],
    upstream: FakeUpstreams,
    directory: Path,
) -> None:
    upstream.add_address(ADDRESS, nh_match())
    code, _, _ = cli_lookup(app, ADDRESS)  # the default configuration; now cached
    assert code == 0
    default_query = upstream.requests[-1][1]
    assert default_query["benchmark"] == ["Public_AR_Current"]
    assert default_query["vintage"] == ["Current_Current"]
    census2020 = create_app(
        # An id works as well as a name for the vintage.
        {**app_config, "CENSUS_BENCHMARK": "Public_AR_Census2020", "CENSUS_VINTAGE": "2010"}
    )
    with census2020.app_context():  # the CLI runs in the current app context if there is one
        try:
            assert census2020.config["CENSUS_BENCHMARK"] == "Public_AR_Census2020"
            code, data, output = cli_lookup(census2020, ADDRESS)
        finally:
            db.session.remove()
            db.engine.dispose()
    assert code == 0, output
    assert data is not None and len(data["districts"]) == 3  # layer names without a year
    assert len(upstream.requests) == 2  # the cache is per benchmark and vintage
    path, query = upstream.requests[-1]
    assert path == "/geocoder/geographies/onelineaddress"
    assert query == {
        "address": [ADDRESS],
        "benchmark": ["Public_AR_Census2020"],
        "vintage": ["2010"],
        "format": ["json"],
        "layers": ["all"],
    }


def test_real_census_payload_to_real_people(app: Flask, upstream: FakeUpstreams) -> None:
    """A captured Census response (Virginia, no year in the layer names) and the real VA roster."""
    need_shared(SHARED_FIXTURES / "census_geographies_onelineaddress_census2020.json")
    need_shared(SHARED_PEOPLE / "va.csv")
    from advocacy.lookup.directory import sync_states
    from advocacy.lookup.openstates import BulkPeopleSource

    assert sync_states(BulkPeopleSource(str(SHARED_PEOPLE)), ["va"])[0].ok
    body = (SHARED_FIXTURES / "census_geographies_onelineaddress_census2020.json").read_bytes()
    address = "2525 buckelew dr falls church va 22046"
    upstream.add_raw(address, 200, "application/json", body)
    code, data, _ = cli_lookup(app, address)
    assert code == 0 and data is not None
    assert data["matched_address"] == "2525 BUCKELEW DR, FALLS CHURCH, VA, 22046"
    districts = {(d["chamber"], d["district"]): d for d in data["districts"]}
    assert set(districts) == {("upper", "35"), ("lower", "53")}
    for district in districts.values():
        assert len(district["legislators"]) == 1 and district["vacancies"] == 0
        assert district["legislators"][0]["id"].startswith("ocd-person/")


def test_real_layer_error_payload(app: Flask, upstream: FakeUpstreams) -> None:
    need_shared(
        SHARED_FIXTURES / "census_geographies_onelineaddress_current_2017_layer_errors.json"
    )
    body = SHARED_FIXTURES / "census_geographies_onelineaddress_current_2017_layer_errors.json"
    upstream.add_raw(
        "1600 pennsylvania avenue nw, washington, dc, 20500",
        200,
        "application/json",
        body.read_bytes(),
    )
    code, _, _ = cli_lookup(app, "1600 Pennsylvania Avenue NW, Washington, DC, 20500")
    assert code == 4


def test_structured_address_uses_the_address_endpoint(
    client: FlaskClient, upstream: FakeUpstreams, directory: Path
) -> None:
    upstream.add_address("12 Main St, Nashua, NH, 03060", nh_match())
    response = client.get(
        "/api/lookup",
        query_string={"street": "12 Main St", "city": "Nashua", "state": "NH", "zip": "03060"},
    )
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert data["confidence"] == "exact" and len(data["districts"]) == 3
    path, query = upstream.requests[-1]
    assert path == "/geocoder/geographies/address"
    assert query["street"] == ["12 Main St"] and query["zip"] == ["03060"]
    bad = client.get("/api/lookup", query_string={"street": "12 Main St", "zip": "3060"})
    assert bad.status_code == 400 and "ZIP" in bad.get_json()["error"]
    missing = client.get("/api/lookup", query_string={"street": "12 Main St"})
    assert missing.status_code == 400
