"""The fake Census geocoder answers in the real format: checked against the real captures."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.conftest import SHARED_FIXTURES, need_shared
from tests.fakes.upstream import FakeUpstreams, Match, sld_object

CENSUS2020 = SHARED_FIXTURES / "census_geographies_onelineaddress_census2020.json"
LAYER_ERRORS = SHARED_FIXTURES / "census_geographies_onelineaddress_current_2017_layer_errors.json"
YEAR = re.compile(r"^(?:\d{4} |\d{2,3}(?:st|nd|rd|th) )")


@pytest.fixture
def fake() -> Iterator[FakeUpstreams]:
    upstream = FakeUpstreams().start()
    upstream.add_address(
        "12 Main St, Nashua, NH, 03060",
        Match(
            "12 MAIN ST, NASHUA, NH, 03060",
            "33",
            upper=[sld_object("upper", "33015", "15")],
            lower=[sld_object("lower", "33523", "Hillsborough 23")],
        ),
    )
    yield upstream
    upstream.stop()


def ask(fake: FakeUpstreams, path: str, **params: str) -> requests.Response:
    return requests.get(f"{fake.base_url}/geocoder/{path}", params=params, timeout=5)


def result_of(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    result: dict[str, Any] = response.json()["result"]
    return result


def real(path: Any) -> dict[str, Any]:
    need_shared(path)
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))["result"]
    return data


def test_structured_address_echoes_its_parts(fake: FakeUpstreams) -> None:
    """geographies/address repeats {street, city, state, zip} back, not {"address": ...}."""
    result = result_of(
        ask(
            fake,
            "geographies/address",
            street="12 Main St",
            city="Nashua",
            state="NH",
            zip="03060",
            benchmark="Public_AR_Current",
            vintage="Current_Current",
            format="json",
            layers="all",
        )
    )
    assert result["input"]["address"] == {
        "street": "12 Main St",
        "city": "Nashua",
        "state": "NH",
        "zip": "03060",
    }
    assert result["input"]["benchmark"]["benchmarkName"] == "Public_AR_Current"
    assert result["input"]["vintage"]["vintageName"] == "Current_Current"
    assert result["addressMatches"][0]["matchedAddress"] == "12 MAIN ST, NASHUA, NH, 03060"
    oneline = result_of(
        ask(
            fake,
            "geographies/onelineaddress",
            address="12 main st,  nashua, nh, 03060",
            benchmark="4",
            vintage="4",
            format="json",
        )
    )
    assert oneline["input"]["address"] == {"address": "12 main st,  nashua, nh, 03060"}
    assert len(oneline["addressMatches"]) == 1


def test_default_layer_set_matches_the_real_capture(fake: FakeUpstreams) -> None:
    captured = real(CENSUS2020)
    answer = result_of(
        ask(
            fake,
            "geographies/onelineaddress",
            address="12 Main St, Nashua, NH, 03060",
            benchmark="Public_AR_Census2020",
            vintage="Census2020_Census2020",
            format="json",
        )
    )
    assert set(answer) == set(captured)
    assert answer["input"]["benchmark"] == captured["input"]["benchmark"]
    assert answer["input"]["vintage"] == captured["input"]["vintage"]
    ours, theirs = answer["addressMatches"][0], captured["addressMatches"][0]
    assert set(ours) == set(theirs)
    assert set(ours["addressComponents"]) == set(theirs["addressComponents"])
    assert set(ours["geographies"]) == set(theirs["geographies"])  # same default layers
    for layer, items in theirs["geographies"].items():
        if ours["geographies"][layer]:  # each object has the key set of the real one
            assert set(ours["geographies"][layer][0]) == set(items[0]), layer


def test_all_layers_and_layer_errors_as_captured(fake: FakeUpstreams) -> None:
    captured = real(LAYER_ERRORS)["addressMatches"][0]["geographies"]
    fake.add_address(
        "1 Main St, Concord, NH",
        Match("1 MAIN ST, CONCORD, NH, 03301", "33", failed_layers=True),
    )
    geographies = result_of(
        ask(
            fake,
            "geographies/onelineaddress",
            address="1 Main St, Concord, NH",
            benchmark="Public_AR_Current",
            vintage="Current_Current",
            format="json",
            layers="all",
        )
    )["addressMatches"][0]["geographies"]
    assert "2024 State Legislative Districts - Upper" in geographies
    assert len(geographies) > 12  # more than the default set, some of them empty
    assert [] in geographies.values()
    failed = {YEAR.sub("", k) for k, v in geographies.items() if v and "status" in v[0]}
    captured_failed = {YEAR.sub("", k) for k, v in captured.items() if v and "status" in v[0]}
    assert failed == {
        "State Legislative Districts - Upper",
        "State Legislative Districts - Lower",
        "Congressional Districts",
    }
    assert failed <= captured_failed
    assert (
        geographies["2024 State Legislative Districts - Lower"]
        == (captured["2016 State Legislative Districts - Lower"])
    )


def test_unknown_benchmark_or_missing_format_is_not_json(fake: FakeUpstreams) -> None:
    params = {"address": "12 Main St, Nashua, NH, 03060", "layers": "all"}
    wrong_pair = ask(
        fake,
        "geographies/onelineaddress",
        benchmark="Public_AR_Census2020",
        vintage="Current_Current",  # a vintage of another benchmark
        format="json",
        **params,
    )
    assert wrong_pair.status_code == 400
    no_format = ask(
        fake,
        "geographies/onelineaddress",
        benchmark="Public_AR_Current",
        vintage="Current_Current",
        **params,
    )
    assert no_format.headers["Content-Type"] == "text/html"
