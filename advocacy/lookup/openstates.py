"""Open States adapters: bulk people CSVs (keyless), the vacancy list, and the optional v3 API.

This module is the only code that knows those URLs and column names.
"""

from __future__ import annotations

import csv
import io
import logging
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import requests
import yaml

from ..observability.metrics import error_kind, observe_upstream

log = logging.getLogger(__name__)

# Columns we cannot work without; the others (capitol_*, district_*, links...) may be empty
# or, in older files, absent.
REQUIRED_COLUMNS = ("id", "name", "current_party", "current_district", "current_chamber", "email")
CHAMBERS = ("upper", "lower", "legislature")
# A file listing fewer current legislators than this share of the registry's seats looks cut
# short (a download truncated at a line boundary still parses) and may not replace a roster.
MIN_SEAT_SHARE = 0.8


class SourceError(RuntimeError):
    """A roster could not be fetched or is malformed; the previous roster stays."""


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    given_name: str
    family_name: str
    party: str
    chamber: str
    district: str
    email: str
    capitol_phone: str
    district_phone: str
    capitol_address: str
    district_address: str
    image: str
    links: str

    def contact_fields(self) -> dict[str, str]:
        return {
            "chamber": self.chamber,
            "district": self.district,
            "email": self.email,
            "capitol_phone": self.capitol_phone,
            "district_phone": self.district_phone,
            "party": self.party,
            "name": self.name,
        }


@dataclass(frozen=True)
class VacancyRecord:
    chamber: str
    district: str
    vacant_until: date | None


def parse_people_csv(text: str, state: str) -> list[Person]:
    """Parse one state's bulk CSV, refusing files that are not what we expect."""
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise SourceError(f"{state}: the people CSV lacks column(s) {', '.join(missing)}")
    people: list[Person] = []
    seen: set[str] = set()
    try:
        for line_number, row in enumerate(reader, start=2):
            if None in row:
                raise SourceError(f"{state}: line {line_number} has more cells than the header")

            def cell(name: str, row: dict[str, Any] = row) -> str:
                return (row.get(name) or "").strip()

            person_id = cell("id")
            chamber = cell("current_chamber")
            if not person_id.startswith("ocd-person/"):
                raise SourceError(f"{state}: line {line_number} has no Open States person id")
            if chamber not in CHAMBERS:
                raise SourceError(f"{state}: line {line_number}: unknown chamber {chamber!r}")
            if not cell("current_district") or not cell("name"):
                raise SourceError(f"{state}: line {line_number} lacks a name or district")
            if person_id in seen:
                raise SourceError(f"{state}: person {person_id} appears twice")
            seen.add(person_id)
            people.append(
                Person(
                    id=person_id,
                    name=cell("name"),
                    given_name=cell("given_name"),
                    family_name=cell("family_name"),
                    party=cell("current_party"),
                    chamber=chamber,
                    district=cell("current_district"),
                    email=cell("email"),
                    capitol_phone=cell("capitol_voice"),
                    district_phone=cell("district_voice"),
                    capitol_address=cell("capitol_address"),
                    district_address=cell("district_address"),
                    image=cell("image"),
                    links=cell("links"),
                )
            )
    except csv.Error as exc:
        raise SourceError(f"{state}: the people CSV is malformed: {exc}") from exc
    if not people:
        raise SourceError(f"{state}: the people CSV has no rows")
    return people


def check_roster_size(
    people: list[Person], state: str, seats: int, previous: int, min_share: float = MIN_SEAT_SHARE
) -> str | None:
    """Refuse a roster that is well short of the seats it fills and smaller than the one it
    would replace; return a warning when a first (or not shrinking) load is that short."""
    if seats <= 0 or len(people) >= min_share * seats:
        return None
    shortfall = (
        f"{state}: the people CSV lists {len(people)} current legislators for {seats} seats "
        f"(under {min_share:.0%})"
    )
    if len(people) < previous:
        raise SourceError(
            f"{shortfall}; it looks truncated and would drop {previous - len(people)} of the "
            f"{previous} people loaded now"
        )
    return f"{shortfall}; loaded, but check the file is complete"


def parse_vacancies(text: str) -> dict[str, list[VacancyRecord]]:
    """Open States' settings.yml: per state, seats known to be vacant until a date."""
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise SourceError(f"the vacancy list is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise SourceError("the vacancy list is not a mapping of states")
    result: dict[str, list[VacancyRecord]] = {}
    for state, entry in data.items():
        if state == "us" or not isinstance(entry, dict):
            continue
        records = []
        for item in entry.get("vacancies") or []:
            until = item.get("vacant_until")
            records.append(
                VacancyRecord(
                    chamber=str(item.get("chamber")),
                    district=str(item.get("district")),
                    vacant_until=until if isinstance(until, date) else None,
                )
            )
        result[str(state).lower()] = records
    return result


class BulkPeopleSource:
    """Reads ``{abbr}.csv`` from the Open States bulk base URL or from a local folder."""

    def __init__(
        self,
        base: str,
        timeout: float = 30.0,
        vacancies_url: str | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.base = base.rstrip("/")
        self.timeout = timeout
        self.vacancies_url = vacancies_url
        self.session = session or requests.Session()

    @property
    def is_local(self) -> bool:
        return not self.base.startswith(("http://", "https://"))

    def describe(self, state: str) -> str:
        return f"{self.base}/{state}.csv"

    def _read(self, location: str) -> str:
        if self.is_local:
            try:
                return Path(location).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise SourceError(f"cannot read {location}: {exc}") from exc
        started = time.perf_counter()
        try:
            response = self.session.get(location, timeout=self.timeout)
        except requests.RequestException as exc:
            observe_upstream("openstates_bulk", time.perf_counter() - started, error_kind(exc))
            raise SourceError(f"cannot download {location}: {type(exc).__name__}") from exc
        observe_upstream(
            "openstates_bulk",
            time.perf_counter() - started,
            None if response.status_code == 200 else error_kind(status=response.status_code),
        )
        if response.status_code != 200:
            raise SourceError(f"cannot download {location}: HTTP {response.status_code}")
        response.encoding = "utf-8"
        return response.text

    def fetch_text(self, state: str) -> str:
        return self._read(self.describe(state))

    def fetch_vacancies(self) -> dict[str, list[VacancyRecord]] | None:
        """The vacancy list, or None when it cannot be had (the previous list then stays)."""
        location = self.vacancies_url
        if self.is_local:
            # A local copy keeps settings.yml beside the CSVs or one folder up.
            candidates = [Path(self.base) / "settings.yml", Path(self.base).parent / "settings.yml"]
            location = next((str(p) for p in candidates if p.exists()), None)
        if not location:
            return None
        try:
            return parse_vacancies(self._read(location))
        except SourceError as exc:
            log.warning("vacancy list not loaded: %s", exc)
            return None


@dataclass(frozen=True)
class GeoPerson:
    id: str
    name: str
    chamber: str
    district: str
    division_id: str


class OpenStatesAPI:
    """Open States API v3 (needs a key). Used only to cross-check the keyless lookup."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        timeout: float = 10.0,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.session = session or requests.Session()

    def state_legislators_at(self, latitude: float, longitude: float) -> list[GeoPerson]:
        """``people.geo`` filtered to state legislators (it mixes in members of Congress)."""
        url = f"{self.base_url}/people.geo"
        params = {"lat": f"{latitude}", "lng": f"{longitude}"}
        last_error = ""
        for _attempt in range(2):  # its own upstream sometimes fails once with a 500
            started = time.perf_counter()
            try:
                response = self.session.get(
                    url, params=params, timeout=self.timeout, headers={"X-API-KEY": self.api_key}
                )
            except requests.RequestException as exc:
                observe_upstream("openstates_api", time.perf_counter() - started, error_kind(exc))
                last_error = type(exc).__name__
                continue
            observe_upstream(
                "openstates_api",
                time.perf_counter() - started,
                None if response.status_code == 200 else error_kind(status=response.status_code),
            )
            if response.status_code >= 500:
                last_error = f"HTTP {response.status_code}"
                continue
            if response.status_code != 200:
                raise SourceError(f"Open States API answered HTTP {response.status_code}")
            try:
                results = response.json()["results"]
            except (ValueError, KeyError, TypeError) as exc:
                raise SourceError("Open States API answer was not the expected JSON") from exc
            people = []
            for item in results:
                jurisdiction = item.get("jurisdiction") or {}
                role = item.get("current_role") or {}
                if jurisdiction.get("classification") != "state":
                    continue
                people.append(
                    GeoPerson(
                        id=str(item.get("id")),
                        name=str(item.get("name")),
                        chamber=str(role.get("org_classification")),
                        district=str(role.get("district")),
                        division_id=str(role.get("division_id")),
                    )
                )
            return people
        raise SourceError(f"Open States API unavailable ({last_error})")
