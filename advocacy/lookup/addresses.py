"""What can be read from an address as the visitor typed it, when the Census could not match
it: the state, and the city when the address is written with commas."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .registry import STATES, state_name

_ZIP = re.compile(r"\s*\b\d{5}(?:-\d{4})?\s*$")
_BY_NAME = {state_name(abbr).lower(): abbr for abbr in STATES}
_CITY = re.compile(r"[A-Za-z][A-Za-z .'\-]{0,59}")


@dataclass(frozen=True)
class TypedAddress:
    state: str  # two-letter, lower case; "" when it cannot be read
    city: str  # "" when it cannot be read


def _state_at_end(text: str) -> tuple[str, str]:
    """The state named at the end of ``text`` and the text before it, or ("", text)."""
    words = text.split()
    for size in (3, 2, 1):  # "District of Columbia", "New Hampshire", "NH"
        if len(words) < size:
            continue
        candidate = " ".join(words[-size:]).strip(" ,.").lower()
        abbr = candidate if size == 1 and candidate in STATES else _BY_NAME.get(candidate)
        if abbr:
            return abbr, " ".join(words[:-size])
    return "", text


def read_typed_address(text: str) -> TypedAddress:
    """The state and city of "12 Main St, Concord, NH 03301"-style text. Without commas the
    city cannot be told from the street, so only the state is read."""
    text = _ZIP.sub("", " ".join(text.split())).rstrip(" ,")
    state, before = _state_at_end(text)
    if not state:
        return TypedAddress("", "")
    parts = [part.strip() for part in before.rstrip(" ,").split(",")]
    city = parts[-1] if len(parts) >= 2 else ""
    if not _CITY.fullmatch(city):
        city = ""
    return TypedAddress(state, city.title() if city.isupper() or city.islower() else city)


def normalised_address(text: str) -> str:
    """An address as the lookup compares addresses: lower-case letters and digits, each run of
    anything else one space ("12 Main St., Concord" and "12 main st concord" are one)."""
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()
