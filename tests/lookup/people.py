"""Build Open States bulk-CSV files (exact published header) with made-up people for tests."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from pathlib import Path

from advocacy.lookup.registry import districts_for_state

HEADER = (
    "id,name,current_party,current_district,current_chamber,given_name,family_name,gender,email,"
    "biography,birth_date,death_date,image,links,sources,capitol_address,capitol_voice,capitol_fax,"
    "district_address,district_voice,district_fax,twitter,youtube,instagram,facebook,wikidata"
).split(",")


@dataclass(frozen=True)
class Row:
    chamber: str
    district: str
    given: str
    family: str
    party: str = "Independent"
    email: str | None = None
    phone: str = "555-0100"
    address: str = "State House; Capitol City"  # "": no postal address
    image: str = ""  # the photo's URL
    gender: str = ""  # as Open States records it: "Female", "Male" or nothing

    @property
    def person_id(self) -> str:
        seed = f"{self.chamber}|{self.district}|{self.given}|{self.family}"
        return f"ocd-person/{uuid.uuid5(uuid.NAMESPACE_URL, seed)}"

    @property
    def name(self) -> str:
        return f"{self.given} {self.family}"


def people_csv(rows: list[Row], columns: list[str] | None = None) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns or HEADER, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                "id": row.person_id,
                "name": row.name,
                "current_party": row.party,
                "current_district": row.district,
                "current_chamber": row.chamber,
                "given_name": row.given,
                "family_name": row.family,
                "gender": row.gender,
                "email": row.email
                if row.email is not None
                else f"{row.given.lower()}@leg.example.gov",
                "capitol_address": row.address,
                "capitol_voice": row.phone,
                "links": "https://leg.example.gov/a;https://leg.example.gov/b",
                "image": row.image,
            }
        )
    return out.getvalue()


def write_state(
    folder: Path, state: str, rows: list[Row], columns: list[str] | None = None
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{state}.csv").write_text(people_csv(rows, columns), encoding="utf-8")


def full_legislature(state: str) -> list[Row]:
    """Made-up people for every seat of the registry: a complete legislature."""
    return [
        Row(d.chamber, d.district, f"Given{d.district}x{seat}", f"Family{i}x{seat}")
        for i, d in enumerate(districts_for_state(state))
        for seat in range(d.seats)
    ]


ROSTERS: dict[str, list[Row]] = {
    "nh": [
        Row("upper", "15", "Sam", "Senator", gender="Female"),
        Row("lower", "Hillsborough 23", "Ada", "Alder"),
        Row("lower", "Hillsborough 23", "Ben", "Birch"),
        Row("lower", "Hillsborough 40", "Cy", "Cedar"),
        Row("lower", "Hillsborough 40", "Di", "Dogwood"),
        Row("lower", "Hillsborough 40", "Ed", "Elm"),  # 4 seats, 3 members: one vacancy
    ],
    "mn": [
        Row("upper", "12", "Mia", "Maple"),
        Row("lower", "12A", "Ned", "Nettle"),
        Row("lower", "12B", "Olga", "Oak"),
    ],
    "ne": [Row("legislature", "12", "Pat", "Pine", party="Nonpartisan")],
    "dc": [
        Row("legislature", "Ward 3", "Quinn", "Quince"),
        Row("legislature", "Chairman", "Rae", "Rowan"),
        Row("legislature", "At-Large", "Sol", "Spruce"),
        Row("legislature", "At-Large", "Tess", "Teak"),
    ],
    "wa": [
        Row("upper", "37", "Uma", "Umber"),
        Row("lower", "37", "Vic", "Vine"),
        Row("lower", "37", "Wen", "Willow"),
    ],
    "ak": [Row("upper", "R", "Xia", "Yew"), Row("lower", "40", "Yuri", "Yarrow")],
    "ma": [
        Row("upper", "Berkshire, Hampden, Franklin and Hampshire", "Zoe", "Zelkova"),
        Row("lower", "1st Berkshire", "Al", "Ash", email=""),
    ],
    "vt": [
        Row("upper", "Chittenden North", "Bo", "Box"),
        Row("upper", "Chittenden North", "Cal", "Cork"),
        Row("lower", "Grand Isle-Chittenden", "Dee", "Dune"),
    ],
}


def write_all(folder: Path) -> None:
    for state, rows in ROSTERS.items():
        write_state(folder, state, rows)
