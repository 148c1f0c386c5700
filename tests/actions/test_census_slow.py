"""A visitor whose address lookup gets no answer from the Census (it hangs, fails, is paused by
the circuit breaker, or has no free request slot) reaches the district picker with a sentence
saying why, through the real views; the rest of the site stays up."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from advocacy.lookup import census
from advocacy.lookup.guard import census_guard
from tests.actions.helpers import ADDRESS, FORM, LOWER
from tests.fakes.upstream import FakeUpstreams
from tests.text import visible_text

TRY_AGAIN = "Please choose your state and district below, or try again in a minute."


@pytest.fixture
def app_config(app_config: dict[str, object]) -> dict[str, object]:
    return {
        **app_config,
        "CENSUS_DEADLINE": 0.5,
        "CENSUS_BREAKER_FAILURES": 2,
        "CENSUS_BREAKER_SECONDS": 60.0,
        "METRICS_TOKEN": "metrics-token",
    }


@pytest.fixture(autouse=True)
def short_tries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Deadlines of a fraction of a second here: a try may be as short."""
    monkeypatch.setattr(census, "MIN_TRY_SECONDS", 0.1)


def act(client: FlaskClient, address: str = ADDRESS) -> str:
    """Post the campaign form; the visible text of the page it leads to (the picker)."""
    response = client.post(f"/c/{LOWER}/act", data={**FORM, "street_address": address})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/c/{LOWER}/choose")
    return visible_text(client.get(f"/c/{LOWER}/choose"))


def test_a_hanging_geocoder_sends_the_visitor_to_the_picker(
    ready: FlaskClient, upstream: FakeUpstreams
) -> None:
    upstream.mode = "hang"
    page = act(ready)
    assert f"The address service did not answer in time. {TRY_AGAIN}" in page
    assert "Choose your district" in page and "Your city or town" in page
    assert "could not match your address" not in page  # it was never asked


def test_after_failures_the_breaker_skips_the_geocoder_and_says_so(
    ready: FlaskClient, upstream: FakeUpstreams
) -> None:
    upstream.mode = "500"
    first = act(ready, "1 Elm St, Nashua, NH 03060")
    assert f"The address service is not working right now. {TRY_AGAIN}" in first
    act(ready, "2 Elm St, Nashua, NH 03060")
    asked = upstream.geocoder_calls()
    paused = act(ready, "3 Elm St, Nashua, NH 03060")
    assert (
        "The address service stopped answering a moment ago, so we are not asking it for a "
        f"little while. {TRY_AGAIN}"
    ) in paused
    assert upstream.geocoder_calls() == asked  # not asked while the breaker is open
    assert "not working right now" not in paused and "did not answer in time" not in paused


@pytest.fixture
def slot_taken(app: Flask) -> Iterator[None]:
    """The process's one request slot is held by another lookup until the test ends."""
    guard = census_guard()
    guard.max_concurrent = 1
    entered, release = threading.Event(), threading.Event()

    def fetch(deadline: float) -> None:
        entered.set()
        release.wait(30)

    thread = threading.Thread(target=guard.call, args=("another visitor", fetch), daemon=True)
    thread.start()
    assert entered.wait(10)
    yield
    release.set()
    thread.join(10)


def test_no_free_slot_in_time_sends_the_visitor_to_the_picker(
    ready: FlaskClient, upstream: FakeUpstreams, slot_taken: None
) -> None:
    page = act(ready)
    assert (
        "Many people are looking up addresses right now, and yours could not be looked up in "
        f"time. {TRY_AGAIN}"
    ) in page
    assert upstream.geocoder_calls() == 0


def test_find_page_and_api_say_why_too(
    ready: FlaskClient, upstream: FakeUpstreams, slot_taken: None
) -> None:
    page = ready.get("/find", query_string={"address": ADDRESS})
    assert page.status_code == 503
    assert (
        "Many people are looking up addresses right now, and yours could not be looked up in "
        "time. You can try again in a minute, or choose your state and district below."
    ) in visible_text(page)
    api = ready.get("/api/lookup", query_string={"address": ADDRESS})
    assert api.status_code == 503 and api.get_json() == {
        "error": "Many people are looking up addresses right now, and yours could not be "
        "looked up in time. Please try again in a minute.",
        "reason": "busy",
    }


def test_picker_still_works_and_the_site_stays_ready_while_the_breaker_is_open(
    ready: FlaskClient, upstream: FakeUpstreams
) -> None:
    upstream.mode = "500"
    act(ready, "1 Elm St, Nashua, NH 03060")
    act(ready, "2 Elm St, Nashua, NH 03060")
    assert census_guard().breaker.state == "open"
    chooser = visible_text(ready.get(f"/c/{LOWER}/choose?state=nh"))
    assert "Hillsborough 23: Ada Alder, Ben Birch" in chooser
    chosen = ready.post(
        f"/c/{LOWER}/choose",
        data={"state": "nh", "city": "Nashua", "district": "lower|Hillsborough 23"},
    )
    assert chosen.status_code == 303 and chosen.headers["Location"].endswith("/write")
    assert ready.get(f"/c/{LOWER}").status_code == 200
    ready_check = ready.get("/readyz").get_json()
    assert "census" not in ready_check["checks"]  # the site works through the picker
    assert ready_check["checks"]["database"]["ok"] is True
    metrics = ready.get("/metrics", headers={"Authorization": "Bearer metrics-token"})
    text = metrics.get_data(as_text=True)
    assert "advocacy_census_breaker_state 2.0" in text
    assert 'advocacy_census_breaker_transitions_total{state="open"}' in text
    assert 'advocacy_census_wait_seconds_count{outcome="paused"}' in text
    assert any(
        line.startswith("advocacy_upstream_request_duration_seconds_count{")
        and 'service="census"' in line
        and 'outcome="error"' in line
        for line in text.splitlines()
    )
