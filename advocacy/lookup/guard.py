"""How address lookups ask the Census geocoder, so that a slow, bursty or silent geocoder
never holds the site up. One ``CensusGuard`` per app and process (each gunicorn worker, or
``./dev start``'s one process):

* **A deadline**: a visitor's whole wait (a request slot, the tries and the pauses between
  them) ends ``CENSUS_DEADLINE`` seconds after it began; then the visitor gets the district
  picker, with a sentence saying why (``CensusUnavailable.reason``).
* **A cap**: at most ``CENSUS_MAX_CONCURRENT`` requests to the Census at once from this
  process; others wait for a slot until their deadline. Lookups wait on the geocoder in at
  most three quarters of the web server's threads (``SERVER_THREADS``), so the waits never
  take every thread from the pages; more get the picker at once.
* **Coalescing**: identical addresses asked at once make one request; the others wait for its
  answer (within their own deadline).
* **A circuit breaker**: after ``CENSUS_BREAKER_FAILURES`` failed requests in a row, nobody
  asks the Census for ``CENSUS_BREAKER_SECONDS`` (visitors go straight to the picker); then
  one lookup tries it (half-open), and the breaker closes when it answers, or opens again.
* **One at a time after the answer**: answers arrive in bursts, and the work that follows
  (caching the answer, finding the districts and the people) is done by one lookup at a time
  per process. A crowd of threads working at once would make every page wait its turn for
  the interpreter (the GIL); one at a time, pages never queue behind more than one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Literal, TypeVar

from flask import Flask, current_app

from ..observability.metrics import observe_breaker, observe_census_wait, set_census_in_flight
from . import census
from .census import CensusUnavailable

log = logging.getLogger(__name__)
State = Literal["closed", "half_open", "open"]
Result = TypeVar("Result")


class CircuitBreaker:
    """Closed: requests go through; ``failures`` failed ones in a row open it. Open: no
    request for ``pause`` seconds. Then the next request is let through alone (half-open): it
    closes the breaker if it succeeds and opens it again if it fails. Not thread-safe on its
    own: its owner calls it under a lock."""

    def __init__(
        self, failures: int, pause: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.failures_to_open = max(1, failures)
        self.pause = pause
        self.clock = clock
        self.state: State = "closed"
        self.failures = 0  # in a row
        self.opened_at = 0.0
        self.probing = False  # the one half-open request is under way
        observe_breaker("closed", changed=False)

    @property
    def resting(self) -> bool:
        """Open, and its pause not over: nobody may ask."""
        return self.state == "open" and self.clock() - self.opened_at < self.pause

    def allow(self) -> bool:
        """Whether a request may go to the upstream now; in half-open, only the first."""
        if self.state == "closed":
            return True
        if self.resting or self.probing:
            return False
        if self.state == "open":
            self._move("half_open")
        self.probing = True
        return True

    def succeeded(self) -> None:
        self.failures = 0
        self.probing = False
        if self.state != "closed":
            self._move("closed")

    def failed(self) -> None:
        self.failures += 1
        self.probing = False
        if self.state == "half_open" or (
            self.state == "closed" and self.failures >= self.failures_to_open
        ):
            self.opened_at = self.clock()
            self._move("open")

    def gave_up(self) -> None:
        """A request ``allow`` let through never reached the upstream (no slot in time)."""
        self.probing = False

    def _move(self, state: State) -> None:
        was, self.state = self.state, state
        observe_breaker(state)
        if state == "open":
            log.warning(
                "census geocoder circuit breaker open (%s): lookups go to the district picker "
                "for %.0f s",
                "the trial request failed"
                if was == "half_open"
                else f"{self.failures} failed requests in a row",
                self.pause,
                extra={"upstream": "census", "breaker": state},
            )
        elif state == "half_open":
            log.info(
                "census geocoder circuit breaker half-open: one lookup tries the geocoder",
                extra={"upstream": "census", "breaker": state},
            )
        else:
            log.warning(
                "census geocoder circuit breaker closed: the geocoder answered again",
                extra={"upstream": "census", "breaker": state},
            )


class CensusGuard:
    def __init__(
        self,
        max_concurrent: int,
        deadline: float,
        breaker: CircuitBreaker,
        max_waiting: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_concurrent = max(1, max_concurrent)
        self.deadline = deadline
        self.breaker = breaker
        self.max_waiting = max_waiting
        self.clock = clock
        self.in_flight = 0  # requests to the upstream
        self.visitors = 0  # lookups inside ``call``: in flight, waiting for a slot or an answer
        self._lock = threading.Condition()
        self._flights: dict[str, Future[Any]] = {}
        self._after_answer = threading.Lock()

    def one_at_a_time(self) -> threading.Lock:
        """Held while a lookup works out the geocoder's answer (see the module's notes)."""
        return self._after_answer

    def call(self, key: str, fetch: Callable[[float], Result]) -> Result:
        """``fetch(deadline)``'s answer under the rules above; raises ``CensusUnavailable``
        (with its reason) when there is none by the deadline. ``key`` names the request:
        calls with the same key at the same time share one."""
        started = self.clock()
        outcome = "error"
        try:
            result = self._call(key, fetch, started + self.deadline)
            outcome = "ok"
            return result
        except CensusUnavailable as exc:
            outcome = exc.reason
            raise
        finally:
            observe_census_wait(outcome, self.clock() - started)

    def _call(self, key: str, fetch: Callable[[float], Result], deadline: float) -> Result:
        with self._lock:
            if self.max_waiting is not None and self.visitors >= self.max_waiting:
                raise CensusUnavailable("too many lookups are waiting for the geocoder", "busy")
            flight = self._flights.get(key)
            leading = flight is None
            if flight is None:
                if not self.breaker.allow():
                    raise CensusUnavailable("the geocoder's circuit breaker is open", "paused")
                flight = self._flights[key] = Future()
            self.visitors += 1
        try:
            if leading:
                return self._lead(key, flight, fetch, deadline)
            return self._follow(flight, deadline)
        finally:
            with self._lock:
                self.visitors -= 1

    def _lead(
        self, key: str, flight: Future[Result], fetch: Callable[[float], Result], deadline: float
    ) -> Result:
        try:
            self._take_slot(deadline)
            try:
                result = fetch(deadline)
            except CensusUnavailable as exc:
                self._finished(exc.reason)
                raise
            except BaseException:
                self._finished(None)
                raise
            self._finished("ok")
        except BaseException as exc:
            self._land(key)
            flight.set_exception(exc)
            raise
        self._land(key)
        flight.set_result(result)
        return result

    def _follow(self, flight: Future[Result], deadline: float) -> Result:
        try:
            return flight.result(timeout=max(0.0, deadline - self.clock()))
        except TimeoutError:
            raise CensusUnavailable(
                "the same address's lookup did not finish in time", "timeout"
            ) from None
        except CensusUnavailable as exc:
            # A new exception: the leader's is raised in its own thread at the same time.
            raise CensusUnavailable(str(exc), exc.reason) from None

    def _take_slot(self, deadline: float) -> None:
        """A request slot, with time left to use it, or ``CensusUnavailable``."""
        with self._lock:
            while True:
                if self.breaker.resting:
                    raise CensusUnavailable("the geocoder's circuit breaker opened", "paused")
                left = deadline - self.clock() - census.MIN_TRY_SECONDS
                if left <= 0:
                    self.breaker.gave_up()
                    raise CensusUnavailable("no request slot came free in time", "busy")
                if self.in_flight < self.max_concurrent:
                    break
                self._lock.wait(left)
            self.in_flight += 1
            set_census_in_flight(self.in_flight)

    def _finished(self, outcome: str | None) -> None:
        """A request ended: ``ok``, a reason of ``CensusUnavailable``, or None (a bug)."""
        with self._lock:
            self.in_flight -= 1
            set_census_in_flight(self.in_flight)
            if outcome in ("ok", "refused"):  # refused: it answered, so it is up
                self.breaker.succeeded()
            elif outcome is None:
                self.breaker.gave_up()
            else:
                self.breaker.failed()
            # A free slot for one waiter; when the breaker opened, every waiter goes.
            if self.breaker.resting:
                self._lock.notify_all()
            else:
                self._lock.notify()

    def _land(self, key: str) -> None:
        with self._lock:
            self._flights.pop(key, None)


def init_app(app: Flask) -> None:
    config = app.config
    breaker = CircuitBreaker(config["CENSUS_BREAKER_FAILURES"], config["CENSUS_BREAKER_SECONDS"])
    app.extensions["advocacy.census_guard"] = CensusGuard(
        config["CENSUS_MAX_CONCURRENT"], config["CENSUS_DEADLINE"], breaker
    )


def census_guard_of(app: Flask) -> CensusGuard:
    """This app's guard (one per app and process). When the web server said how many threads
    it has (``SERVER_THREADS``), lookups may wait on the geocoder in at most three quarters of
    them, so the others always serve pages."""
    guard: CensusGuard = app.extensions["advocacy.census_guard"]
    threads = app.config.get("SERVER_THREADS")
    if threads:
        guard.max_waiting = max(1, int(threads) * 3 // 4)
    return guard


def census_guard() -> CensusGuard:
    return census_guard_of(current_app)
