"""Every district of every chamber with its seat count, from Open States' metadata (MIT)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import openstates_metadata

from ..i18n import lazy_gettext

# 50 states and DC. Puerto Rico has a legislature in Open States but no Census SLD layer.
STATES: tuple[str, ...] = (
    "ak",
    "al",
    "ar",
    "az",
    "ca",
    "co",
    "ct",
    "dc",
    "de",
    "fl",
    "ga",
    "hi",
    "ia",
    "id",
    "il",
    "in",
    "ks",
    "ky",
    "la",
    "ma",
    "md",
    "me",
    "mi",
    "mn",
    "mo",
    "ms",
    "mt",
    "nc",
    "nd",
    "ne",
    "nh",
    "nj",
    "nm",
    "nv",
    "ny",
    "oh",
    "ok",
    "or",
    "pa",
    "ri",
    "sc",
    "sd",
    "tn",
    "tx",
    "ut",
    "va",
    "vt",
    "wa",
    "wi",
    "wv",
    "wy",
)


def _chamber(chamber_type: str) -> str:
    # The metadata calls a single chamber "unicameral"; the people files say "legislature".
    return "legislature" if chamber_type == "unicameral" else chamber_type


@dataclass(frozen=True)
class RegistryDistrict:
    state: str
    chamber: str
    district: str
    division_id: str
    seats: int


@dataclass(frozen=True)
class StateInfo:
    abbr: str
    name: str
    unicameral: bool
    chamber_titles: dict[str, str]
    chamber_names: dict[str, str]


@cache
def state_info(abbr: str) -> StateInfo:
    meta = openstates_metadata.lookup(abbr=abbr)
    return StateInfo(
        abbr=abbr,
        name=meta.name,
        unicameral=meta.unicameral,
        chamber_titles={_chamber(c.chamber_type): c.title for c in meta.chambers},
        chamber_names={_chamber(c.chamber_type): c.name for c in meta.chambers},
    )


@cache
def districts_for_state(abbr: str) -> tuple[RegistryDistrict, ...]:
    meta = openstates_metadata.lookup(abbr=abbr)
    rows = []
    for chamber in meta.chambers:
        for district in chamber.districts:
            if not district.division_id:
                continue  # e.g. Maine's non-voting tribal seats have no geography
            rows.append(
                RegistryDistrict(
                    abbr,
                    _chamber(chamber.chamber_type),
                    district.name,
                    district.division_id,
                    district.num_seats,
                )
            )
    return tuple(rows)


@cache
def _districts_by_name(abbr: str) -> dict[tuple[str, str], RegistryDistrict]:
    return {(d.chamber, d.district): d for d in districts_for_state(abbr)}


def registry_district(abbr: str, chamber: str, district: str) -> RegistryDistrict | None:
    """One district of the registry, or None when the registry has no such district."""
    try:
        return _districts_by_name(abbr.lower()).get((chamber, district))
    except KeyError:  # not a jurisdiction Open States' metadata knows
        return None


def seats_in_state(abbr: str) -> int:
    """How many seats the registry counts for a state's legislature, all chambers together."""
    return sum(d.seats for d in districts_for_state(abbr.lower()))


def state_name(abbr: str) -> str:
    try:
        return state_info(abbr.lower()).name
    except KeyError:
        return abbr.upper()


# The chambers' names (Open States' metadata) as a reader of the current language knows them.
_CHAMBER_WORDS = {
    "Assembly": lazy_gettext("Assembly"),
    "Council of the District of Columbia": lazy_gettext("Council of the District of Columbia"),
    "Guam Legislature": lazy_gettext("Guam Legislature"),
    "House": lazy_gettext("House"),
    "Legislature": lazy_gettext("Legislature"),
    "Nebraska Legislature": lazy_gettext("Nebraska Legislature"),
    "Senate": lazy_gettext("Senate"),
}


def chamber_words(name: str) -> str:
    """A chamber's name for a page ("House": "Cámara de Representantes" in Spanish); messages
    to offices keep the English name."""
    return str(_CHAMBER_WORDS.get(name, name))


# Parties as Open States names them, in the reader's language (others are shown as named).
_PARTY_WORDS = {
    "Democratic": lazy_gettext("Democratic"),
    "Republican": lazy_gettext("Republican"),
    "Independent": lazy_gettext("Independent"),
    "Libertarian": lazy_gettext("Libertarian"),
    "Green": lazy_gettext("Green"),
    "Nonpartisan": lazy_gettext("Nonpartisan"),
}


def party_words(party: str) -> str:
    return str(_PARTY_WORDS.get(party, party))


def chamber_label(state: str | None, chamber: str) -> str:
    """The chamber's own name, e.g. "House", "Senate", "Nebraska Legislature", in the reader's
    language."""
    if state:
        try:
            return chamber_words(
                state_info(state.lower()).chamber_names.get(chamber, chamber.title())
            )
        except KeyError:
            pass
    names = {"upper": "Senate", "lower": "House", "legislature": "Legislature"}
    return chamber_words(names.get(chamber, chamber))
