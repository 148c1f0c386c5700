"""Build Open States' people repository for tests: person files in its YAML layout
(``data/{abbr}/legislature/*.yml``), a folder of them, and its archive as GitHub serves it."""

from __future__ import annotations

import io
import tarfile
import uuid
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from tests.lookup.people import ROSTERS, Row

TOP = "openstates-people-1a2b3c4"
TERM_START = date(2025, 1, 8)


def jurisdiction(state: str) -> str:
    if state == "dc":
        return "ocd-jurisdiction/country:us/district:dc/government"
    return f"ocd-jurisdiction/country:us/state:{state}/government"


def role(
    state: str,
    chamber: str,
    district: str,
    start: date | str | None = TERM_START,
    end: date | str | None = None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    if start is not None:
        entry["start_date"] = start
    if end is not None:
        entry["end_date"] = end
    entry.update(type=chamber, jurisdiction=jurisdiction(state), district=district)
    return entry


def person(
    state: str,
    row: Row,
    *,
    roles: list[dict[str, Any]] | None = None,
    offices: list[dict[str, str]] | None = None,
    extras: dict[str, str] | None = None,
    party: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A person file's content; by default one current role and a capitol office with the
    row's address and phone."""
    doc: dict[str, Any] = {
        "id": row.person_id,
        "name": row.name,
        "given_name": row.given,
        "family_name": row.family,
        "gender": "Female",
    }
    email = row.email if row.email is not None else f"{row.given.lower()}@leg.example.gov"
    if email:
        doc["email"] = email
    doc["image"] = f"https://leg.example.gov/photos/{row.family.lower()}.jpg"
    doc["party"] = party if party is not None else [{"name": row.party}]
    doc["roles"] = roles if roles is not None else [role(state, row.chamber, row.district)]
    if offices is None:
        capitol = {"classification": "capitol"}
        if row.address:
            capitol["address"] = row.address
        if row.phone:
            capitol["voice"] = row.phone
        offices = [capitol] if len(capitol) > 1 else []
    if offices:
        doc["offices"] = offices
    doc["links"] = [{"url": f"https://leg.example.gov/members/{row.family.lower()}"}]
    doc["sources"] = [{"url": "https://leg.example.gov/members"}]
    if extras:
        doc["extras"] = extras
    return doc


def _uuid(seed: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, seed))


def committee(
    state: str,
    name: str,
    chamber: str,
    members: list[tuple[Row | str, str]],
) -> dict[str, Any]:
    """A committee file's content as Open States writes it: each member by their person's
    row (name and person_id) or, as a few files do, by name only, with their role."""
    listed: list[dict[str, str]] = []
    for who, member_role in members:
        if isinstance(who, Row):
            listed.append({"name": who.name, "role": member_role, "person_id": who.person_id})
        else:
            listed.append({"name": who, "role": member_role})
    slug = name.replace(" ", "-")
    return {
        "id": f"ocd-organization/{_uuid(f'{state}|{chamber}|{name}')}",
        "jurisdiction": jurisdiction(state),
        "classification": "committee",
        "name": name,
        "chamber": chamber,
        "sources": [{"url": f"https://leg.example.gov/committees/{slug}"}],
        "links": [{"url": f"https://leg.example.gov/committees/{slug}"}],
        "members": listed,
        "other_names": [{"name": f"Committee on {name}"}],
    }


def empty_committee(state: str) -> dict[str, Any]:
    return committee(state, "Finance", "lower", [])


def committee_file_name(doc: dict[str, Any]) -> str:
    return f"{doc['chamber']}-{doc['name'].replace(' ', '-')}-{doc['id'].split('/')[-1]}.yml"


def official(
    state: str,
    given: str,
    family: str,
    office: str = "governor",
    *,
    start: date | str | None = "2025-01-09",
    end: date | str | None = "2029-01-04",
    email: str | None = None,
    phone: str | None = "555-0150",
    address: str = "Office of the Governor; State House; Capitol City",
) -> dict[str, Any]:
    """An executive file's content as Open States writes it (``office`` is its role type,
    e.g. governor, lt_governor, attorney general)."""
    role: dict[str, Any] = {}
    if start is not None:
        role["start_date"] = str(start)
    if end is not None:
        role["end_date"] = str(end)
    role.update(type=office, jurisdiction=jurisdiction(state))
    doc: dict[str, Any] = {
        "id": f"ocd-person/{_uuid(f'{state}|{office}|{given}|{family}')}",
        "name": f"{given} {family}",
        "given_name": given,
        "family_name": family,
    }
    if email:
        doc["email"] = email
    doc["image"] = f"https://gov.example.gov/{family.lower()}.png"
    doc["party"] = [{"name": "Independent"}]
    doc["roles"] = [role]
    capitol: dict[str, str] = {"classification": "capitol", "address": address}
    if phone:
        capitol["voice"] = phone
    doc["offices"] = [capitol]
    doc["links"] = [{"url": "https://gov.example.gov/"}]
    doc["sources"] = [{"url": "https://gov.example.gov/"}]
    return doc


def file_name(doc: dict[str, Any]) -> str:
    return f"{doc['name'].replace(' ', '-')}-{doc['id'].split('/')[-1]}.yml"


def repo_files(
    people: dict[str, list[dict[str, Any]]],
    settings: str | None = None,
    committees: dict[str, list[dict[str, Any]]] | None = None,
    executives: dict[str, list[dict[str, Any]]] | None = None,
) -> dict[str, bytes]:
    """Paths (under the repository's top folder) and contents, with committee and executive
    files per state as in the real repository (by default an empty Finance committee and a
    governor)."""
    files: dict[str, bytes] = {"LICENSE": b"CC0 1.0 Universal\n"}
    for state, docs in people.items():
        for doc in docs:
            text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
            files[f"data/{state}/legislature/{file_name(doc)}"] = text.encode("utf-8")
        for doc in (committees or {}).get(state) or [empty_committee(state)]:
            text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
            files[f"data/{state}/committees/{committee_file_name(doc)}"] = text.encode("utf-8")
        for doc in (executives or {}).get(state) or [official(state, "A", "Governor")]:
            text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
            files[f"data/{state}/executive/{file_name(doc)}"] = text.encode("utf-8")
    if settings is not None:
        files["settings.yml"] = settings.encode("utf-8")
    return files


def write_repo(
    root: Path,
    people: dict[str, list[dict[str, Any]]],
    settings: str | None = None,
    committees: dict[str, list[dict[str, Any]]] | None = None,
    executives: dict[str, list[dict[str, Any]]] | None = None,
) -> Path:
    for path, content in repo_files(people, settings, committees, executives).items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return root


def archive(
    people: dict[str, list[dict[str, Any]]],
    settings: str | None = None,
    top: str = TOP,
    committees: dict[str, list[dict[str, Any]]] | None = None,
    executives: dict[str, list[dict[str, Any]]] | None = None,
) -> bytes:
    """The repository as ``git archive`` writes it: a global header naming the commit, then
    folders and files in path order under one top folder, gzipped."""
    files = repo_files(people, settings, committees, executives)
    folders = {
        "/".join(path.split("/")[:depth])
        for path in files
        for depth in range(1, path.count("/") + 1)
    }
    entries = sorted([(path, None) for path in folders] + list(files.items()))
    out = io.BytesIO()
    with tarfile.open(
        fileobj=out,
        mode="w:gz",
        format=tarfile.PAX_FORMAT,
        pax_headers={"comment": "1a2b3c4d5e6f708192a3b4c5d6e7f80912a3b4c5"},
    ) as tar:
        top_info = tarfile.TarInfo(top)
        top_info.type = tarfile.DIRTYPE
        top_info.mode = 0o775
        tar.addfile(top_info)
        for path, content in entries:
            info = tarfile.TarInfo(f"{top}/{path}")
            if content is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o775
                tar.addfile(info)
            else:
                info.size = len(content)
                info.mode = 0o664
                tar.addfile(info, io.BytesIO(content))
    return out.getvalue()


def write_nh(root: Path, docs: list[dict[str, Any]]) -> Path:
    folder = root / "data" / "nh" / "legislature"
    if folder.exists():
        for old in folder.glob("*.yml"):
            old.unlink()
    return write_repo(root, {"nh": docs})


def after_the_election(fay_starts: date) -> list[dict[str, Any]]:
    """New Hampshire's roster again: Ada Alder gone, Gil Gale in her seat, Fay Fir elected
    (sworn in on ``fay_starts``), Ben Birch moved district, Sam Senator a new email, Cy Cedar a new
    party, Di Dogwood a new capitol phone."""
    sam, ada, ben, cy, di, ed = ROSTERS["nh"]
    gil = Row("lower", "Hillsborough 23", "Gil", "Gale")
    fay = Row("lower", "Hillsborough 23", "Fay", "Fir", party="Democratic")
    return [
        person("nh", replace(sam, email="sam.senator@leg.example.gov")),
        person("nh", ben, roles=[role("nh", "lower", "Hillsborough 40")]),
        person("nh", replace(cy, party="Republican")),
        person("nh", replace(di, phone="603-271-3661")),
        person("nh", ed),
        person("nh", gil),
        person("nh", fay, roles=[role("nh", "lower", "Hillsborough 23", start=fay_starts)]),
    ]
