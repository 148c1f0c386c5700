"""Census legislative-district GEOID -> Open Civic Data division id (advocacy.lookup.divisions).

The expectations here are typed from districts.csv and the Census code conventions, not
computed from the module's data files, so a wrong data file fails these tests.  The tests
marked ``shared`` also check every row of ``../shared/data/openstates/districts.csv``.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import FrozenInstanceError
from pathlib import Path
from typing import Any, cast

import pytest

from advocacy.lookup import divisions as divisions_module
from advocacy.lookup.divisions import (
    DATA_DIR,
    STATE_FIPS,
    Division,
    DivisionDataError,
    census_geoids,
    divisions_for_census_district,
    state_for_fips,
    supported_states,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_DIR = REPO_ROOT.parent / "shared"
DISTRICTS_CSV = SHARED_DIR / "data" / "openstates" / "districts.csv"

FIPS = {abbr: fips for fips, abbr in STATE_FIPS.items()}
ALL_JURISDICTIONS = sorted(abbr for abbr in FIPS if abbr != "pr")  # 50 states + DC
ME_TRIBAL = {
    "ocd-division/country:us/state:me/sldl:passamaquoddy-tribe",
    "ocd-division/country:us/state:me/sldl:houlton-band",
}
DC_WHOLE = "ocd-division/country:us/district:dc"

Expected = list[tuple[str, str, str]]  # (chamber, division_id, district)


def ocd(state: str, rest: str) -> str:
    return f"ocd-division/country:us/state:{state}/{rest}"


def as_tuples(result: list[Division]) -> Expected:
    return [(d.chamber, d.division_id, d.district) for d in result]


# Chambers whose Census code is a zero-padded district number 1..N:
# state -> (number of upper districts, number of lower districts); None = not numeric.
NUMERIC: dict[str, tuple[int | None, int | None]] = {
    "al": (35, 105), "ak": (None, 40), "az": (30, 30), "ar": (35, 100), "ca": (40, 80),
    "co": (35, 65), "ct": (36, 151), "de": (21, 41), "fl": (40, 120), "ga": (56, 180),
    "hi": (25, 51), "ia": (50, 100), "id": (35, None), "il": (59, 118), "in": (50, 100),
    "ks": (40, 125), "ky": (38, 100), "la": (39, 105), "md": (47, None), "me": (35, 151),
    "mi": (38, 110), "mn": (67, None), "mo": (34, 163), "ms": (52, 122), "mt": (50, 100),
    "nc": (50, 120), "nd": (47, None), "nh": (24, None), "nj": (40, 40), "nm": (42, 70),
    "nv": (21, 42), "ny": (63, 150), "oh": (33, 99), "ok": (48, 101), "or": (30, 60),
    "pa": (50, 203), "ri": (38, 75), "sc": (46, 124), "sd": (35, None), "tn": (33, 99),
    "tx": (31, 150), "ut": (29, 75), "va": (40, 100), "wa": (49, 49), "wi": (33, 99),
    "wv": (17, 100), "wy": (31, 62),
}  # fmt: skip

# One representative Census object for every layer that is not a plain number.
SPECIAL: list[tuple[str, str, str, Expected]] = [
    ("ak", "upper", "0200R", [("upper", ocd("ak", "sldu:r"), "R")]),
    ("dc", "upper", "11003", [
        ("legislature", "ocd-division/country:us/district:dc/ward:3", "Ward 3"),
        ("legislature", DC_WHOLE, "At-Large"),
        ("legislature", DC_WHOLE, "Chairman"),
    ]),
    ("dc", "lower", "11003", []),
    ("id", "lower", "16001", [
        ("lower", ocd("id", "sldl:1a"), "1A"),
        ("lower", ocd("id", "sldl:1b"), "1B"),
    ]),
    ("ma", "upper", "25D01", [(
        "upper",
        ocd("ma", "sldu:berkshire_hampden_franklin_and_hampshire"),
        "Berkshire, Hampden, Franklin and Hampshire",
    )]),
    ("ma", "lower", "25158", [("lower", ocd("ma", "sldl:17th_worcester"), "17th Worcester")]),
    ("md", "lower", "2401A", [("lower", ocd("md", "sldl:1a"), "1A")]),
    ("mn", "lower", "2712A", [("lower", ocd("mn", "sldl:12a"), "12A")]),
    ("nd", "lower", "3804A", [("lower", ocd("nd", "sldl:4a"), "4A")]),
    ("ne", "upper", "31012", [("legislature", ocd("ne", "sldu:12"), "12")]),
    ("ne", "lower", "31012", []),
    ("nh", "lower", "33523", [
        ("lower", ocd("nh", "sldl:hillsborough_23"), "Hillsborough 23"),
        ("lower", ocd("nh", "sldl:hillsborough_40"), "Hillsborough 40"),
    ]),
    ("sd", "lower", "4626A", [("lower", ocd("sd", "sldl:26a"), "26A")]),
    ("vt", "upper", "50CHN", [("upper", ocd("vt", "sldu:chittenden-north"), "Chittenden North")]),
    ("vt", "lower", "50GIC", [
        ("lower", ocd("vt", "sldl:grand_isle-chittenden"), "Grand Isle-Chittenden"),
    ]),
]  # fmt: skip


def representative_cases() -> Iterator[Any]:
    for state, (upper, lower) in sorted(NUMERIC.items()):
        for layer, count in (("upper", upper), ("lower", lower)):
            if count is None:
                continue
            chamber = "legislature" if state == "ne" else layer
            kind = "sldu" if layer == "upper" else "sldl"
            geoid = FIPS[state] + f"{count:03d}"
            expected = [(chamber, ocd(state, f"{kind}:{count}"), str(count))]
            yield pytest.param(state, layer, geoid, expected, id=f"{state}-{layer}-{geoid}")
    for state, layer, geoid, expected in SPECIAL:
        yield pytest.param(state, layer, geoid, expected, id=f"{state}-{layer}-{geoid}")


REPRESENTATIVE = list(representative_cases())


def test_representative_cases_cover_every_jurisdiction_and_layer() -> None:
    covered = {(p.values[0], p.values[1]) for p in REPRESENTATIVE}
    assert covered == {(s, layer) for s in ALL_JURISDICTIONS for layer in ("upper", "lower")}


@pytest.mark.parametrize(("state", "layer", "geoid", "expected"), REPRESENTATIVE)
def test_representative_census_object(
    state: str, layer: str, geoid: str, expected: Expected
) -> None:
    result = divisions_for_census_district(cast(Any, layer), geoid)
    assert as_tuples(result) == expected
    assert all(d.state == state for d in result)
    # Census objects carry the code field too; it must be accepted as a cross-check.
    assert divisions_for_census_district(cast(Any, layer), geoid, code=geoid[2:]) == result


@pytest.mark.parametrize(
    ("state", "layer", "count"),
    [
        pytest.param(s, layer, n, id=f"{s}-{layer}")
        for s, counts in sorted(NUMERIC.items())
        for layer, n in zip(("upper", "lower"), counts, strict=True)
        if n is not None
    ],
)
def test_numeric_chamber_bounds(state: str, layer: str, count: int) -> None:
    kind = "sldu" if layer == "upper" else "sldl"
    first = divisions_for_census_district(cast(Any, layer), FIPS[state] + "001")
    assert [d.division_id for d in first] == [ocd(state, f"{kind}:1")]
    assert first[0].district == "1"
    assert divisions_for_census_district(cast(Any, layer), FIPS[state] + f"{count + 1:03d}") == []
    assert divisions_for_census_district(cast(Any, layer), FIPS[state] + "000") == []
    assert census_geoids(state, cast(Any, layer)) == tuple(
        FIPS[state] + f"{n:03d}" for n in range(1, count + 1)
    )


# --- the cases named in the brief ----------------------------------------------------------


def test_leading_zeros_are_stripped() -> None:
    result = divisions_for_census_district("lower", "06048")
    assert as_tuples(result) == [("lower", ocd("ca", "sldl:48"), "48")]
    assert as_tuples(divisions_for_census_district("upper", "51035")) == [
        ("upper", ocd("va", "sldu:35"), "35")
    ]


@pytest.mark.parametrize(
    ("layer", "geoid", "division_id", "district"),
    [
        ("lower", "2712A", ocd("mn", "sldl:12a"), "12A"),
        ("lower", "2701B", ocd("mn", "sldl:1b"), "1B"),
        ("lower", "2767B", ocd("mn", "sldl:67b"), "67B"),
        ("lower", "2401A", ocd("md", "sldl:1a"), "1A"),
        ("lower", "2401C", ocd("md", "sldl:1c"), "1C"),
        ("lower", "24003", ocd("md", "sldl:3"), "3"),
        ("lower", "2433C", ocd("md", "sldl:33c"), "33C"),
        ("lower", "2447B", ocd("md", "sldl:47b"), "47B"),
        ("lower", "3804A", ocd("nd", "sldl:4a"), "4A"),
        ("lower", "3804B", ocd("nd", "sldl:4b"), "4B"),
        ("lower", "38047", ocd("nd", "sldl:47"), "47"),
        ("lower", "4626B", ocd("sd", "sldl:26b"), "26B"),
        ("lower", "4628A", ocd("sd", "sldl:28a"), "28A"),
        ("lower", "46027", ocd("sd", "sldl:27"), "27"),
    ],
)
def test_letter_sub_districts(layer: str, geoid: str, division_id: str, district: str) -> None:
    result = divisions_for_census_district(cast(Any, layer), geoid)
    assert [(d.division_id, d.district) for d in result] == [(division_id, district)]


@pytest.mark.parametrize(
    "geoid",
    [
        "27012",  # MN House districts are always split: there is no plain 12
        "2768A",  # no MN district 68
        "24047",  # MD 47 is only 47A/47B
        "2403A",  # MD 3 is not split
        "2401D",
        "38004",  # ND 4 is only 4A/4B
        "3805A",
        "46026",  # SD 26 is only 26A/26B
        "4627A",
    ],
)
def test_letter_sub_district_that_does_not_exist(geoid: str) -> None:
    assert divisions_for_census_district("lower", geoid) == []


def test_alaska_senate_letters() -> None:
    assert as_tuples(divisions_for_census_district("upper", "0200R")) == [
        ("upper", ocd("ak", "sldu:r"), "R")
    ]
    assert divisions_for_census_district("upper", "0200A")[0].division_id == ocd("ak", "sldu:a")
    assert divisions_for_census_district("upper", "0200T")[0].division_id == ocd("ak", "sldu:t")
    assert divisions_for_census_district("upper", "0200U") == []
    assert divisions_for_census_district("upper", "02001") == []  # senate codes are letters
    assert as_tuples(divisions_for_census_district("lower", "02040")) == [
        ("lower", ocd("ak", "sldl:40"), "40")
    ]
    assert census_geoids("ak", "upper") == tuple(f"0200{c}" for c in "ABCDEFGHIJKLMNOPQRST")


@pytest.mark.parametrize(
    ("layer", "geoid", "division_id", "district"),
    [
        (
            "upper",
            "25D01",
            ocd("ma", "sldu:berkshire_hampden_franklin_and_hampshire"),
            "Berkshire, Hampden, Franklin and Hampshire",
        ),
        ("upper", "25D08", ocd("ma", "sldu:2nd_worcester"), "Second Worcester"),
        ("upper", "25D40", ocd("ma", "sldu:cape_and_islands"), "Cape and Islands"),
        ("lower", "25001", ocd("ma", "sldl:1st_barnstable"), "1st Barnstable"),
        ("lower", "25160", ocd("ma", "sldl:19th_worcester"), "19th Worcester"),
        ("upper", "50CHN", ocd("vt", "sldu:chittenden-north"), "Chittenden North"),
        ("upper", "50CHC", ocd("vt", "sldu:chittenden-central"), "Chittenden Central"),
        ("upper", "50GRI", ocd("vt", "sldu:grand_isle"), "Grand Isle"),
        ("lower", "50A-1", ocd("vt", "sldl:addison-1"), "Addison-1"),
        ("lower", "50C25", ocd("vt", "sldl:chittenden-25"), "Chittenden-25"),
        ("lower", "50Y-A", ocd("vt", "sldl:windsor-addison"), "Windsor-Addison"),
        (
            "lower",
            "50WWB",
            ocd("vt", "sldl:windham-bennington-windsor"),
            "Windham-Windsor-Bennington",
        ),
        ("lower", "33001", ocd("nh", "sldl:belknap_1"), "Belknap 1"),
        ("lower", "33906", ocd("nh", "sldl:sullivan_6"), "Sullivan 6"),
    ],
)
def test_named_districts(layer: str, geoid: str, division_id: str, district: str) -> None:
    result = divisions_for_census_district(cast(Any, layer), geoid)
    assert (result[0].division_id, result[0].district) == (division_id, district)


def test_named_district_codes_are_exact() -> None:
    assert divisions_for_census_district("upper", "25D41") == []
    assert divisions_for_census_district("upper", "25001") == []  # a House code in the Senate
    assert divisions_for_census_district("lower", "50CHN") == []  # a Senate code in the House
    assert divisions_for_census_district("upper", "50chn")[0].district == "Chittenden North"
    assert divisions_for_census_district("lower", "25161") == []


def test_nh_base_district_also_returns_its_floterial() -> None:
    result = divisions_for_census_district(
        "lower", "33523", code="523", basename="Hillsborough 23",
        name="State House District Hillsborough 23",
    )  # fmt: skip
    assert as_tuples(result) == [
        ("lower", ocd("nh", "sldl:hillsborough_23"), "Hillsborough 23"),
        ("lower", ocd("nh", "sldl:hillsborough_40"), "Hillsborough 40"),
    ]


@pytest.mark.parametrize(
    ("geoid", "districts"),
    [
        ("33001", ["Belknap 1"]),  # not in any floterial
        ("33003", ["Belknap 3", "Belknap 8"]),
        ("33004", ["Belknap 4", "Belknap 8"]),
        ("33207", ["Cheshire 7", "Cheshire 16"]),  # Keene Ward 2
        ("33534", ["Hillsborough 34", "Hillsborough 37"]),  # Amherst
        ("33543", ["Hillsborough 43", "Hillsborough 37"]),  # Milford
        ("33542", ["Hillsborough 42"]),
        ("33610", ["Merrimack 10", "Merrimack 27"]),
        ("33723", ["Rockingham 23", "Rockingham 38"]),
        ("33725", ["Rockingham 25"]),
        ("33906", ["Sullivan 6", "Sullivan 8"]),
    ],
)
def test_nh_floterials(geoid: str, districts: list[str]) -> None:
    assert [d.district for d in divisions_for_census_district("lower", geoid)] == districts


def test_nh_floterials_have_no_census_code_of_their_own() -> None:
    for floterial in ("33008", "33107", "33540", "33630", "33740", "33908"):
        assert divisions_for_census_district("lower", floterial) == []
    assert len(census_geoids("nh", "lower")) == 164


def test_nh_senate_is_numeric() -> None:
    assert as_tuples(divisions_for_census_district("upper", "33024")) == [
        ("upper", ocd("nh", "sldu:24"), "24")
    ]


def test_idaho_one_census_district_two_seats() -> None:
    result = divisions_for_census_district("lower", "16035", code="035", basename="35")
    assert as_tuples(result) == [
        ("lower", ocd("id", "sldl:35a"), "35A"),
        ("lower", ocd("id", "sldl:35b"), "35B"),
    ]
    assert divisions_for_census_district("lower", "16036") == []
    assert divisions_for_census_district("lower", "1601A") == []
    assert as_tuples(divisions_for_census_district("upper", "16001")) == [
        ("upper", ocd("id", "sldu:1"), "1")
    ]


def test_nebraska_is_unicameral() -> None:
    result = divisions_for_census_district("upper", "31049", code="049")
    assert as_tuples(result) == [("legislature", ocd("ne", "sldu:49"), "49")]
    assert divisions_for_census_district("upper", "31050") == []
    assert divisions_for_census_district("lower", "31012") == []
    assert census_geoids("ne", "lower") == ()


def test_dc_ward_and_whole_district() -> None:
    result = divisions_for_census_district("upper", "11008", code="008", basename="8")
    assert as_tuples(result) == [
        ("legislature", "ocd-division/country:us/district:dc/ward:8", "Ward 8"),
        ("legislature", DC_WHOLE, "At-Large"),
        ("legislature", DC_WHOLE, "Chairman"),
    ]
    assert all(d.state == "dc" for d in result)
    assert divisions_for_census_district("upper", "11009") == []
    assert divisions_for_census_district("lower", "11001") == []
    assert census_geoids("dc", "upper") == tuple(f"1100{n}" for n in range(1, 9))


@pytest.mark.parametrize(
    ("layer", "geoid"),
    [
        ("upper", "06ZZZ"),
        ("lower", "06ZZZ"),
        ("lower", "33ZZZ"),
        ("upper", "25ZZZ"),
        ("lower", "50ZZZ"),
        ("lower", "270ZZ"),
        ("upper", "0200Z"),  # not a "ZZ" code, but AK has no senate seat Z
        ("upper", "11ZZZ"),
    ],
)
def test_no_district_codes(layer: str, geoid: str) -> None:
    assert divisions_for_census_district(cast(Any, layer), geoid) == []


@pytest.mark.parametrize(
    "geoid",
    ["", " ", "0", "06", "03001", "07001", "99001", "XX001", "72001", "72", "06-48", "06048X"],
)
def test_unknown_geoid_gives_nothing(geoid: str) -> None:
    assert divisions_for_census_district("lower", geoid) == []


def test_geoid_that_is_not_a_string_gives_nothing() -> None:
    assert divisions_for_census_district("lower", cast(Any, 6048)) == []
    assert divisions_for_census_district("lower", cast(Any, None)) == []


def test_missing_basename_and_name_still_work() -> None:
    for layer, geoid in (("lower", "33523"), ("upper", "25D01"), ("lower", "2712A")):
        with_all = divisions_for_census_district(
            cast(Any, layer), geoid, code=None, basename=None, name=None
        )
        assert with_all == divisions_for_census_district(cast(Any, layer), geoid)
        assert with_all


def test_geoid_is_normalised() -> None:
    assert divisions_for_census_district("lower", " 2712a ")[0].division_id == ocd("mn", "sldl:12a")
    assert divisions_for_census_district("upper", "50chn")[0].district == "Chittenden North"


def test_code_must_agree_with_geoid() -> None:
    assert divisions_for_census_district("lower", "06048", code="048")[0].district == "48"
    assert divisions_for_census_district("lower", "06048", code="48")[0].district == "48"
    assert divisions_for_census_district("lower", "06048", code="049") == []
    assert divisions_for_census_district("lower", "2712A", code="12B") == []


def test_basename_and_name_are_a_cross_check() -> None:
    ok = divisions_for_census_district(
        "upper", "51035", basename="35", name="State Senate District 35"
    )
    assert [d.district for d in ok] == ["35"]
    # BASENAME naming a different district of the same layer: an inconsistent object
    assert divisions_for_census_district("upper", "51035", basename="36") == []
    assert divisions_for_census_district("upper", "51035", name="State Senate District 34") == []
    assert divisions_for_census_district("lower", "33523", basename="Hillsborough 24") == []
    # a label in a format the data does not know is ignored, not held against the GEOID
    assert divisions_for_census_district("upper", "51035", basename="Thirty-fifth") == ok
    assert divisions_for_census_district("upper", "11003", basename="Ward 3")[0].district == (
        "Ward 3"
    )
    vt = divisions_for_census_district("upper", "50CHC", basename="Chittenden-Central")
    assert [d.district for d in vt] == ["Chittenden Central"]


def test_code_or_names_used_when_the_geoid_has_only_the_state() -> None:
    assert divisions_for_census_district("upper", "51", code="035")[0].district == "35"
    by_basename = divisions_for_census_district("lower", "33", basename="Hillsborough 23")
    assert [d.district for d in by_basename] == ["Hillsborough 23", "Hillsborough 40"]
    by_name = divisions_for_census_district(
        "upper", "25", name="State Senate District Cape and Islands"
    )
    assert [d.district for d in by_name] == ["Cape and Islands"]
    assert divisions_for_census_district("lower", "16", basename="1")[0].district == "1A"
    assert divisions_for_census_district("lower", "33", basename="Hillsborough 99") == []
    assert divisions_for_census_district("lower", "33") == []


def test_bad_layer_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="layer"):
        divisions_for_census_district(cast(Any, "legislature"), "31012")
    with pytest.raises(ValueError, match="layer"):
        census_geoids("ne", cast(Any, "sldu"))


def test_maine_tribal_seats_are_never_returned() -> None:
    geoids = census_geoids("me", "lower")
    assert geoids == tuple(f"23{n:03d}" for n in range(1, 152))
    returned = {d.division_id for g in geoids for d in divisions_for_census_district("lower", g)}
    assert not returned & ME_TRIBAL
    assert divisions_for_census_district("lower", "23152") == []


def test_results_are_fresh_lists() -> None:
    first = divisions_for_census_district("lower", "33523")
    first.clear()
    assert len(divisions_for_census_district("lower", "33523")) == 2


def test_division_is_frozen_and_hashable() -> None:
    d = divisions_for_census_district("upper", "06001")[0]
    with pytest.raises(FrozenInstanceError):
        d.district = "2"  # type: ignore[misc]
    assert {d, Division("ca", "upper", ocd("ca", "sldu:1"), "1")} == {d}


def test_state_fips() -> None:
    assert len(STATE_FIPS) == 52
    assert len(set(STATE_FIPS.values())) == 52
    assert set(STATE_FIPS.values()) == set(ALL_JURISDICTIONS) | {"pr"}
    assert STATE_FIPS["01"] == "al"
    assert STATE_FIPS["11"] == "dc"
    assert STATE_FIPS["72"] == "pr"
    assert state_for_fips("06") == "ca"
    assert state_for_fips("6") == "ca"
    assert state_for_fips(" 56 ") == "wy"
    assert state_for_fips("72") == "pr"
    for bad in ("03", "07", "99", "", "006", "ca", "6a", "٠٦"):
        assert state_for_fips(bad) is None
    assert state_for_fips(cast(Any, 6)) is None


def test_puerto_rico_has_no_legislature_data() -> None:
    assert "pr" not in supported_states()
    assert census_geoids("pr", "lower") == ()
    assert divisions_for_census_district("upper", "72001") == []


# --- the data files themselves ---------------------------------------------------------------


def test_one_data_file_per_jurisdiction() -> None:
    assert list(supported_states()) == ALL_JURISDICTIONS
    files = sorted(p.name for p in DATA_DIR.iterdir())
    assert files == sorted([f"{s}.yaml" for s in ALL_JURISDICTIONS] + ["SOURCES.md"])


@pytest.mark.parametrize("state", ALL_JURISDICTIONS)
def test_every_known_census_code_maps(state: str) -> None:
    for layer in ("upper", "lower"):
        geoids = census_geoids(state, cast(Any, layer))
        assert len(set(geoids)) == len(geoids)
        primaries = set()
        for geoid in geoids:
            assert geoid[:2] == FIPS[state]
            assert re.fullmatch(r"[0-9A-Z-]{3}", geoid[2:])
            result = divisions_for_census_district(cast(Any, layer), geoid)
            assert result, geoid
            assert all(d.state == state for d in result)
            assert len(set(result)) == len(result)
            assert result[0].division_id not in primaries  # one Census district per district
            primaries.add(result[0].division_id)


@pytest.fixture
def scratch_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point the module at an empty data folder; restore its cache afterwards."""
    monkeypatch.setattr(divisions_module, "DATA_DIR", tmp_path)
    divisions_module._load_state.cache_clear()
    yield tmp_path
    divisions_module._load_state.cache_clear()


GOOD_FILE = """\
state: ca
fips: "06"
division_prefix: "ocd-division/country:us/state:ca"
layers:
  upper: {chamber: upper, ocd_type: sldu, rule: numeric, districts: {first: 1, last: 2}}
  lower: {rule: none}
"""


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("rule: numeric", "rule: roman", "unknown rule"),
        ("chamber: upper", "chamber: senate", "unknown chamber"),
        ('fips: "06"', 'fips: "07"', "expected state"),
        ("last: 2", "last: 0", "first <= last"),
        ("{rule: none}", "{rule: none}\n  extra_layer: {rule: none}", "exactly"),
        (
            "last: 2}}",
            "last: 2}, extra: [{district: X, slug: x, codes: ['009']}]}",
            "covers unknown",
        ),
        ("districts: {first: 1, last: 2}", 'districts: ["1", "01"]', "bad district number"),
        ("districts: {first: 1, last: 2}", "districts: [1, 1]", "listed twice"),
    ],
)
def test_malformed_data_is_rejected(scratch_data: Path, old: str, new: str, message: str) -> None:
    (scratch_data / "ca.yaml").write_text(GOOD_FILE.replace(old, new), encoding="utf-8")
    with pytest.raises(DivisionDataError, match=message):
        divisions_for_census_district("upper", "06001")


def test_scratch_data_file_is_read(scratch_data: Path) -> None:
    (scratch_data / "ca.yaml").write_text(GOOD_FILE, encoding="utf-8")
    assert [d.district for d in divisions_for_census_district("upper", "06002")] == ["2"]
    assert divisions_for_census_district("upper", "06003") == []
    assert divisions_for_census_district("lower", "06001") == []
    assert supported_states() == ("ca",)


# --- every row of districts.csv ----------------------------------------------------------------


@pytest.fixture(scope="module")
def districts_rows() -> list[dict[str, str]]:
    if not DISTRICTS_CSV.is_file():
        pytest.skip(f"shared reference data not found: {DISTRICTS_CSV}")
    with DISTRICTS_CSV.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def all_produced() -> dict[tuple[str, str, str, str], set[str]]:
    """(state, chamber, division_id, district) -> the GEOIDs that produce it."""
    produced: dict[tuple[str, str, str, str], set[str]] = defaultdict(set)
    for state in supported_states():
        for layer in ("upper", "lower"):
            for geoid in census_geoids(state, cast(Any, layer)):
                for d in divisions_for_census_district(cast(Any, layer), geoid):
                    produced[(d.state, d.chamber, d.division_id, d.district)].add(geoid)
    return produced


@pytest.mark.shared
def test_districts_csv_is_the_expected_file(districts_rows: list[dict[str, str]]) -> None:
    assert len(districts_rows) == 6861
    assert set(districts_rows[0]) == {"state", "chamber", "district", "division_id", "num_seats"}


@pytest.mark.shared
def test_every_districts_csv_division_is_produced(districts_rows: list[dict[str, str]]) -> None:
    wanted = {
        (r["state"].lower(), r["chamber"], r["division_id"], r["district"])
        for r in districts_rows
        if r["division_id"] not in ME_TRIBAL
    }
    assert len(wanted) == 6861 - 2
    missing = sorted(wanted - set(all_produced()))
    assert missing == []


@pytest.mark.shared
def test_no_division_is_invented(districts_rows: list[dict[str, str]]) -> None:
    known = {
        (r["state"].lower(), r["chamber"], r["division_id"], r["district"]) for r in districts_rows
    }
    invented = sorted(set(all_produced()) - known)
    assert invented == []


@pytest.mark.shared
def test_numeric_table_matches_districts_csv(districts_rows: list[dict[str, str]]) -> None:
    """The hand-typed NUMERIC counts above are districts.csv's."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for r in districts_rows:
        counts[(r["state"].lower(), r["chamber"])] += 1
    for state, (upper, lower) in NUMERIC.items():
        if upper is not None:
            assert counts[(state, "legislature" if state == "ne" else "upper")] == upper, state
        if lower is not None:
            assert counts[(state, "lower")] == lower + (2 if state == "me" else 0), state


@pytest.mark.shared
def test_nh_floterials_are_consistent(districts_rows: list[dict[str, str]]) -> None:
    seats = {
        r["district"]: int(r["num_seats"])
        for r in districts_rows
        if r["state"] == "NH" and r["chamber"] == "lower"
    }
    assert len(seats) == 203
    base: set[str] = set()
    floterial_bases: dict[str, list[str]] = defaultdict(list)
    for geoid in census_geoids("nh", "lower"):
        first, *extra = divisions_for_census_district("lower", geoid)
        base.add(first.district)
        assert len(extra) <= 1, geoid  # a base district is in at most one floterial
        for d in extra:
            floterial_bases[d.district].append(first.district)
    assert len(base) == 164
    assert len(floterial_bases) == 39
    assert base.isdisjoint(floterial_bases)
    assert base | set(floterial_bases) == set(seats)
    for floterial, bases in floterial_bases.items():
        assert len(bases) >= 2, floterial
        county = floterial.rsplit(" ", 1)[0]
        assert all(b.rsplit(" ", 1)[0] == county for b in bases), floterial
    assert sum(seats[d] for d in base) == 342
    assert sum(seats[d] for d in floterial_bases) == 58
