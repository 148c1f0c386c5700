"""Seats known to be vacant that Open States' own vacancy list leaves out (app data).

The list lives in ``known_vacancies.yaml`` beside this module; each entry names its source.
The directory sync records these seats together with Open States' ``settings.yml`` vacancies.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from .openstates import CHAMBERS, VacancyRecord

log = logging.getLogger(__name__)

KNOWN_VACANCIES_FILE = Path(__file__).resolve().parent / "known_vacancies.yaml"


class KnownVacancyError(ValueError):
    """``known_vacancies.yaml`` does not follow its documented layout."""


@dataclass(frozen=True)
class KnownVacancy:
    state: str
    chamber: str
    district: str
    vacant_until: date | None
    source: str

    def record(self) -> VacancyRecord:
        return VacancyRecord(self.chamber, self.district, self.vacant_until)


def parse_known_vacancies(text: str, where: str = "known_vacancies.yaml") -> list[KnownVacancy]:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise KnownVacancyError(f"{where}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise KnownVacancyError(f"{where}: expected a mapping of states")
    found: list[KnownVacancy] = []
    seen: set[tuple[str, str, str]] = set()
    for state, entries in data.items():
        if not isinstance(state, str) or len(state) != 2 or not isinstance(entries, list):
            raise KnownVacancyError(f"{where}: {state!r} must be a state with a list of seats")
        for entry in entries:
            found.append(_entry(state.lower(), entry, where))
            key = (found[-1].state, found[-1].chamber, found[-1].district)
            if key in seen:
                raise KnownVacancyError(f"{where}: {key} is listed twice")
            seen.add(key)
    return found


def _entry(state: str, entry: Any, where: str) -> KnownVacancy:
    if not isinstance(entry, dict):
        raise KnownVacancyError(f"{where}: {state}: each seat must be a mapping")
    chamber, district = entry.get("chamber"), entry.get("district")
    until, source = entry.get("vacant_until"), entry.get("source")
    if chamber not in CHAMBERS:
        raise KnownVacancyError(f"{where}: {state}: unknown chamber {chamber!r}")
    if not isinstance(district, str | int) or not str(district).strip():
        raise KnownVacancyError(f"{where}: {state}: a seat lacks its district")
    if until is not None and not isinstance(until, date):
        raise KnownVacancyError(f"{where}: {state} {district}: vacant_until must be a date")
    if not isinstance(source, str) or not source.strip():
        raise KnownVacancyError(f"{where}: {state} {district}: every seat needs a source")
    return KnownVacancy(state, chamber, str(district).strip(), until, " ".join(source.split()))


@cache
def known_vacancies() -> tuple[KnownVacancy, ...]:
    """Every entry of the app's list (an unreadable or malformed file is an error)."""
    return tuple(
        parse_known_vacancies(
            KNOWN_VACANCIES_FILE.read_text(encoding="utf-8"), KNOWN_VACANCIES_FILE.name
        )
    )


def known_vacancies_for(state: str) -> list[KnownVacancy]:
    return [v for v in known_vacancies() if v.state == state.lower()]
