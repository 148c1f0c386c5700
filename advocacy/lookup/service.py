"""Address -> districts -> current legislators. The one entry point the rest of the app uses."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from ..database import read_connection
from ..dbtypes import utcnow
from ..extensions import db
from ..memo import Memo
from ..observability.metrics import observe_lookup_cache
from .census import CensusDistrict, CensusGeocoder, CensusUnavailable, Confidence, GeocodeResult
from .directory import SeatGroup, SeatKey, seat_groups
from .divisions import divisions_for_census_district, state_for_fips
from .models import DirectoryState, LookupCacheEntry
from .openstates import OpenStatesAPI, SourceError

__all__ = ["CensusUnavailable", "LookupResult", "lookup_address", "geocoder_from_config"]

clock = time.monotonic  # replaced in tests to move time on
log = logging.getLogger(__name__)
CHAMBER_ORDER = {"upper": 0, "lower": 1, "legislature": 2}
MAX_ADDRESS_LENGTH = 200


class BadAddress(ValueError):
    """The input cannot be an address (empty, too long, control characters)."""


@dataclass
class LookupResult:
    input: str
    matched_address: str | None
    state: str | None
    confidence: Confidence
    districts: list[SeatGroup] = field(default_factory=list)
    # Human-readable notes: unmapped districts, missing directory data, approximate match.
    notes: list[str] = field(default_factory=list)
    from_cache: bool = False
    # "agrees" | "differs" | "unavailable" when OPENSTATES_API_KEY is set, else None.
    cross_check: str | None = None
    directory_loaded_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "matched_address": self.matched_address,
            "state": self.state,
            "confidence": self.confidence,
            "districts": [group.to_json() for group in self.districts],
        }


@dataclass(frozen=True)
class AddressMatch:
    """What the action flow keeps of a lookup: the match and who sits for it, by id. It holds
    no directory rows, so it can be remembered beyond the request that made it."""

    matched_address: str | None
    state: str | None
    confidence: Confidence
    notes: tuple[str, ...]
    seats: tuple[tuple[str, tuple[str, ...]], ...]  # (chamber, member ids) per district

    @classmethod
    def of(cls, result: LookupResult) -> AddressMatch:
        return cls(
            result.matched_address,
            result.state,
            result.confidence,
            tuple(result.notes),
            tuple(
                (group.chamber, tuple(member.id for member in group.members))
                for group in result.districts
            ),
        )


def clean_address(raw: str) -> str:
    if not isinstance(raw, str):
        raise BadAddress("Please enter a street address.")
    text = " ".join(raw.split())
    if not text:
        raise BadAddress("Please enter a street address.")
    if len(text) > MAX_ADDRESS_LENGTH:
        raise BadAddress(f"That address is too long (at most {MAX_ADDRESS_LENGTH} characters).")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text) or re.search(r"[<>{}\[\]\\^`|~$=]", text):
        raise BadAddress("That address contains characters that cannot be part of an address.")
    if not re.search(r"[A-Za-z]", text) or not re.search(r"\d", text):
        raise BadAddress(
            "Please enter a full street address with a house number, street and city or ZIP code."
        )
    return text


def _cache_key(address: str, benchmark: str, vintage: str) -> str:
    normalised = re.sub(r"[^a-z0-9]+", " ", address.lower()).strip()
    material = f"{normalised}|{benchmark}|{vintage}"
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def geocoder_from_config() -> CensusGeocoder:
    config = current_app.config
    return CensusGeocoder(
        config["CENSUS_GEOCODER_URL"],
        config["CENSUS_BENCHMARK"],
        config["CENSUS_VINTAGE"],
        config["CENSUS_TIMEOUT"],
        config["CENSUS_RETRIES"],
    )


def _geocode_cached(
    cache_material: str, geocoder: CensusGeocoder, fetch: Callable[[], GeocodeResult]
) -> tuple[GeocodeResult, bool]:
    key = _cache_key(cache_material, geocoder.benchmark, geocoder.vintage)
    now = utcnow()
    entry = db.session.get(LookupCacheEntry, key)
    if entry is not None and entry.expires_at > now:
        cached = GeocodeResult.from_json(dict(entry.payload))
        if not cached.has_failed_layers:
            return cached, True
    result = fetch()
    # A miss is not cached (the visitor will correct the address), nor an answer with a
    # failed layer (the geocoder raises for those; this guards the cache all the same).
    if result.matches and not result.has_failed_layers:
        ttl = timedelta(seconds=current_app.config["LOOKUP_CACHE_TTL"])
        payload = result.to_json()
        if entry is None:
            db.session.add(
                LookupCacheEntry(key=key, payload=payload, created_at=now, expires_at=now + ttl)
            )
        else:
            entry.payload, entry.created_at, entry.expires_at = payload, now, now + ttl
        try:
            db.session.commit()
        except (IntegrityError, StaleDataError):
            # Another request cached the same address a moment ago, or the retention job
            # purged the expired row being refreshed: the answer stands, uncached this time.
            db.session.rollback()
    return result, False


def _groups_for(districts: list[CensusDistrict], notes: list[str]) -> list[SeatGroup]:
    keys: dict[tuple[str, str, str], SeatKey] = {}
    for census_district in districts:
        divisions = divisions_for_census_district(
            census_district.layer,
            census_district.geoid,
            code=census_district.code,
            basename=census_district.basename,
            name=census_district.name,
        )
        if not divisions:
            label = census_district.name or census_district.geoid
            notes.append(
                f"The Census placed this address in {label}, which we could not match "
                "to a current legislative district."
            )
        for division in divisions:
            key = (division.division_id, division.chamber, division.district)
            keys.setdefault(
                key, (division.state, division.chamber, division.district, division.division_id)
            )
    groups = seat_groups(list(keys.values()))
    ordered = sorted(
        groups,
        key=lambda g: (CHAMBER_ORDER.get(g.chamber, 9), g.division_id.count("/"), g.district),
    )
    return ordered


def lookup_address(raw_address: str, geocoder: CensusGeocoder | None = None) -> LookupResult:
    """Raises BadAddress for unusable input and CensusUnavailable when the upstream fails."""
    address = clean_address(raw_address)
    geocoder = geocoder or geocoder_from_config()
    return _resolve(address, address, lambda: geocoder.geocode(address), geocoder)


def _clean_part(value: str | None, label: str, pattern: str) -> str:
    text = " ".join((value or "").split())
    if text and not re.fullmatch(pattern, text):
        raise BadAddress(f"That {label} does not look right.")
    return text


Parts = tuple[str, str | None, str | None, str | None]  # street, city, state, ZIP


def _clean_parts(
    street: str, city: str | None, state: str | None, zip_code: str | None
) -> tuple[tuple[str, str, str, str], str, str]:
    """The cleaned parts, the address as shown, and the text its cache key is made from."""
    street = clean_address(street)  # the geocoder needs a house number and a street
    city = _clean_part(city, "city", r"[A-Za-z .'\-]{1,60}")
    state = _clean_part(state, "state", r"[A-Za-z]{2}|[A-Za-z .]{4,30}")
    zip_code = _clean_part(zip_code, "ZIP code", r"\d{5}(?:-\d{4})?")
    if not (city and state) and not zip_code:
        raise BadAddress("Please give a city and state, or a ZIP code, with the street.")
    shown = ", ".join(part for part in (street, city, state, zip_code) if part)
    return (street, city, state, zip_code), shown, f"parts|{street}|{city}|{state}|{zip_code}"


def lookup_parts(
    street: str,
    city: str | None = None,
    state: str | None = None,
    zip_code: str | None = None,
    geocoder: CensusGeocoder | None = None,
) -> LookupResult:
    """Structured lookup (street, city, state, ZIP): the geocoder's ``geographies/address``."""
    cleaned, shown, material = _clean_parts(street, city, state, zip_code)
    geocoder = geocoder or geocoder_from_config()
    return _resolve(shown, material, lambda: geocoder.geocode_parts(*cleaned), geocoder)


@dataclass(frozen=True)
class _Answer:
    """An answer and what it was built from (the cache row and the state's roster)."""

    cached_at: datetime
    state: str
    synced_at: datetime | None
    match: AddressMatch
    body: bytes  # its JSON text, ready to send
    checked: float  # clock() when the database last said it was still right


MAX_REMEMBERED_ANSWERS = 2048


def remembered_answers() -> Memo[_Answer]:
    """This app's remembered answers (one memo per app and process)."""
    memo = current_app.extensions.get("advocacy.lookup_answers")
    if memo is None:
        memo = current_app.extensions.setdefault(
            "advocacy.lookup_answers", Memo(MAX_REMEMBERED_ANSWERS)
        )
    return memo  # type: ignore[no-any-return]


# Built once: checks a remembered answer against the database on every request.
_FRESHNESS_QUERY = (
    select(LookupCacheEntry.created_at, LookupCacheEntry.expires_at, DirectoryState.synced_at)
    .select_from(LookupCacheEntry)
    .outerjoin(DirectoryState, DirectoryState.state == bindparam("state"))
    .where(LookupCacheEntry.key == bindparam("key"))
)


@dataclass(frozen=True)
class Along:
    """A query of the caller's with one value (or none) for an answer, asked in the same round
    trip as the lookup's own check of the database when there is one."""

    query: Select[Any]
    parameters: dict[str, Any]


class _Asked:
    """What ``Along`` answered, once it has."""

    def __init__(self, along: Along | None) -> None:
        self.along = along
        self.answered = along is None
        self.value: Any = None


@functools.lru_cache(maxsize=8)
def _freshness_along(query: Select[Any]) -> Select[Any]:
    return _FRESHNESS_QUERY.add_columns(query.scalar_subquery())


def _freshness(
    key: str, state: str, asked: _Asked | None = None
) -> tuple[datetime, datetime, datetime | None] | None:
    """(cached at, expires at, the state's roster synced at) of a cached address, if any; with
    ``asked`` not yet answered, its query rides along."""
    parameters = {"key": key, "state": state}
    with read_connection() as connection:
        if asked is None or asked.answered or asked.along is None:
            row = connection.execute(_FRESHNESS_QUERY, parameters).first()
        else:
            query = _freshness_along(asked.along.query)
            row = connection.execute(query, {**asked.along.parameters, **parameters}).first()
            if row is not None:
                asked.answered, asked.value = True, row[3]
    return None if row is None else (row[0], row[1], row[2])


def _still_right(
    memo_key: tuple[str, str], max_age: float, asked: _Asked | None = None
) -> _Answer | None:
    """The remembered answer under ``memo_key`` if the database still agrees with it (asked
    unless it agreed less than ``max_age`` seconds ago); a stale one is forgotten."""
    answers = remembered_answers()
    known = answers.get(memo_key)
    if known is None:
        return None
    now = clock()
    if now - known.checked < max_age:
        return known
    fresh = _freshness(memo_key[0], known.state, asked)
    if (
        fresh is not None
        and fresh[1] > utcnow()
        and (fresh[0], fresh[2]) == (known.cached_at, known.synced_at)
    ):
        answers.put(memo_key, dataclasses.replace(known, checked=now))
        return known
    answers.pop(memo_key)
    return None


def _remembering_lookup(
    raw_address: str, parts: Parts | None, max_age: float, asked: _Asked | None = None
) -> tuple[AddressMatch, bytes]:
    """``lookup_address`` (or ``lookup_parts``) and the answer's JSON text.

    An answer built from a cached address is remembered in this process and served again
    while its cache row and its state's roster are still the ones it was built from (one
    query checks both, or none if it did so less than ``max_age`` seconds ago), so a
    repeated lookup does not rebuild the seat groups."""
    if parts is not None:
        _, shown, material = _clean_parts(*parts)
    else:
        shown = material = clean_address(raw_address)
    config = current_app.config
    key = _cache_key(material, config["CENSUS_BENCHMARK"], config["CENSUS_VINTAGE"])
    remembering = not config.get("OPENSTATES_API_KEY")  # a cross-check asks Open States live
    known = _still_right((key, shown), max_age, asked) if remembering else None
    if known is not None:
        observe_lookup_cache(hit=True)
        return known.match, known.body
    result = lookup_parts(*parts) if parts is not None else lookup_address(shown)
    match = AddressMatch.of(result)
    body = current_app.json.dumps(result.to_json()).encode("utf-8")
    if remembering and result.state:
        fresh = _freshness(key, result.state.lower(), asked)
        if fresh is not None:
            remembered_answers().put(
                (key, shown),
                _Answer(fresh[0], result.state.lower(), fresh[2], match, body, clock()),
            )
    return match, body


def lookup_json(raw_address: str = "", parts: Parts | None = None) -> bytes:
    """The JSON answer of ``/api/lookup`` for an address, or for its parts. A remembered
    answer is checked against the database at most every ADVOCACY_PUBLIC_CACHE_SECONDS.
    Raises like ``lookup_address``."""
    max_age = float(current_app.config.get("PUBLIC_CACHE_SECONDS") or 0)
    return _remembering_lookup(raw_address, parts, max_age)[1]


def lookup_remembered(raw_address: str, along: Along | None = None) -> tuple[AddressMatch, Any]:
    """``lookup_address`` for a form post: a remembered answer is served only after the
    database confirmed it is still right (one query). Raises like ``lookup_address``.

    Also the answer of ``along`` (None without it), in that same query when there is one."""
    asked = _Asked(along)
    match = _remembering_lookup(raw_address, None, 0.0, asked)[0]
    if not asked.answered and along is not None:
        with read_connection() as connection:
            asked.value = connection.execute(along.query, along.parameters).scalar()
    return match, asked.value


def _resolve(
    address: str, cache_material: str, fetch: Callable[[], GeocodeResult], geocoder: CensusGeocoder
) -> LookupResult:
    geocoded, from_cache = _geocode_cached(cache_material, geocoder, fetch)
    observe_lookup_cache(hit=from_cache)
    best = geocoded.best
    if best is None:
        return LookupResult(
            input=address,
            matched_address=None,
            state=None,
            confidence="none",
            notes=["The Census could not find that address."],
        )
    notes: list[str] = []
    state = state_for_fips(best.state_fips) if best.state_fips else None
    # Held here, so the seat groups find it in the session instead of asking again.
    loaded = db.session.get(DirectoryState, state) if state else None
    groups = _groups_for(best.districts, notes)
    if geocoded.confidence == "approximate":
        notes.append("The Census matched a nearby or similar address; please check it is yours.")
    if state and not best.districts:
        notes.append("The Census found no state legislative district for this address.")
    result = LookupResult(
        input=address,
        matched_address=best.matched_address,
        state=state.upper() if state else None,
        confidence=geocoded.confidence,
        districts=groups,
        notes=notes,
        from_cache=from_cache,
    )
    if state:
        result.directory_loaded_at = loaded.synced_at if loaded else None
        if loaded is None and groups:
            notes.append(
                f"We have no directory data for {state.upper()} yet, so we cannot list "
                "the legislators for this address or tell whether any seat is vacant."
            )
    if current_app.config.get("OPENSTATES_API_KEY") and best.latitude is not None:
        _cross_check(result, best.latitude, best.longitude or 0.0)
    return result


def _cross_check(result: LookupResult, latitude: float, longitude: float) -> None:
    """Compare our answer with Open States' own geo lookup; disagreement is shown, not hidden."""
    config = current_app.config
    api = OpenStatesAPI(
        config["OPENSTATES_API_URL"],
        config["OPENSTATES_API_KEY"],
        timeout=config["OPENSTATES_TIMEOUT"],
    )
    try:
        theirs = {person.id for person in api.state_legislators_at(latitude, longitude)}
    except SourceError as exc:
        log.warning("open states cross-check skipped: %s", exc)
        result.cross_check = "unavailable"
        return
    ours = {member.id for group in result.districts for member in group.members}
    if theirs == ours:
        result.cross_check = "agrees"
        return
    result.cross_check = "differs"
    result.notes.append(
        "Open States' own map lookup lists different legislators for this address "
        f"({len(theirs - ours)} not in our answer, {len(ours - theirs)} only in ours). "
        "District maps may have changed; please check with your state's official lookup."
    )
