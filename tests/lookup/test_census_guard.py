"""How lookups ask a slow, bursty or silent Census geocoder (lookup/guard.py, census.py): the
circuit breaker's states, the cap on requests at once, identical addresses asked once, the
deadline, Retry-After. The geocoder is the real-HTTP fake; its clock-driven parts use a fake
clock."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from flask import Flask

from advocacy.lookup import census
from advocacy.lookup.census import CensusUnavailable, _retry_after
from advocacy.lookup.guard import CensusGuard, CircuitBreaker, census_guard, census_guard_of
from advocacy.lookup.service import LookupResult, lookup_address
from tests.fakes.upstream import FakeUpstreams, Match, sld_object


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def nh(address: str = "12 MAIN ST, NASHUA, NH, 03060") -> Match:
    return Match(
        address,
        "33",
        upper=[sld_object("upper", "33015", "15")],
        lower=[sld_object("lower", "33523", "Hillsborough 23")],
    )


@pytest.fixture
def app_config(app_config: dict[str, object]) -> dict[str, object]:
    return {**app_config, "CENSUS_BREAKER_FAILURES": 3, "CENSUS_BREAKER_SECONDS": 30.0}


@pytest.fixture(autouse=True)
def short_tries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Deadlines of a fraction of a second here: a try may be as short."""
    monkeypatch.setattr(census, "MIN_TRY_SECONDS", 0.1)


# -- the breaker alone -------------------------------------------------------------------------


def test_breaker_opens_after_failures_in_a_row_then_probes_once_and_closes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=3, pause=30.0, clock=clock)
    caplog.set_level(logging.INFO, logger="advocacy.lookup.guard")
    assert breaker.allow() and breaker.state == "closed"
    breaker.failed()
    breaker.failed()
    breaker.succeeded()  # a success in between: the count starts again
    breaker.failed()
    breaker.failed()
    assert breaker.state == "closed" and breaker.allow()
    breaker.failed()
    assert breaker.state == "open" and not breaker.allow()
    assert "circuit breaker open (3 failed requests in a row)" in caplog.text
    clock.now += 29.9
    assert not breaker.allow() and breaker.state == "open"
    clock.now += 0.2
    assert breaker.allow() and breaker.state == "half_open"  # the one trial request
    assert not breaker.allow() and not breaker.allow()  # nobody else meanwhile
    assert "half-open" in caplog.text
    breaker.succeeded()
    assert breaker.state == "closed" and breaker.allow() and breaker.allow()
    assert "circuit breaker closed: the geocoder answered again" in caplog.text


def test_breaker_failed_trial_opens_it_again_for_a_whole_pause(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=1, pause=10.0, clock=clock)
    breaker.failed()
    clock.now += 10.0
    assert breaker.allow() and breaker.state == "half_open"
    breaker.failed()
    assert breaker.state == "open" and not breaker.allow()
    assert "the trial request failed" in caplog.text
    clock.now += 9.0
    assert not breaker.allow()
    clock.now += 1.0
    assert breaker.allow()


def test_breaker_trial_that_never_reached_the_geocoder_lets_another_try() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=1, pause=10.0, clock=clock)
    breaker.failed()
    clock.now += 10.0
    assert breaker.allow() and not breaker.allow()
    breaker.gave_up()  # no request slot came free for it
    assert breaker.state == "half_open" and breaker.allow()


# -- the guard with a fake upstream ------------------------------------------------------------


@pytest.fixture
def addresses(upstream: FakeUpstreams) -> Callable[[int], list[str]]:
    upstream.any_address = [nh()]

    def make(count: int) -> list[str]:
        return [f"{100 + n} Main St, Nashua, NH 03060" for n in range(count)]

    return make


def _in_threads(app: Flask, work: Callable[[str], Any], items: list[str]) -> list[Any]:
    """``work(item)`` for every item at once, each in its own thread and app context;
    exceptions are returned, not raised."""

    def one(item: str) -> Any:
        with app.app_context():
            try:
                return work(item)
            except Exception as exc:  # noqa: BLE001 - the test reads it
                return exc

    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        return list(pool.map(one, items))


def test_at_most_the_cap_of_requests_at_once(
    app: Flask, upstream: FakeUpstreams, addresses: Callable[[int], list[str]]
) -> None:
    census_guard().max_concurrent = 3
    upstream.latencies = [0.2]
    results = _in_threads(app, lookup_address, addresses(12))
    assert all(isinstance(r, LookupResult) and r.confidence != "none" for r in results), results
    assert upstream.geocoder_calls() == 12
    assert upstream.max_in_flight == 3  # the cap was reached and never passed


def test_the_cap_setting_reaches_the_guard(app_config: dict[str, object]) -> None:
    from advocacy import create_app

    app = create_app({**app_config, "CENSUS_MAX_CONCURRENT": 7})
    assert census_guard_of(app).max_concurrent == 7
    with app.app_context():
        from advocacy.extensions import db

        db.engine.dispose()


def test_identical_addresses_at_once_make_one_request(
    app: Flask, upstream: FakeUpstreams, addresses: Callable[[int], list[str]]
) -> None:
    upstream.latencies = [0.3]
    same = addresses(1) * 6
    results = _in_threads(app, lookup_address, same)
    assert all(isinstance(r, LookupResult) for r in results), results
    assert {r.matched_address for r in results} == {"12 MAIN ST, NASHUA, NH, 03060"}
    assert upstream.geocoder_calls() == 1


def test_a_failed_request_fails_everyone_waiting_for_it_once(
    app: Flask, upstream: FakeUpstreams, addresses: Callable[[int], list[str]]
) -> None:
    upstream.latencies = [0.3]
    upstream.mode = "500"
    results = _in_threads(app, lookup_address, addresses(1) * 4)
    assert all(isinstance(r, CensusUnavailable) and r.reason == "error" for r in results)
    assert upstream.geocoder_calls() == 1  # CENSUS_RETRIES is 0 in the tests


@pytest.fixture
def blocker(app: Flask) -> Iterator[Callable[[], threading.Thread]]:
    """Occupies the guard's request slots with lookups that wait until the test ends."""
    release = threading.Event()
    started: list[threading.Thread] = []

    def hold(deadline: float) -> str:
        release.wait(30)
        return "held"

    def start() -> threading.Thread:
        entered = threading.Event()
        guard = census_guard()

        def run() -> None:
            def fetch(deadline: float) -> str:
                entered.set()
                return hold(deadline)

            guard.call(f"blocker-{len(started)}", fetch)

        thread = threading.Thread(target=run, daemon=True)
        started.append(thread)
        thread.start()
        assert entered.wait(10)
        return thread

    yield start
    release.set()
    for thread in started:
        thread.join(10)


def test_no_slot_in_time_is_busy_and_asks_nothing(
    app: Flask,
    upstream: FakeUpstreams,
    addresses: Callable[[int], list[str]],
    blocker: Callable[[], threading.Thread],
) -> None:
    guard = census_guard()
    guard.max_concurrent, guard.deadline = 1, 0.5
    blocker()
    with pytest.raises(CensusUnavailable) as caught:
        lookup_address(addresses(1)[0])
    assert caught.value.reason == "busy"
    assert upstream.geocoder_calls() == 0
    assert guard.breaker.state == "closed"  # our own queue says nothing about the geocoder


def test_more_visitors_than_the_waiting_room_are_busy_at_once(
    app: Flask,
    upstream: FakeUpstreams,
    addresses: Callable[[int], list[str]],
    blocker: Callable[[], threading.Thread],
) -> None:
    guard = census_guard()
    guard.max_concurrent, guard.max_waiting, guard.deadline = 1, 1, 60.0
    blocker()
    with pytest.raises(CensusUnavailable) as caught:
        lookup_address(addresses(1)[0])  # would wait a minute for the slot: refused now
    assert caught.value.reason == "busy" and upstream.geocoder_calls() == 0


def test_a_hanging_geocoder_ends_at_the_deadline_and_opens_the_breaker(
    app: Flask, upstream: FakeUpstreams, addresses: Callable[[int], list[str]]
) -> None:
    guard = census_guard()
    guard.deadline = 0.4
    upstream.mode = "hang"
    app.config.update(CENSUS_RETRIES=2)
    reasons = []
    for address in addresses(4):
        with pytest.raises(CensusUnavailable) as caught:
            lookup_address(address)
        reasons.append(caught.value.reason)
    # Three timeouts open the breaker (CENSUS_BREAKER_FAILURES=3); the fourth asks nothing.
    assert reasons == ["timeout", "timeout", "timeout", "paused"]
    assert upstream.geocoder_calls() == 3  # a try that cannot end by the deadline is not made
    assert guard.breaker.state == "open"


def test_the_breaker_closes_when_the_geocoder_answers_the_trial(
    app: Flask,
    upstream: FakeUpstreams,
    addresses: Callable[[int], list[str]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    guard = census_guard()
    guard.breaker.clock = clock
    upstream.mode = "500"
    first, second, third, fourth, fifth = addresses(5)
    for address in (first, second, third):
        with pytest.raises(CensusUnavailable):
            lookup_address(address)
    assert guard.breaker.state == "open"
    upstream.mode = "ok"
    with pytest.raises(CensusUnavailable) as caught:
        lookup_address(fourth)
    assert caught.value.reason == "paused" and upstream.geocoder_calls() == 3
    clock.now += 30.0
    assert lookup_address(fourth).confidence != "none"  # the trial
    assert guard.breaker.state == "closed"
    assert lookup_address(fifth).confidence != "none"
    assert upstream.geocoder_calls() == 5
    assert "circuit breaker closed" in caplog.text


def test_a_refusal_is_not_the_geocoder_failing(
    app: Flask, upstream: FakeUpstreams, addresses: Callable[[int], list[str]]
) -> None:
    upstream.mode = "html"  # HTTP 400: it answered, it is up
    for address in addresses(4):
        with pytest.raises(CensusUnavailable) as caught:
            lookup_address(address)
        assert caught.value.reason == "refused"
    assert census_guard().breaker.state == "closed"


def test_guard_passes_its_deadline_to_the_request() -> None:
    clock = Clock()
    guard = CensusGuard(2, 4.5, CircuitBreaker(3, 30.0, clock), clock=clock)
    seen: list[float] = []
    assert guard.call("k", lambda deadline: seen.append(deadline) or "answer") == "answer"
    assert seen == [1004.5]


# -- Retry-After and the deadline in the adapter ----------------------------------------------


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(census.time, "sleep", slept.append)
    return slept


def geocoder(upstream: FakeUpstreams, retries: int = 2) -> census.CensusGeocoder:
    return census.CensusGeocoder(upstream.base_url + "/geocoder", retries=retries, backoff=0.01)


@pytest.mark.parametrize("status", ["429", "503"])
def test_retry_after_is_waited_for_before_the_retry(
    upstream: FakeUpstreams, pauses: list[float], status: str
) -> None:
    upstream.add_address("12 Main St, Nashua NH", nh())
    upstream.mode, upstream.retry_after = status, "2"
    with pytest.raises(CensusUnavailable) as caught:
        geocoder(upstream).geocode("12 Main St, Nashua NH", census.time.monotonic() + 60)
    assert pauses and all(pause >= 2.0 for pause in pauses)  # never sooner than asked
    assert len(upstream.requests) == 3 and "asked to wait 2 s" in str(caught.value)


def test_retry_after_past_the_deadline_ends_the_lookup_at_once(
    upstream: FakeUpstreams, pauses: list[float]
) -> None:
    upstream.mode, upstream.retry_after = "503", "120"
    with pytest.raises(CensusUnavailable) as caught:
        geocoder(upstream).geocode("12 Main St, Nashua NH", census.time.monotonic() + 4.5)
    assert pauses == [] and len(upstream.requests) == 1
    assert caught.value.reason == "error"


def test_backoff_has_jitter_and_stays_inside_the_deadline(
    upstream: FakeUpstreams, pauses: list[float]
) -> None:
    upstream.mode = "500"
    with pytest.raises(CensusUnavailable):
        geocoder(upstream, retries=5).geocode("12 Main St", census.time.monotonic() + 60)
    assert len(pauses) == 5 and len(set(pauses)) == 5
    for attempt, pause in enumerate(pauses):  # 0.01 s doubled each time, times 0.5 to 1.5
        assert 0.005 * 2**attempt <= pause <= 0.015 * 2**attempt


def test_retry_after_as_a_date() -> None:
    later = datetime.now(UTC) + timedelta(seconds=90)
    assert 80 < _retry_after(format_datetime(later, usegmt=True)) <= 90
    assert _retry_after("7") == 7.0
    assert _retry_after(None) == 0.0 and _retry_after("soon") == 0.0
    assert _retry_after(format_datetime(datetime(2001, 1, 1, tzinfo=UTC), usegmt=True)) == 0.0


def test_a_lookup_waiting_on_the_geocoder_holds_no_database_connection(
    app: Flask, upstream: FakeUpstreams, addresses: Callable[[int], list[str]]
) -> None:
    from advocacy.extensions import db

    upstream.mode = "hang"
    census_guard().deadline = 30.0
    db.session.remove()
    waiting = threading.Thread(target=_in_threads, args=(app, lookup_address, addresses(1)))
    waiting.start()
    for _ in range(1000):  # until the request reaches the geocoder (at most 10 s)
        if upstream.in_flight:
            break
        threading.Event().wait(0.01)
    assert upstream.in_flight == 1
    assert db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    upstream.set_mode("ok")
    waiting.join(10)
    assert upstream.geocoder_calls() == 1


def test_lookups_wait_in_at_most_three_quarters_of_the_servers_threads(app: Flask) -> None:
    from types import SimpleNamespace

    from advocacy.observability import gunicorn_conf

    assert census_guard().max_waiting is None  # no server said how many threads it has
    gunicorn_conf.post_worker_init(SimpleNamespace(wsgi=app, cfg=SimpleNamespace(threads=128)))
    assert app.config["SERVER_THREADS"] == 128 and census_guard().max_waiting == 96
    other = SimpleNamespace(wsgi=lambda environ, start: [], cfg=SimpleNamespace(threads=4))
    gunicorn_conf.post_worker_init(other)  # another WSGI app (the bench's hello): left alone


def test_an_answer_is_worked_out_one_lookup_at_a_time(
    app: Flask, upstream: FakeUpstreams, addresses: Callable[[int], list[str]]
) -> None:
    from unittest.mock import patch

    from advocacy.lookup import service

    held: list[bool] = []
    real = service._result_for

    def watched(*args: Any) -> LookupResult:
        held.append(census_guard().one_at_a_time().locked())
        return real(*args)

    with patch.object(service, "_result_for", watched):
        first = lookup_address(addresses(1)[0])  # asks the geocoder
        again = lookup_address(addresses(1)[0])  # from the cache: nothing to wait for
    assert first.confidence != "none" and again.from_cache
    assert held == [True, False]
    assert not census_guard().one_at_a_time().locked()  # let go once worked out
