"""Census state-legislative-district GEOIDs -> Open Civic Data (OCD) division ids.

The Census geocoder answers an address with one object per layer, "State Legislative
Districts - Upper" and "- Lower".  Each carries a ``GEOID`` (2-digit state FIPS + the
district code from ``SLDU``/``SLDL``), plus ``BASENAME`` and ``NAME``.  Open States
identifies the same districts by OCD division id.  :func:`divisions_for_census_district`
turns the first into the second, for every chamber of the 50 states and DC.

Everything state-specific lives in ``division_data/{abbr}.yaml`` (one file per state and
DC; sources in ``division_data/SOURCES.md``).  Each file gives, per Census layer
(``upper``/``lower``), the Open States ``chamber``, the OCD ``ocd_type`` (``sldu``,
``sldl``, ``ward``), and one ``rule`` from this small vocabulary:

``numeric``
    The code is a zero-padded number; the district is that number without the zeros
    (``"048"`` -> ``48``).  ``districts`` is ``{first: 1, last: N}`` or a list.  Options:
    ``district_format`` (e.g. ``"Ward {n}"``) for the district name, and ``seats``
    (e.g. ``["A", "B"]``): one Census district holds several single-seat divisions,
    one per seat letter (Idaho's House: ``001`` -> ``1A`` and ``1B``).
``alpha_suffix``
    A number with an optional sub-district letter (``"12A"`` -> ``12A``, ``sldl:12a``;
    ``"003"`` -> ``3``).  ``districts`` lists every district name.
``letter``
    A zero-padded letter (Alaska's Senate: ``"00R"`` -> ``R``, ``sldu:r``).
``table``
    ``codes`` maps each Census code to ``{district, slug}`` (named districts:
    Massachusetts, Vermont, New Hampshire's House).
``none``
    The layer has no districts in Open States (Nebraska's and DC's lower layers).

Any layer may add ``extra`` divisions: ``{district, slug | division_id, codes}``, where
``codes`` is a list of Census codes or ``"all"``.  A resident of one of those codes also
belongs to the extra division: New Hampshire's floterial districts, which have no
geography of their own, and DC's Chairman and At-Large seats, elected District-wide.

A district code ending in ``ZZ`` (water, no district) and any code a state's data does
not list give ``[]``: nothing is ever guessed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import yaml

__all__ = [
    "DATA_DIR",
    "STATE_FIPS",
    "Chamber",
    "Division",
    "DivisionDataError",
    "Layer",
    "census_geoids",
    "divisions_for_census_district",
    "state_for_fips",
    "supported_states",
]

Chamber = Literal["upper", "lower", "legislature"]
Layer = Literal["upper", "lower"]

DATA_DIR: Path = Path(__file__).resolve().parent / "division_data"

_CHAMBERS: frozenset[str] = frozenset({"upper", "lower", "legislature"})
_LAYERS: tuple[Layer, ...] = ("upper", "lower")
_RULES: frozenset[str] = frozenset({"numeric", "alpha_suffix", "letter", "table", "none"})


@dataclass(frozen=True)
class Division:
    """One Open States district a resident belongs to."""

    state: str  # lower-case postal abbreviation, "dc" for DC
    chamber: Chamber  # "legislature" for Nebraska and DC
    division_id: str  # e.g. "ocd-division/country:us/state:mn/sldl:12a"
    district: str  # the district name as Open States writes it, e.g. "12A", "Ward 3"


#: Census state FIPS code -> lower-case postal abbreviation (50 states, DC, Puerto Rico).
STATE_FIPS: dict[str, str] = {
    "01": "al", "02": "ak", "04": "az", "05": "ar", "06": "ca", "08": "co", "09": "ct",
    "10": "de", "11": "dc", "12": "fl", "13": "ga", "15": "hi", "16": "id", "17": "il",
    "18": "in", "19": "ia", "20": "ks", "21": "ky", "22": "la", "23": "me", "24": "md",
    "25": "ma", "26": "mi", "27": "mn", "28": "ms", "29": "mo", "30": "mt", "31": "ne",
    "32": "nv", "33": "nh", "34": "nj", "35": "nm", "36": "ny", "37": "nc", "38": "nd",
    "39": "oh", "40": "ok", "41": "or", "42": "pa", "44": "ri", "45": "sc", "46": "sd",
    "47": "tn", "48": "tx", "49": "ut", "50": "vt", "51": "va", "53": "wa", "54": "wv",
    "55": "wi", "56": "wy", "72": "pr",
}  # fmt: skip
_FIPS_FOR_STATE: dict[str, str] = {abbr: fips for fips, abbr in STATE_FIPS.items()}


class DivisionDataError(ValueError):
    """A file in ``division_data/`` does not follow the schema described above."""


def state_for_fips(fips: str) -> str | None:
    """The postal abbreviation for a state FIPS code ("06" or "6" -> "ca"), else None."""
    if not isinstance(fips, str):
        return None
    text = fips.strip()
    if not re.fullmatch(r"[0-9]{1,2}", text):
        return None
    return STATE_FIPS.get(text.zfill(2))


def supported_states() -> tuple[str, ...]:
    """Abbreviations of the jurisdictions that have a data file (50 states and DC)."""
    return tuple(sorted(abbr for abbr in _FIPS_FOR_STATE if (DATA_DIR / f"{abbr}.yaml").is_file()))


def census_geoids(state: str, layer: Layer) -> tuple[str, ...]:
    """Every Census GEOID the data knows for one state and layer, in data order.

    Each of them maps to at least one division; ``()`` for a layer with no districts
    or a jurisdiction without data.
    """
    _check_layer(layer)
    abbr = state.strip().lower() if isinstance(state, str) else ""
    data = _load_state(abbr) if abbr in _FIPS_FOR_STATE else None
    if data is None:
        return ()
    return tuple(data.fips + code for code in data.layers[layer].census_codes)


def divisions_for_census_district(
    layer: Literal["upper", "lower"],
    geoid: str,
    *,
    code: str | None = None,
    basename: str | None = None,
    name: str | None = None,
) -> list[Division]:
    """All divisions a resident of one Census legislative district belongs to, in one chamber.

    ``layer`` is the Census layer the object came from, ``geoid`` its ``GEOID``; ``code``
    (``SLDU``/``SLDL``), ``basename`` (``BASENAME``) and ``name`` (``NAME``) are optional.
    The GEOID decides.  ``code`` must agree with it; ``basename``/``name`` must not name a
    different district of the same layer; when the GEOID holds only the state FIPS, the
    district comes from ``code``, else from ``basename``/``name``.  Returns ``[]`` when
    there is no district (a ``ZZ`` code, Nebraska's or DC's lower layer) or the district
    is unknown: never a guess.
    """
    _check_layer(layer)
    if not isinstance(geoid, str):
        return []
    clean_geoid = _clean_code(geoid)
    if len(clean_geoid) < 2:
        return []
    state = STATE_FIPS.get(clean_geoid[:2])
    data = _load_state(state) if state else None
    if data is None:
        return []
    rules = data.layers[layer]
    if rules.rule == "none":
        return []

    district_code = clean_geoid[2:]
    given_code = _clean_code(code) if isinstance(code, str) else ""
    if district_code and given_code and not _same_code(district_code, given_code):
        return []  # an inconsistent Census object: do not pick a side
    district_code = district_code or given_code
    labels = [label for label in (basename, _strip_name_prefix(name)) if label]

    if district_code:
        if district_code.endswith("ZZ"):
            return []  # Census "no district here" (water, unassigned)
        key = _canonical_key(rules.rule, district_code)
        if key is None or key not in rules.by_key:
            return []
        for label in labels:
            named = rules.names.get(_normalize_label(label))
            if named is not None and named != key:
                return []  # BASENAME/NAME point at another district
        return list(rules.by_key[key])

    for label in labels:
        named = rules.names.get(_normalize_label(label))
        if named is not None:
            return list(rules.by_key[named])
    return []


# --- internals -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _LayerRules:
    rule: str
    by_key: Mapping[str, tuple[Division, ...]]  # canonical district key -> divisions
    census_codes: tuple[str, ...]  # the Census SLDU/SLDL codes, as they appear in a GEOID
    names: Mapping[str, str]  # normalised district label -> canonical key (unambiguous only)


@dataclass(frozen=True)
class _StateData:
    state: str
    fips: str
    layers: Mapping[str, _LayerRules]


_NO_DISTRICTS = _LayerRules(rule="none", by_key={}, census_codes=(), names={})
_AMBIGUOUS = ""
_NAME_PREFIX = re.compile(
    r"^\s*(?:state\s+)?(?:senate|house|assembly|legislative|representative|delegate|council)"
    r"\s+district\s+",
    re.IGNORECASE,
)


def _check_layer(layer: object) -> None:
    if layer not in _LAYERS:
        raise ValueError(f"layer must be 'upper' or 'lower', not {layer!r}")


def _clean_code(value: str) -> str:
    return value.strip().upper()


def _same_code(a: str, b: str) -> bool:
    return a == b or a.lstrip("0") == b.lstrip("0")


def _strip_name_prefix(name: str | None) -> str | None:
    """'State House District Hillsborough 23' -> 'Hillsborough 23'."""
    if not isinstance(name, str):
        return None
    return _NAME_PREFIX.sub("", name).strip() or None


def _normalize_label(label: str) -> str:
    """Compare district labels ignoring case, spaces and punctuation, and leading zeros."""
    folded = re.sub(r"[^0-9a-z]+", "", label.casefold())
    if folded.isdigit():
        return folded.lstrip("0") or "0"
    return folded


def _canonical_key(rule: str, code: str) -> str | None:
    """The data's key for a Census district code under a rule, or None if it cannot match."""
    if rule == "numeric":
        match = re.fullmatch(r"[0-9]+", code)
        return str(int(code)) if match else None
    if rule == "alpha_suffix":
        match = re.fullmatch(r"([0-9]+)([A-Z]?)", code)
        return f"{int(match.group(1))}{match.group(2)}" if match else None
    if rule == "letter":
        match = re.fullmatch(r"0*([A-Z])", code)
        return match.group(1) if match else None
    if rule == "table":
        return code
    return None


@functools.cache
def _load_state(abbr: str) -> _StateData | None:
    fips = _FIPS_FOR_STATE.get(abbr)
    path = DATA_DIR / f"{abbr}.yaml"
    if fips is None or not path.is_file():
        return None
    with path.open(encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    where = path.name
    doc = _mapping(raw, where)
    if doc.get("state") != abbr or doc.get("fips") != fips:
        raise DivisionDataError(f"{where}: expected state {abbr!r} and fips {fips!r}")
    prefix = _string(doc, "division_prefix", where)
    raw_layers = _mapping(doc.get("layers"), f"{where}: layers")
    if set(raw_layers) != set(_LAYERS):
        raise DivisionDataError(f"{where}: layers must be exactly 'upper' and 'lower'")
    layers = {
        layer: _compile_layer(abbr, prefix, raw_layers[layer], f"{where}: {layer}")
        for layer in _LAYERS
    }
    return _StateData(state=abbr, fips=fips, layers=layers)


def _compile_layer(state: str, prefix: str, raw: object, where: str) -> _LayerRules:
    spec = _mapping(raw, where)
    rule = spec.get("rule")
    if rule not in _RULES:
        raise DivisionDataError(f"{where}: unknown rule {rule!r}")
    if rule == "none":
        return _NO_DISTRICTS
    chamber = _string(spec, "chamber", where)
    if chamber not in _CHAMBERS:
        raise DivisionDataError(f"{where}: unknown chamber {chamber!r}")
    ocd_type = _string(spec, "ocd_type", where)

    def division(slug: str, district: str) -> Division:
        return Division(state, cast(Chamber, chamber), f"{prefix}/{ocd_type}:{slug}", district)

    # key -> (Census code, primary divisions, labels that name the district)
    entries: dict[str, tuple[str, list[Division], list[str]]] = {}

    def add(key: str, census_code: str, divisions: list[Division], labels: list[str]) -> None:
        if key in entries:
            raise DivisionDataError(f"{where}: district {key!r} listed twice")
        entries[key] = (census_code, divisions, labels)

    if rule == "numeric":
        template = spec.get("district_format", "{n}")
        seats = spec.get("seats") or []
        if not isinstance(template, str) or not all(
            isinstance(seat, str) and re.fullmatch(r"[A-Z]", seat) for seat in seats
        ):
            raise DivisionDataError(f"{where}: bad district_format or seats")
        for number in _numbers(spec.get("districts"), where):
            n = str(number)
            label = template.format(n=n)
            if seats:
                divisions = [division(f"{n}{seat.lower()}", f"{n}{seat}") for seat in seats]
            else:
                divisions = [division(n, label)]
            add(n, n.rjust(3, "0"), divisions, [n, label])
    elif rule in ("alpha_suffix", "letter"):
        pattern = r"[1-9][0-9]*[A-Z]?" if rule == "alpha_suffix" else r"[A-Z]"
        for name in _string_list(spec.get("districts"), where):
            if not re.fullmatch(pattern, name):
                raise DivisionDataError(f"{where}: bad district {name!r} for rule {rule}")
            add(name, name.rjust(3, "0"), [division(name.lower(), name)], [name])
    else:  # table
        codes = _mapping(spec.get("codes"), f"{where}: codes")
        for census_code, raw_entry in codes.items():
            if not isinstance(census_code, str) or not re.fullmatch(r"[0-9A-Z-]{1,5}", census_code):
                raise DivisionDataError(f"{where}: bad Census code {census_code!r}")
            entry = _mapping(raw_entry, f"{where}: {census_code}")
            district = _string(entry, "district", where)
            add(
                census_code,
                census_code,
                [division(_string(entry, "slug", where), district)],
                [district],
            )

    extras: dict[str, list[Division]] = {key: [] for key in entries}
    for raw_extra in _list(spec.get("extra", []), f"{where}: extra"):
        extra = _mapping(raw_extra, f"{where}: extra")
        district = _string(extra, "district", where)
        if "division_id" in extra:
            extra_division = Division(
                state, cast(Chamber, chamber), _string(extra, "division_id", where), district
            )
        else:
            extra_division = division(_string(extra, "slug", where), district)
        covered = extra.get("codes")
        if covered == "all":
            keys = list(entries)
        else:
            keys = []
            for census_code in _string_list(covered, f"{where}: extra {district!r}"):
                key = _canonical_key(rule, census_code)
                if key is None or key not in entries:
                    raise DivisionDataError(
                        f"{where}: extra {district!r} covers unknown {census_code!r}"
                    )
                keys.append(key)
        for key in keys:
            extras[key].append(extra_division)

    by_key: dict[str, tuple[Division, ...]] = {}
    names: dict[str, str] = {}
    for key, (_census_code, divisions, labels) in entries.items():
        all_divisions = tuple(divisions + extras[key])
        if len(set(all_divisions)) != len(all_divisions):
            raise DivisionDataError(f"{where}: district {key!r} repeats a division")
        by_key[key] = all_divisions
        for label in {_normalize_label(text) for text in labels}:
            names[label] = key if names.get(label, key) == key else _AMBIGUOUS
    if not by_key:
        raise DivisionDataError(f"{where}: rule {rule} lists no districts")
    return _LayerRules(
        rule=rule,
        by_key=by_key,
        census_codes=tuple(census_code for census_code, _divs, _labels in entries.values()),
        names={label: key for label, key in names.items() if key != _AMBIGUOUS},
    )


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise DivisionDataError(f"{where}: expected a mapping")
    return value


def _list(value: object, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise DivisionDataError(f"{where}: expected a list")
    return value


def _string(spec: Mapping[str, Any], key: str, where: str) -> str:
    value = spec.get(key)
    if not isinstance(value, str) or not value:
        raise DivisionDataError(f"{where}: {key!r} must be a non-empty string")
    return value


def _string_list(value: object, where: str) -> list[str]:
    items = _list(value, where)
    if not all(isinstance(item, str) and item for item in items):
        raise DivisionDataError(f"{where}: expected a list of strings")
    return items


def _numbers(value: object, where: str) -> Iterable[int]:
    """``{first: 1, last: N}`` or a list of numbers (written as ints or digit strings)."""
    if isinstance(value, Mapping):
        first, last = value.get("first"), value.get("last")
        if type(first) is not int or type(last) is not int or not 0 < first <= last:
            raise DivisionDataError(f"{where}: districts needs integers 0 < first <= last")
        return range(first, last + 1)
    numbers = []
    for item in _list(value, f"{where}: districts"):
        text = str(item)
        if type(item) not in (int, str) or not re.fullmatch(r"[1-9][0-9]*", text):
            raise DivisionDataError(f"{where}: bad district number {item!r}")
        numbers.append(int(text))
    return numbers
