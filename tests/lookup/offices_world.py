"""New Hampshire's made-up people (tests/lookup/people.py) in Open States' YAML, with two
committees and the state's executive officials, and a campaign that writes to a committee's
chair and vice chair and to the visitor's governor."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from advocacy.lookup.directory import StateSyncResult, sync_states
from advocacy.lookup.openstates import people_source
from tests.lookup.people import ROSTERS
from tests.lookup.yaml_people import committee, official, person, write_repo

SAM, ADA, BEN, CY, DI, ED = ROSTERS["nh"]
# House Judiciary: Ben Birch chairs it, Cy Cedar is vice chair (both sit for the Nashua
# address of tests/actions/helpers.py), Di Dogwood and a member the file names only.
HOUSE_JUDICIARY = committee(
    "nh",
    "Judiciary",
    "lower",
    [(BEN, "chair"), (CY, "vice chair"), (DI, "member"), ("Pat Nobody", "member")],
)
SENATE_JUDICIARY = committee("nh", "Judiciary", "upper", [(SAM, "chair")])
GOVERNOR = official("nh", "Kelly", "Ayres", email="governor@nh.example.gov")
FORMER_GOVERNOR = official("nh", "Chris", "Oldham", start="2017-01-05", end="2025-01-02")
ATTORNEY_GENERAL = official(
    "nh",
    "Jo",
    "Formby",
    "attorney general",
    start="2021-03-24",
    end="2029-03-31",
    phone="555-0160",
    address="1 Granite Place South; Concord, NH 03301",
)
LIEUTENANT = official("nh", "Lee", "Lamb", "lt_governor", email="lt@nh.example.gov")


def nh_people(**replaced: dict[str, Any]) -> list[dict[str, Any]]:
    """New Hampshire's legislators as person files (``replaced``: by family name)."""
    return [replaced.get(row.family, person("nh", row)) for row in ROSTERS["nh"]]


def write_nh_repo(
    root: Path,
    *,
    people: list[dict[str, Any]] | None = None,
    committees: list[dict[str, Any]] | None = None,
    executives: list[dict[str, Any]] | None = None,
) -> Path:
    """The repository folder with New Hampshire only (files of an earlier call replaced)."""
    for folder in ("legislature", "committees", "executive"):
        for old in (root / "data" / "nh" / folder).glob("*.yml"):
            old.unlink()
    return write_repo(
        root,
        {"nh": people if people is not None else nh_people()},
        committees={"nh": committees or [HOUSE_JUDICIARY, SENATE_JUDICIARY]},
        executives={"nh": executives or [GOVERNOR, FORMER_GOVERNOR, ATTORNEY_GENERAL, LIEUTENANT]},
    )


def sync_nh(
    root: Path, today: date | None = None, *, replace: bool = False, **files: Any
) -> StateSyncResult:
    """Load the repository folder's New Hampshire (``replace``: whoever was loaded before,
    e.g. the browser tests' people)."""
    write_nh_repo(root, **files)
    [result] = sync_states(
        people_source(str(root)), ["nh"], today=today, accept_large_change=replace
    )
    assert result.ok, result.error
    return result


CAMPAIGN = """\
slug: judiciary-and-governor
title: Ask the Judiciary committee and the Governor
summary: The House Judiciary Committee decides whether the bill gets a hearing.
status: live
targets:
  - type: committee
    state: NH
    chamber: lower
    committee: judiciary
    roles: [chair, vice chair]
  - type: executive
    office: governor
    message:
      subject: "A request to the Governor from {{ constituent.city }}"
      body: |
        Dear {{ target.salutation }},

        Please support the bill when it reaches your desk.

        {{ constituent.name }}
        {{ constituent.city }}, {{ constituent.state }}
message:
  subject: "Please give the bill a hearing"
  mode: editable
  body: |
    Dear {{ target.salutation }},

    As {{ target.organisation }}'s leadership, please schedule a hearing.

    {{ constituent.name }}
    {{ constituent.city }}, {{ constituent.state }}
call_script: |
  Hello, my name is {{ constituent.name }}. I am calling {{ target.salutation }} about the
  bill before the {{ target.district }} committee.
"""


def write_campaign(
    folder: Path, text: str = CAMPAIGN, slug: str = "judiciary-and-governor"
) -> Path:
    path = folder / f"{slug}.yaml"
    path.write_text(text, encoding="utf-8")
    return path
