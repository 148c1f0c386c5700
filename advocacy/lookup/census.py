"""US Census Geocoder adapter: the only code that knows its URL and payload shape.

Asks ``geographies/onelineaddress`` (or ``geographies/address``) for the state legislative
district layers and returns the districts found. Layer names carry a vintage year that
changes ("2024 State Legislative Districts - Upper", or no year at all), so they are matched
by suffix. A layer that failed comes back as ``{"status": "..."}`` inside an HTTP 200; a
failed legislative layer makes the whole answer a failure (never a chamber silently missing).

A lookup may be given a deadline (``time.monotonic()`` seconds): its tries and the pauses
between them (backoff with jitter, or the ``Retry-After`` of a 429 or 503) all end by then.
"""

from __future__ import annotations

import logging
import random
import re
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import requests

from ..observability.logs import redact_query
from ..observability.metrics import error_kind, observe_upstream

log = logging.getLogger(__name__)

SLD_LAYER = re.compile(r"(?:^|\s)State Legislative Districts - (Upper|Lower)$", re.IGNORECASE)
Confidence = Literal["exact", "approximate", "none"]


# Why a lookup got no answer: the geocoder did not answer in time, answered with a failure
# (5xx, 429, not JSON, failed layers, no connection) or refused the request (another 4xx); or,
# decided before asking it (lookup/guard.py), its circuit breaker is open or no request slot
# came free in time.
Reason = Literal["timeout", "error", "refused", "paused", "busy"]
# A retry is not started with less time than this left before the deadline (the geocoder
# takes about a second).
MIN_TRY_SECONDS = 1.0
# Without a deadline, a longer Retry-After ends the lookup instead of being waited for.
MAX_PAUSE_SECONDS = 30.0


class CensusUnavailable(RuntimeError):
    """The geocoder did not answer usefully (timeout, 5xx, not JSON, failed layers)."""

    def __init__(self, message: str, reason: Reason = "error") -> None:
        super().__init__(message)
        self.reason: Reason = reason


@dataclass(frozen=True)
class CensusDistrict:
    layer: Literal["upper", "lower"]
    geoid: str
    code: str | None = None
    basename: str | None = None
    name: str | None = None


@dataclass
class CensusMatch:
    matched_address: str
    state_fips: str | None
    city: str | None
    state: str | None
    zip_code: str | None
    house_number_agrees: bool
    longitude: float | None = None
    latitude: float | None = None
    districts: list[CensusDistrict] = field(default_factory=list)
    failed_layers: list[str] = field(default_factory=list)


@dataclass
class GeocodeResult:
    input: str
    matches: list[CensusMatch]

    @property
    def best(self) -> CensusMatch | None:
        return self.matches[0] if self.matches else None

    @property
    def has_failed_layers(self) -> bool:
        return any(m.failed_layers for m in self.matches)

    @property
    def confidence(self) -> Confidence:
        if not self.matches:
            return "none"
        keys = {tuple(sorted((d.layer, d.geoid) for d in m.districts)) for m in self.matches}
        if len(keys) > 1 or not self.matches[0].house_number_agrees:
            return "approximate"
        return "exact"

    def to_json(self) -> dict[str, Any]:
        return {"input": self.input, "matches": [asdict(m) for m in self.matches]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GeocodeResult:
        matches = []
        for raw in data["matches"]:
            districts = [CensusDistrict(**d) for d in raw.pop("districts")]
            matches.append(CensusMatch(**raw, districts=districts))
        return cls(input=data["input"], matches=matches)


_HOUSE_NUMBER = re.compile(r"^\s*(\d+[A-Za-z]?)(?:-\d+)?\b")


def _house_number(address: str) -> str | None:
    found = _HOUSE_NUMBER.match(address)
    return found.group(1).upper() if found else None


class CensusGeocoder:
    def __init__(
        self,
        base_url: str,
        benchmark: str = "Public_AR_Current",
        vintage: str = "Current_Current",
        timeout: float = 10.0,
        retries: int = 2,
        session: requests.Session | None = None,
        backoff: float = 0.5,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.benchmark = benchmark
        self.vintage = vintage
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.session = session or requests.Session()

    def geocode(self, address: str, deadline: float | None = None) -> GeocodeResult:
        params = {"address": address}
        return self._parse(address, self._get("geographies/onelineaddress", params, deadline))

    def geocode_parts(
        self,
        street: str,
        city: str = "",
        state: str = "",
        zip_code: str = "",
        deadline: float | None = None,
    ) -> GeocodeResult:
        params = {"street": street, "city": city, "state": state, "zip": zip_code}
        shown = ", ".join(part for part in (street, city, state, zip_code) if part)
        return self._parse(shown, self._get("geographies/address", params, deadline))

    def _get(self, path: str, params: dict[str, str], deadline: float | None) -> dict[str, Any]:
        query = {
            **params,
            "benchmark": self.benchmark,
            "vintage": self.vintage,
            "format": "json",
            "layers": "all",
        }
        url = f"{self.base_url}/{path}"
        last_error = "no attempt made"
        reason: Reason = "error"
        pause = 0.0
        tries = 0
        for attempt in range(self.retries + 1):
            if attempt:
                # Exponential backoff with jitter (the Census is known to drop connections),
                # or longer when the answer said how long to wait.
                backoff = self.backoff * (2 ** (attempt - 1)) * (0.5 + random.random())  # noqa: S311
                pause = max(pause, backoff)
                if deadline is None and pause > MAX_PAUSE_SECONDS:
                    break
                if deadline is not None and time.monotonic() + pause > deadline - MIN_TRY_SECONDS:
                    break
                time.sleep(pause)
            timeout = self.timeout
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0 or (attempt and left < MIN_TRY_SECONDS):
                    reason = "timeout" if not tries else reason
                    break
                timeout = min(timeout, left)
            pause = 0.0
            tries += 1
            started = time.perf_counter()
            try:
                response = self.session.get(url, params=query, timeout=timeout)
            except requests.RequestException as exc:
                kind = error_kind(exc)
                observe_upstream("census", time.perf_counter() - started, kind)
                last_error = f"{type(exc).__name__}: {exc}"
                reason = "timeout" if kind == "timeout" else "error"
                continue
            elapsed = time.perf_counter() - started
            reason = "error"
            if response.status_code != 200:
                observe_upstream("census", elapsed, error_kind(status=response.status_code))
            if response.status_code >= 500 or response.status_code == 429:
                last_error = f"HTTP {response.status_code}"
                if response.status_code in (429, 503):
                    pause = _retry_after(response.headers.get("Retry-After"))
                    if pause:
                        last_error += f", asked to wait {pause:.0f} s"
                continue
            if response.status_code != 200:
                log.warning(
                    "census geocoder answered HTTP %d",
                    response.status_code,
                    extra={"upstream": "census"},
                )
                raise CensusUnavailable(
                    f"Census geocoder answered HTTP {response.status_code}", "refused"
                )
            try:
                data = response.json()
            except ValueError:
                observe_upstream("census", elapsed, "bad_answer")
                last_error = "the answer was not JSON"
                continue
            if not isinstance(data, dict) or not isinstance(data.get("result"), dict):
                observe_upstream("census", elapsed, "bad_answer")
                last_error = "the answer had no result"
                continue
            observe_upstream("census", elapsed)
            return data
        # Logged once per lookup, after the last try; without the query (it holds the address).
        log.warning(
            "census geocoder failed after %d tries: %s",
            tries,
            redact_query(last_error),
            extra={"upstream": "census", "tries": tries},
        )
        raise CensusUnavailable(f"Census geocoder unavailable ({redact_query(last_error)})", reason)

    def _parse(self, address: str, data: dict[str, Any]) -> GeocodeResult:
        result = data["result"]
        raw_matches = result.get("addressMatches")
        if not isinstance(raw_matches, list):
            raise CensusUnavailable("Census geocoder answer had no addressMatches")
        wanted_number = _house_number(address)
        matches = []
        for raw in raw_matches:
            if not isinstance(raw, dict):
                continue
            matched = str(raw.get("matchedAddress") or "")
            components = raw.get("addressComponents") or {}
            match = CensusMatch(
                matched_address=matched,
                state_fips=None,
                city=(components.get("city") or None),
                state=(components.get("state") or None),
                zip_code=(components.get("zip") or None),
                house_number_agrees=(
                    wanted_number is None or _house_number(matched) == wanted_number
                ),
            )
            coordinates = raw.get("coordinates") or {}
            if isinstance(coordinates.get("x"), int | float) and isinstance(
                coordinates.get("y"), int | float
            ):
                match.longitude, match.latitude = float(coordinates["x"]), float(coordinates["y"])
            self._read_geographies(raw.get("geographies") or {}, match)
            matches.append(match)
        # One failed chamber layer would make that chamber vanish from the answer: treat any
        # failed legislative layer, in any match, as the geocoder failing.
        failed = next((m.failed_layers for m in matches if m.failed_layers), None)
        if failed:
            log.warning(
                "census geocoder failed its legislative layers: %s",
                "; ".join(failed),
                extra={"upstream": "census"},
            )
            raise CensusUnavailable(
                "Census geocoder could not query the legislative district layers: "
                + "; ".join(failed)
            )
        return GeocodeResult(input=address, matches=matches)

    @staticmethod
    def _read_geographies(geographies: dict[str, Any], match: CensusMatch) -> None:
        for layer_name, items in geographies.items():
            if not isinstance(items, list):
                continue
            if layer_name == "States":
                for item in items:
                    if isinstance(item, dict) and item.get("STATE"):
                        match.state_fips = str(item["STATE"]).zfill(2)
                        match.state = match.state or item.get("STUSAB")
                continue
            found = SLD_LAYER.search(layer_name)
            if not found:
                continue
            layer: Literal["upper", "lower"] = (
                "upper" if found.group(1).lower() == "upper" else "lower"
            )
            for item in items:
                if not isinstance(item, dict):
                    continue
                if "status" in item and "GEOID" not in item:
                    match.failed_layers.append(f"{layer_name}: {item['status']}")
                    continue
                geoid = str(item.get("GEOID") or "")
                if not geoid:
                    continue
                match.districts.append(
                    CensusDistrict(
                        layer=layer,
                        geoid=geoid,
                        code=_str_or_none(
                            item.get("SLDU") if layer == "upper" else item.get("SLDL")
                        ),
                        basename=_str_or_none(item.get("BASENAME")),
                        name=_str_or_none(item.get("NAME")),
                    )
                )
                if match.state_fips is None:
                    match.state_fips = str(item.get("STATE") or geoid[:2]).zfill(2)


def _retry_after(value: str | None) -> float:
    """Seconds a ``Retry-After`` header asks to wait (a number or an HTTP date); 0 without one."""
    if not value:
        return 0.0
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 0.0
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _str_or_none(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
