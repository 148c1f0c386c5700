"""Address -> districts -> current legislators. The one entry point the rest of the app uses."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from ..dbtypes import utcnow
from ..extensions import db
from ..i18n import gettext, lazy_gettext
from ..observability.metrics import observe_lookup_cache
from ..pagecache import rendered_pages
from .addresses import normalised_address
from .census import (
    CensusDistrict,
    CensusGeocoder,
    CensusMatch,
    CensusUnavailable,
    Confidence,
    GeocodeResult,
)
from .directory import SeatGroup, SeatKey, seat_groups, site_today
from .divisions import divisions_for_census_district, state_for_fips
from .guard import census_guard
from .models import DirectoryState, LookupCacheEntry
from .openstates import OpenStatesAPI, SourceError
from .reports import OVERRIDE_NOTE, overridden_answer

__all__ = [
    "BadAddress",
    "CensusUnavailable",
    "LookupResult",
    "lookup_address",
    "approximate_note",
    "lookup_json",
    "unavailable_sentence",
]

log = logging.getLogger(__name__)
CHAMBER_ORDER = {"upper": 0, "lower": 1, "legislature": 2}
MAX_ADDRESS_LENGTH = 200


class BadAddress(ValueError):
    """The input cannot be an address (empty, too long, control characters)."""


# What a visitor reads when the geocoder gave no answer, by CensusUnavailable.reason; each page
# adds what the visitor can do.
UNAVAILABLE = {
    "paused": lazy_gettext(
        "The address service stopped answering a moment ago, so we are not asking it for a "
        "little while."
    ),
    "busy": lazy_gettext(
        "Many people are looking up addresses right now, and yours could not be looked up in time."
    ),
    "timeout": lazy_gettext("The address service did not answer in time."),
    "error": lazy_gettext("The address service is not working right now."),
    "refused": lazy_gettext("The address service is not working right now."),
}


def unavailable_sentence(exc: CensusUnavailable) -> str:
    return str(UNAVAILABLE.get(exc.reason, UNAVAILABLE["error"]))


def approximate_note() -> str:
    return gettext("The Census matched a nearby or similar address; please check it is yours.")


@dataclass
class LookupResult:
    input: str
    matched_address: str | None
    state: str | None
    confidence: Confidence
    city: str | None = None
    zip_code: str | None = None
    districts: list[SeatGroup] = field(default_factory=list)
    # Human-readable notes: unmapped districts, missing directory data, approximate match.
    notes: list[str] = field(default_factory=list)
    from_cache: bool = False
    # When the address's geocoder answer was cached (None: not cached).
    cached_at: datetime | None = None
    # "agrees" | "differs" | "unavailable" when OPENSTATES_API_KEY is set, else None.
    cross_check: str | None = None
    directory_loaded_at: datetime | None = None

    def member_ids(self, chambers: set[str]) -> list[str]:
        """Everyone sitting for this address in the given chambers, in district order."""
        return [
            member.id
            for group in self.districts
            if group.chamber in chambers
            for member in group.members
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "matched_address": self.matched_address,
            "state": self.state,
            "confidence": self.confidence,
            "districts": [group.to_json() for group in self.districts],
        }


def clean_address(raw: str) -> str:
    if not isinstance(raw, str):
        raise BadAddress(gettext("Please enter a street address."))
    text = " ".join(raw.split())
    if not text:
        raise BadAddress(gettext("Please enter a street address."))
    if len(text) > MAX_ADDRESS_LENGTH:
        raise BadAddress(
            gettext(
                "That address is too long (at most %(most)s characters).", most=MAX_ADDRESS_LENGTH
            )
        )
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text) or re.search(r"[<>{}\[\]\\^`|~$=]", text):
        raise BadAddress(
            gettext("That address contains characters that cannot be part of an address.")
        )
    if not re.search(r"[A-Za-z]", text) or not re.search(r"\d", text):
        raise BadAddress(
            gettext(
                "Please enter a full street address with a house number, street and city or ZIP "
                "code."
            )
        )
    return text


def _cache_key(address: str) -> str:
    config = current_app.config
    normalised = normalised_address(address)
    material = f"{normalised}|{config['CENSUS_BENCHMARK']}|{config['CENSUS_VINTAGE']}"
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
    cache_material: str, fetch: Callable[[float], GeocodeResult], after_answer: ExitStack
) -> tuple[GeocodeResult, datetime | None, bool]:
    """The geocoder's answer for an address, from the address cache when it has one: the
    answer, when it was cached (None: not cached), and whether it came from the cache.
    ``fetch(deadline)`` asks the geocoder, through this process's guard (lookup/guard.py);
    from its answer on, the lookup takes its turn in ``after_answer`` (closed by the caller
    once the answer is worked out)."""
    key = _cache_key(cache_material)
    now = utcnow()
    entry = db.session.get(LookupCacheEntry, key)
    if entry is not None and entry.expires_at > now:
        cached = GeocodeResult.from_json(dict(entry.payload))
        if not cached.has_failed_layers:
            return cached, entry.created_at, True
    # The wait on the geocoder holds no database connection: the read transaction ends here
    # (a lookup comes before anything its request writes). An expired row is kept as read,
    # to be refreshed after.
    if entry is not None:
        db.session.expunge(entry)
    db.session.rollback()
    guard = census_guard()
    result = guard.call(key, fetch)
    after_answer.enter_context(guard.one_at_a_time())
    now = utcnow()
    # A miss is not cached (the visitor will correct the address), nor an answer with a
    # failed layer (the geocoder raises for those; this guards the cache all the same).
    if not result.matches or result.has_failed_layers:
        return result, None, False
    ttl = timedelta(seconds=current_app.config["LOOKUP_CACHE_TTL"])
    payload = result.to_json()
    if entry is None:
        db.session.add(
            LookupCacheEntry(key=key, payload=payload, created_at=now, expires_at=now + ttl)
        )
    else:
        entry.payload, entry.created_at, entry.expires_at = payload, now, now + ttl
        db.session.add(entry)
    try:
        db.session.commit()
    except (IntegrityError, StaleDataError):
        # Another request cached the same address a moment ago, or the retention job purged
        # the expired row being refreshed: the answer stands, uncached this time.
        db.session.rollback()
        return result, None, False
    except OperationalError as exc:
        # The database could not take the write in time (SQLite's one writer, under a burst
        # of lookups): the visitor still gets the answer they waited for.
        db.session.rollback()
        log.warning("lookup cache not written: %s", exc.orig)
        return result, None, False
    return result, now, False


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
                gettext(
                    "The Census placed this address in %(place)s, which we could not match to a "
                    "current legislative district.",
                    place=label,
                )
            )
        for division in divisions:
            key = (division.division_id, division.chamber, division.district)
            keys.setdefault(
                key, (division.state, division.chamber, division.district, division.division_id)
            )
    return sorted(
        seat_groups(list(keys.values())),
        key=lambda g: (CHAMBER_ORDER.get(g.chamber, 9), g.division_id.count("/"), g.district),
    )


def lookup_address(raw_address: str, geocoder: CensusGeocoder | None = None) -> LookupResult:
    """Raises BadAddress for unusable input and CensusUnavailable when the upstream fails."""
    address = clean_address(raw_address)
    geocoder = geocoder or geocoder_from_config()
    return _resolve(address, address, lambda deadline: geocoder.geocode(address, deadline))


def _clean_part(value: str | None, problem: str, pattern: str) -> str:
    text = " ".join((value or "").split())
    if text and not re.fullmatch(pattern, text):
        raise BadAddress(problem)
    return text


Parts = tuple[str, str | None, str | None, str | None]  # street, city, state, ZIP


def _clean_parts(
    street: str, city: str | None, state: str | None, zip_code: str | None
) -> tuple[tuple[str, str, str, str], str, str]:
    """The cleaned parts, the address as shown, and the text its cache key is made from."""
    street = clean_address(street)  # the geocoder needs a house number and a street
    city = _clean_part(city, gettext("That city does not look right."), r"[A-Za-z .'\-]{1,60}")
    state = _clean_part(
        state, gettext("That state does not look right."), r"[A-Za-z]{2}|[A-Za-z .]{4,30}"
    )
    zip_code = _clean_part(
        zip_code, gettext("That ZIP code does not look right."), r"\d{5}(?:-\d{4})?"
    )
    if not (city and state) and not zip_code:
        raise BadAddress(gettext("Please give a city and state, or a ZIP code, with the street."))
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
    return _resolve(
        shown, material, lambda deadline: geocoder.geocode_parts(*cleaned, deadline=deadline)
    )


def _resolve(
    address: str, cache_material: str, fetch: Callable[[float], GeocodeResult]
) -> LookupResult:
    # Districts staff approved for this address (a visitor's report) come before the Census.
    if (overridden := overridden_answer(address)) is not None:
        return LookupResult(
            input=address,
            matched_address=address,
            state=overridden.state.upper(),
            confidence="exact",
            city=overridden.city or None,
            districts=overridden.groups,
            notes=[str(OVERRIDE_NOTE)],
            directory_loaded_at=overridden.loaded_at,
        )
    with ExitStack() as after_answer:
        geocoded, cached_at, from_cache = _geocode_cached(cache_material, fetch, after_answer)
        observe_lookup_cache(hit=from_cache)
        best = geocoded.best
        if best is None:
            return LookupResult(
                input=address,
                matched_address=None,
                state=None,
                confidence="none",
                notes=[gettext("The Census could not find that address.")],
            )
        result = _result_for(address, geocoded, best, cached_at, from_cache)
    if current_app.config.get("OPENSTATES_API_KEY") and best.latitude is not None:
        _cross_check(result, best.latitude, best.longitude or 0.0)
    return result


def _result_for(
    address: str,
    geocoded: GeocodeResult,
    best: CensusMatch,
    cached_at: datetime | None,
    from_cache: bool,
) -> LookupResult:
    notes: list[str] = []
    state = state_for_fips(best.state_fips) if best.state_fips else None
    loaded = db.session.get(DirectoryState, state) if state else None
    groups = _groups_for(best.districts, notes)
    if geocoded.confidence == "approximate":
        notes.append(approximate_note())
    if state and not best.districts:
        notes.append(gettext("The Census found no state legislative district for this address."))
    if state and loaded is None and groups:
        notes.append(
            gettext(
                "We have no directory data for %(state)s yet, so we cannot list the legislators "
                "for this address or tell whether any seat is vacant.",
                state=state.upper(),
            )
        )
    return LookupResult(
        input=address,
        matched_address=best.matched_address,
        state=state.upper() if state else None,
        confidence=geocoded.confidence,
        city=best.city,
        zip_code=best.zip_code,
        districts=groups,
        notes=notes,
        from_cache=from_cache,
        cached_at=cached_at,
        directory_loaded_at=loaded.synced_at if loaded else None,
    )


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
        gettext(
            "Open States' own map lookup lists different legislators for this address "
            "(%(theirs)s not in our answer, %(ours)s only in ours). District maps may have "
            "changed; please check with your state's official lookup.",
            theirs=len(theirs - ours),
            ours=len(ours - theirs),
        )
    )


# -- /api/lookup answers -------------------------------------------------------------------


def _answer_source(key: str, kept: object) -> object:
    """What a kept answer for the cached address ``key`` would be built from now: the state
    it was in, its cache row's time, that state's roster time and the day (seats change hands
    at midnight); None when the row is gone or expired."""
    state = kept[0] if isinstance(kept, tuple) else ""
    row = db.session.execute(
        select(LookupCacheEntry.created_at, LookupCacheEntry.expires_at)
        .add_columns(
            select(DirectoryState.synced_at).where(DirectoryState.state == state).scalar_subquery()
        )
        .where(LookupCacheEntry.key == key)
    ).first()
    if row is None or row.expires_at <= utcnow():
        return None
    return state, row.created_at, row[2], site_today()


def lookup_json(raw_address: str = "", parts: Parts | None = None) -> bytes:
    """The JSON answer of ``/api/lookup`` for an address, or for its parts. Raises like
    ``lookup_address``."""
    if parts is not None:
        _, shown, material = _clean_parts(*parts)
    else:
        shown = material = clean_address(raw_address)
    key = _cache_key(material)
    built: list[bool] = []

    def build() -> tuple[object, bytes]:
        built.append(True)
        result = lookup_parts(*parts) if parts is not None else lookup_address(shown)
        body = current_app.json.dumps(result.to_json()).encode("utf-8")
        if result.cached_at is None or result.state is None:
            return None, body  # not backed by the address cache: nothing to check it by
        source = (result.state.lower(), result.cached_at, result.directory_loaded_at, site_today())
        return source, body

    if current_app.config.get("OPENSTATES_API_KEY"):
        return build()[1]  # a cross-check asks Open States live on every lookup
    answer: bytes = rendered_pages().serve(
        ("lookup", key, shown), lambda kept: _answer_source(key, kept), build
    )
    if not built:
        observe_lookup_cache(hit=True)
    return answer


def forget_cached_answer(address: str) -> None:
    """Drop the Census answer kept for ``address`` (and so any /api/lookup answer built from
    it), in the caller's transaction: its districts were set by staff since."""
    db.session.execute(delete(LookupCacheEntry).where(LookupCacheEntry.key == _cache_key(address)))
