"""Open States adapters: the people repository's YAML (keyless, the default: legislators, their
committees and each state's executive officials), the bulk people CSVs (keyless), the vacancy
list, and the optional v3 API.

This module is the only code that knows those URLs, file layouts and column names.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import logging
import re
import tarfile
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol

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


def holds_on(starts_on: date | None, ends_on: date | None, day: date) -> bool:
    """Open States' rule for a role held on ``day``: begun, and its end date still ahead (so on
    the day one term ends and the next begins, the seat has one holder)."""
    return (starts_on is None or starts_on <= day) and (ends_on is None or day < ends_on)


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
    extra_phone: str = ""
    # The seat's role: its first day and the day it ends (None: not given).
    starts_on: date | None = None
    ends_on: date | None = None
    # As Open States records it ("Female", "Male"; often empty): how a Spanish letter words
    # their title (``titles``), never guessed from a name.
    gender: str = ""

    def holds_seat_on(self, day: date) -> bool:
        return holds_on(self.starts_on, self.ends_on, day)

    def contact_fields(self) -> dict[str, str]:
        return {
            "chamber": self.chamber,
            "district": self.district,
            "email": self.email,
            "capitol_phone": self.capitol_phone,
            "district_phone": self.district_phone,
            "extra_phone": self.extra_phone,
            "party": self.party,
            "name": self.name,
        }


@dataclass(frozen=True)
class MemberRecord:
    name: str
    role: str  # as Open States writes it, lower case: "chair", "vice chair", "member", ...
    person_id: str  # "" when the file names the member only


@dataclass(frozen=True)
class CommitteeRecord:
    id: str  # ocd-organization/...
    name: str
    # upper | lower | legislature (a joint committee, or Nebraska's and DC's single chamber)
    chamber: str
    members: tuple[MemberRecord, ...]


@dataclass(frozen=True)
class OfficialRecord:
    """A state executive official (governor, attorney general, ...) in the office they hold on
    the day read (or, failing that, the next one they will hold)."""

    id: str
    name: str
    given_name: str
    family_name: str
    party: str
    office: str  # one of OFFICES, or Open States' own word for another office
    email: str
    phone: str
    address: str
    image: str
    starts_on: date | None = None
    ends_on: date | None = None
    gender: str = ""  # as Open States records it (see ``Person``)

    def holds_office_on(self, day: date) -> bool:
        return holds_on(self.starts_on, self.ends_on, day)


@dataclass(frozen=True)
class Roster:
    """One state's people as a source read them."""

    state: str
    people: list[Person]
    digest: str  # of what they were read from
    location: str  # where, as staff are shown it
    # The state's committees and executive officials; None when the source has none to give
    # (the bulk CSVs) or they could not be read (``warnings`` says why): the previous stay.
    committees: list[CommitteeRecord] | None = None
    officials: list[OfficialRecord] | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class RosterFailure:
    state: str
    error: str


class PeopleSource(Protocol):
    location: str

    def rosters(self, states: Sequence[str], today: date) -> Iterator[Roster | RosterFailure]:
        """Each of ``states`` once, as a roster or a failure, in the source's own order."""
        ...

    def fetch_vacancies(self) -> dict[str, list[VacancyRecord]] | None:
        """Open States' vacancy list, or None when it cannot be had."""
        ...


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
                    gender=cell("gender"),
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
    current: int, state: str, seats: int, previous: int, min_share: float = MIN_SEAT_SHARE
) -> str | None:
    """Refuse a roster whose ``current`` legislators (holding a seat today) are well short of
    the seats and fewer than the ``previous`` roster's; return a warning when a first (or not
    shrinking) load is that short."""
    if seats <= 0 or current >= min_share * seats:
        return None
    shortfall = (
        f"{state}: the roster lists {current} current legislators for {seats} seats "
        f"(under {min_share:.0%})"
    )
    if current < previous:
        raise SourceError(
            f"{shortfall}; it looks truncated and would drop {previous - current} of the "
            f"{previous} people loaded now"
        )
    return f"{shortfall}; loaded, but check the source is complete"


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
        self.location = self.base
        self.timeout = timeout
        self.vacancies_url = vacancies_url
        self.session = session or requests.Session()

    @property
    def is_local(self) -> bool:
        return not _is_url(self.base)

    def describe(self, state: str) -> str:
        return f"{self.base}/{state}.csv"

    def _read(self, location: str) -> str:
        if self.is_local:
            try:
                return Path(location).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise SourceError(f"cannot read {location}: {exc}") from exc
        response = _get(self.session, location, self.timeout)
        response.encoding = "utf-8"
        return response.text

    def fetch_text(self, state: str) -> str:
        return self._read(self.describe(state))

    def rosters(self, states: Sequence[str], today: date) -> Iterator[Roster | RosterFailure]:
        for state in states:
            try:
                text = self.fetch_text(state)
                people = parse_people_csv(text, state)
            except SourceError as exc:
                yield RosterFailure(state, str(exc))
                continue
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
            yield Roster(state, people, digest, self.describe(state))

    def fetch_vacancies(self) -> dict[str, list[VacancyRecord]] | None:
        """The vacancy list, or None when it cannot be had (the previous list then stays).
        A local copy keeps settings.yml beside the CSVs or one folder up."""
        if self.is_local:
            folder = Path(self.base)
            return _read_vacancies([folder / "settings.yml", folder.parent / "settings.yml"])
        return _download_vacancies(self.session, self.vacancies_url, self.timeout)


# -- the people repository's YAML -------------------------------------------------------------

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz")
# No person file comes near this; a bigger one is not what we expect.
MAX_PERSON_FILE_BYTES = 1_000_000
# Extras that hold a legislature's own office line (home and cell numbers are left out).
EXTRA_PHONE_KEYS = (
    "extra phone",
    "capitol phone",
    "toll_free_phone",
    "second phone",
    "additional phone 1",
)
_CAPITOL_OFFICES = ("capitol", "capitol-mail")
_DISTRICT_OFFICES = ("district", "district-mail")

CHUNK_BYTES = 64 * 1024
StateFiles = list[tuple[str, bytes]]  # (file name, content), in name order
# The folders of a state read from the repository, in the archive's (alphabetical) order.
STATE_FOLDERS = ("committees", "executive", "legislature")
# Executive offices by the names campaigns use; Open States writes the second as lt_governor.
OFFICES = (
    "governor",
    "lieutenant governor",
    "attorney general",
    "secretary of state",
    "treasurer",
    "auditor",
    "chief election officer",
)
_OFFICE_NAMES = {"lt_governor": "lieutenant governor"}
_OFFICIAL_OFFICES = ("capitol", "capitol-mail", "primary", "district", "district-mail")


class _Chunks(io.RawIOBase):
    """A download's chunks as a file that tarfile can read as a stream."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = chunk
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


class PeopleRepoSource:
    """Reads ``data/{abbr}/legislature/*.yml`` of Open States' people repository, with the
    state's ``committees/`` and ``executive/`` files: from its archive (a ``.tar.gz`` URL or
    file, read as a stream, one state's files in memory at a time) or from a folder holding its
    ``data/`` folder (a clone, or the archive unpacked)."""

    def __init__(
        self,
        location: str,
        timeout: float = 30.0,
        vacancies_url: str | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.location = location
        self.timeout = timeout
        self.vacancies_url = vacancies_url
        self.session = session or requests.Session()

    @property
    def is_local(self) -> bool:
        return not _is_url(self.location)

    @property
    def is_archive(self) -> bool:
        return is_archive(self.location)

    def rosters(self, states: Sequence[str], today: date) -> Iterator[Roster | RosterFailure]:
        """The chosen states in the archive's (alphabetical) order; those it lacks, or that a
        broken download never reached, as failures at the end."""
        read: set[str] = set()
        problem = None
        try:
            for state, folders in self._state_files(set(states)):
                read.add(state)
                try:
                    people = parse_people_yaml(folders["legislature"], state, today)
                except SourceError as exc:
                    yield RosterFailure(state, str(exc))
                    continue
                digest = hashlib.sha256()
                for folder in STATE_FOLDERS:
                    for name, content in folders[folder]:
                        digest.update(f"{folder}/{name}".encode() + b"\0" + content + b"\0")
                location = f"{self.location} (data/{state}/legislature)"
                committees, officials, warnings = _state_offices(folders, state, today)
                yield Roster(
                    state,
                    people,
                    digest.hexdigest(),
                    location,
                    committees=committees,
                    officials=officials,
                    warnings=tuple(warnings),
                )
        except SourceError as exc:
            problem = str(exc)
        for state in states:
            if state not in read:
                yield RosterFailure(
                    state, problem or f"{self.location} has no data/{state}/legislature folder"
                )

    def _state_files(self, wanted: set[str]) -> Iterator[tuple[str, dict[str, StateFiles]]]:
        if not self.is_archive:
            yield from _folder_state_files(self._root(), wanted)
            return
        if self.is_local:
            try:
                stream = open(self.location, "rb")
            except OSError as exc:
                raise SourceError(f"cannot read {self.location}: {exc}") from exc
            with stream:
                yield from _archive_state_files(stream, wanted, self.location)
            return
        response = _get(self.session, self.location, self.timeout, stream=True)
        with response:
            download = io.BufferedReader(_Chunks(response.iter_content(CHUNK_BYTES)))
            yield from _archive_state_files(download, wanted, self.location)

    def _root(self) -> Path:
        """The folder holding ``data/``: the one given, or the one folder inside it."""
        folder = Path(self.location)
        if (folder / "data").is_dir():
            return folder
        inside = [child for child in folder.iterdir() if (child / "data").is_dir()]
        if len(inside) == 1:
            return inside[0]
        raise SourceError(f"{self.location} holds no data/ folder of Open States' people")

    def fetch_vacancies(self) -> dict[str, list[VacancyRecord]] | None:
        """The vacancy list, or None when it cannot be had (the previous list then stays).
        A folder has its own settings.yml; a local archive keeps it beside itself."""
        if not self.is_local:
            return _download_vacancies(self.session, self.vacancies_url, self.timeout)
        if self.is_archive:
            here = Path(self.location).parent
            return _read_vacancies([here / "settings.yml", here.parent / "settings.yml"])
        try:
            root = self._root()
        except (SourceError, OSError):
            return None
        return _read_vacancies([root / "settings.yml"])


def is_archive(location: str) -> bool:
    path = location.split("?", 1)[0].lower()
    return path.endswith(ARCHIVE_SUFFIXES)


def people_source(
    location: str,
    timeout: float = 30.0,
    vacancies_url: str | None = None,
    session: requests.Session | None = None,
) -> PeopleSource:
    """The source ``location`` names: the people repository's YAML for a ``.tar.gz`` archive
    (URL or file) or a folder holding its ``data/`` folder; otherwise the bulk CSVs, as the
    base URL or folder of ``{abbr}.csv``."""
    kind: type[PeopleRepoSource] | type[BulkPeopleSource] = BulkPeopleSource
    if is_archive(location):
        kind = PeopleRepoSource
    elif not _is_url(location):
        folder = Path(location)
        if (folder / "data").is_dir() or (
            folder.is_dir() and any((child / "data").is_dir() for child in folder.iterdir())
        ):
            kind = PeopleRepoSource
    return kind(location, timeout=timeout, vacancies_url=vacancies_url, session=session)


def _folder_state_files(
    root: Path, wanted: set[str]
) -> Iterator[tuple[str, dict[str, StateFiles]]]:
    for state in sorted(wanted):
        if not (root / "data" / state / "legislature").is_dir():
            continue  # reported as missing
        folders: dict[str, StateFiles] = {}
        for name in STATE_FOLDERS:
            folder = root / "data" / state / name
            try:
                folders[name] = [
                    (path.name, path.read_bytes()) for path in sorted(folder.glob("*.yml"))
                ]
            except OSError as exc:
                raise SourceError(f"cannot read {folder}: {exc}") from exc
        yield state, folders


def _archive_state_files(
    stream: BinaryIO, wanted: set[str], location: str
) -> Iterator[tuple[str, dict[str, StateFiles]]]:
    """Each wanted state's files (by folder: legislature, committees, executive), read from a
    tar.gz stream in one pass; a state with no legislature folder is left out.

    The repository's archive lists paths in order, so a state's files are all read when the
    next state's first entry appears; an archive listing a state twice is refused. The last
    state is given only once the whole archive has been checked."""
    current: str | None = None
    folders: dict[str, StateFiles] = {}
    finished: set[str] = set()

    def complete(state: str) -> bool:
        return state in wanted and "legislature" in folders

    try:
        with (
            gzip.GzipFile(fileobj=stream, mode="rb") as unzipped,
            tarfile.open(fileobj=unzipped, mode="r|") as archive,
        ):
            for member in archive:
                # {top folder}/data/{abbr}/{legislature|committees|executive}/{name}.yml
                parts = member.name.split("/")
                if len(parts) < 3 or parts[1] != "data" or not parts[2]:
                    continue
                state = parts[2]
                if state != current:
                    if current is not None:
                        finished.add(current)
                        if complete(current):
                            yield current, _all_folders(folders)
                    if state in finished:
                        raise SourceError(f"{location} lists data/{state} twice: not in order")
                    current, folders = state, {}
                if state not in wanted or len(parts) < 4 or parts[3] not in STATE_FOLDERS:
                    continue
                files = folders.setdefault(parts[3], [])
                if len(parts) != 5 or not parts[4].endswith(".yml") or not member.isfile():
                    continue
                if member.size > MAX_PERSON_FILE_BYTES:
                    raise SourceError(f"{location}: {member.name} is too big for a person file")
                content = archive.extractfile(member)
                if content is None:
                    continue
                files.append((parts[4], content.read()))
            # Read on to the last byte, so gzip checks the length and checksum of it all: an
            # archive cut short between two files is refused too.
            while unzipped.read(CHUNK_BYTES):
                pass
    # A download's errors are OSErrors too (requests.RequestException).
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise SourceError(
            f"{location} is incomplete or damaged ({type(exc).__name__}: {exc})"
        ) from exc
    if current is not None and complete(current):
        yield current, _all_folders(folders)


def _all_folders(folders: dict[str, StateFiles]) -> dict[str, StateFiles]:
    return {name: sorted(folders.get(name, [])) for name in STATE_FOLDERS}


def parse_people_yaml(files: StateFiles, state: str, today: date) -> list[Person]:
    """One state's person files as the people holding a seat on ``today`` or later; refuses
    files that are not what we expect."""
    people: list[Person] = []
    seen: set[str] = set()
    for name, content in files:
        try:
            data = _load_yaml(content)
        except yaml.YAMLError as exc:
            first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise SourceError(f"{state}: {name} is not valid YAML: {first_line}") from exc
        person = person_from_yaml(data, state, today, name)
        if person is None:
            continue
        if person.id in seen:
            raise SourceError(f"{state}: person {person.id} appears twice")
        seen.add(person.id)
        people.append(person)
    if not people:
        raise SourceError(f"{state}: no person file has a current or coming seat")
    return people


def _load_yaml(content: bytes) -> object:
    """PyYAML's safe loader, in its C build (libyaml) when installed: an archive holds
    thousands of files."""
    if hasattr(yaml, "CSafeLoader"):
        return yaml.load(content, Loader=yaml.CSafeLoader)
    return yaml.safe_load(content)


def person_from_yaml(data: object, state: str, today: date, name: str) -> Person | None:
    """A person file as the seat they hold on ``today`` (or, failing that, the next one they
    will hold); None when they hold none now or later."""
    if not isinstance(data, dict):
        raise SourceError(f"{state}: {name} is not a person's file")
    person_id, full_name, roles = _identity(data, state, name)
    seats = [role for role in roles if role.get("type") in CHAMBERS]
    chosen = _role_on(seats, today, state, name)
    if chosen is None:
        return None
    role, starts_on, ends_on = chosen
    district = _text(role.get("district"))
    if not district:
        raise SourceError(f"{state}: {name} has a seat with no district")
    offices = [office for office in data.get("offices") or [] if isinstance(office, dict)]
    capitol_phone = _office_value(offices, _CAPITOL_OFFICES, "voice")
    district_phone = _office_value(offices, _DISTRICT_OFFICES, "voice")
    extras = data.get("extras") if isinstance(data.get("extras"), dict) else {}
    extra_phone = _extra_phone(extras, {capitol_phone, district_phone})
    links = [_text(link.get("url")) for link in data.get("links") or [] if isinstance(link, dict)]
    return Person(
        id=person_id,
        name=full_name,
        given_name=_text(data.get("given_name")),
        family_name=_text(data.get("family_name")),
        gender=_text(data.get("gender")),
        party=_party(data.get("party"), max(today, starts_on or today), state, name),
        chamber=str(role["type"]),
        district=district,
        email=_text(data.get("email")),
        capitol_phone=capitol_phone,
        district_phone=district_phone,
        capitol_address=_office_value(offices, _CAPITOL_OFFICES, "address"),
        district_address=_office_value(offices, _DISTRICT_OFFICES, "address"),
        image=_text(data.get("image")),
        links=";".join(link for link in links if link),
        extra_phone=extra_phone,
        starts_on=starts_on,
        ends_on=ends_on,
    )


def _state_offices(
    folders: dict[str, StateFiles], state: str, today: date
) -> tuple[list[CommitteeRecord] | None, list[OfficialRecord] | None, list[str]]:
    """A state's committees and executive officials, each None (with a warning saying why)
    when its files are not what we expect: a legislator roster is not refused for them."""
    warnings = []
    committees: list[CommitteeRecord] | None = None
    officials: list[OfficialRecord] | None = None
    try:
        committees = parse_committees(folders["committees"], state)
    except SourceError as exc:
        warnings.append(f"committees not reloaded: {exc}")
    try:
        officials = parse_officials(folders["executive"], state, today)
    except SourceError as exc:
        warnings.append(f"executive officials not reloaded: {exc}")
    return committees, officials, warnings


def _yaml_file(content: bytes, state: str, name: str) -> dict[str, Any]:
    try:
        data = _load_yaml(content)
    except yaml.YAMLError as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SourceError(f"{state}: {name} is not valid YAML: {first_line}") from exc
    if not isinstance(data, dict):
        raise SourceError(f"{state}: {name} is not a mapping")
    return data


def parse_committees(files: StateFiles, state: str) -> list[CommitteeRecord]:
    """One state's ``committees/*.yml``: each committee with its members in the file's order
    (subcommittees and other kinds of organisation are left out)."""
    committees: list[CommitteeRecord] = []
    seen: set[str] = set()
    for name, content in files:
        data = _yaml_file(content, state, f"committees/{name}")
        if _text(data.get("classification") or "committee") != "committee":
            continue
        committee_id = _text(data.get("id"))
        title = _text(data.get("name"))
        chamber = _text(data.get("chamber"))
        if not committee_id.startswith("ocd-organization/"):
            raise SourceError(f"{state}: committees/{name} has no Open States organization id")
        if not title:
            raise SourceError(f"{state}: committees/{name} has no name")
        if chamber not in CHAMBERS:
            raise SourceError(f"{state}: committees/{name}: unknown chamber {chamber!r}")
        if committee_id in seen:
            raise SourceError(f"{state}: committee {committee_id} appears twice")
        seen.add(committee_id)
        members = []
        listed = data.get("members") or []
        if not isinstance(listed, list):
            raise SourceError(f"{state}: committees/{name}: members is not a list")
        for entry in listed:
            if not isinstance(entry, dict) or not _text(entry.get("name")):
                continue
            person_id = _text(entry.get("person_id"))
            members.append(
                MemberRecord(
                    name=_text(entry.get("name")),
                    role=" ".join(_text(entry.get("role")).lower().split()) or "member",
                    person_id=person_id if person_id.startswith("ocd-person/") else "",
                )
            )
        committees.append(CommitteeRecord(committee_id, title, chamber, tuple(members)))
    return committees


def _state_jurisdiction(value: object, state: str) -> bool:
    """Whether a role's jurisdiction is the state's own government (not a city's)."""
    text = _text(value)
    if not text:
        return True
    place = "district:dc" if state == "dc" else f"state:{state}"
    return text == f"ocd-jurisdiction/country:us/{place}/government"


def parse_officials(files: StateFiles, state: str, today: date) -> list[OfficialRecord]:
    """One state's ``executive/*.yml``: the people holding a state executive office on
    ``today`` or later (past office holders, and offices of a city, are left out)."""
    officials: list[OfficialRecord] = []
    seen: set[str] = set()
    for name, content in files:
        where = f"executive/{name}"
        data = _yaml_file(content, state, where)
        person_id, full_name, roles = _identity(data, state, where)
        state_offices = [
            role
            for role in roles
            if _text(role.get("type"))
            and role.get("type") not in CHAMBERS
            and _state_jurisdiction(role.get("jurisdiction"), state)
        ]
        chosen = _role_on(state_offices, today, state, where)
        if chosen is None:
            continue
        role, starts_on, ends_on = chosen
        if person_id in seen:
            raise SourceError(f"{state}: person {person_id} appears twice")
        seen.add(person_id)
        kind = " ".join(_text(role.get("type")).lower().split())
        offices = [office for office in data.get("offices") or [] if isinstance(office, dict)]
        officials.append(
            OfficialRecord(
                id=person_id,
                name=full_name,
                given_name=_text(data.get("given_name")),
                family_name=_text(data.get("family_name")),
                gender=_text(data.get("gender")),
                party=_party(data.get("party"), max(today, starts_on or today), state, where),
                office=_OFFICE_NAMES.get(kind, kind),
                email=_text(data.get("email")),
                phone=_office_value(offices, _OFFICIAL_OFFICES, "voice"),
                address=_office_value(offices, _OFFICIAL_OFFICES, "address"),
                image=_text(data.get("image")),
                starts_on=starts_on,
                ends_on=ends_on,
            )
        )
    return officials


def _identity(data: dict[str, Any], state: str, name: str) -> tuple[str, str, list[dict[str, Any]]]:
    """A person file's id, name and roles (the roles that are mappings), or why it is unusable."""
    person_id = _text(data.get("id"))
    full_name = _text(data.get("name"))
    if not person_id.startswith("ocd-person/"):
        raise SourceError(f"{state}: {name} has no Open States person id")
    if not full_name:
        raise SourceError(f"{state}: {name} has no name")
    roles = data.get("roles") or []
    if not isinstance(roles, list):
        raise SourceError(f"{state}: {name}: roles is not a list")
    return person_id, full_name, [role for role in roles if isinstance(role, dict)]


Role = tuple[dict[str, Any], date | None, date | None]


def _role_on(roles: list[dict[str, Any]], today: date, state: str, name: str) -> Role | None:
    """Of ``roles``, the one held on ``today`` (Open States' choice: the last listed), else the
    next to begin; None when none is held now or later."""
    held: list[Role] = []
    coming: list[Role] = []
    for role in roles:
        starts_on = _role_date(role.get("start_date"), state, name)
        ends_on = _role_date(role.get("end_date"), state, name)
        if holds_on(starts_on, ends_on, today):
            held.append((role, starts_on, ends_on))
        elif starts_on is not None and starts_on > today:
            coming.append((role, starts_on, ends_on))
    if held:
        return held[-1]
    if coming:
        return min(coming, key=lambda item: item[1] or today)
    return None


def _text(value: object) -> str:
    return str(value).strip() if isinstance(value, str | int | float) else ""


def _role_date(value: object, state: str, name: str) -> date | None:
    """A date as the files write it: a YAML date, or "YYYY-MM-DD", "YYYY-MM" or "YYYY"."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        if re.fullmatch(r"\d{4}", text):
            return date(int(text), 1, 1)
        if re.fullmatch(r"\d{4}-\d{2}", text):
            return date(int(text[:4]), int(text[5:]), 1)
        return date.fromisoformat(text)
    except ValueError:
        raise SourceError(f"{state}: {name}: {value!r} is not a date") from None


def _party(parties: object, day: date, state: str, name: str) -> str:
    """The party held on ``day`` (the first such), else the last one listed."""
    if not isinstance(parties, list):
        return ""
    named = [p for p in parties if isinstance(p, dict) and _text(p.get("name"))]
    for party in named:
        starts_on = _role_date(party.get("start_date"), state, name)
        ends_on = _role_date(party.get("end_date"), state, name)
        if holds_on(starts_on, ends_on, day):
            return _text(party.get("name"))
    return _text(named[-1].get("name")) if named else ""


def _office_value(offices: list[dict[str, Any]], kinds: tuple[str, ...], key: str) -> str:
    """The first office of the first kind that has ``key`` (a capitol office before the
    capitol mailing address)."""
    for kind in kinds:
        for office in offices:
            if office.get("classification") == kind and _text(office.get(key)):
                return _text(office.get(key))
    return ""


def _extra_phone(extras: dict[str, Any], known: set[str]) -> str:
    by_key = {str(key).strip().lower(): _text(value) for key, value in extras.items()}
    for key in EXTRA_PHONE_KEYS:
        number = by_key.get(key, "")
        if number and number not in known:
            return number
    return ""


# -- downloads --------------------------------------------------------------------------------


def _is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


def _get(
    session: requests.Session, url: str, timeout: float, stream: bool = False
) -> requests.Response:
    """A 200 answer from ``url``, or SourceError."""
    started = time.perf_counter()
    try:
        response = session.get(url, timeout=timeout, stream=stream)
    except requests.RequestException as exc:
        observe_upstream("openstates_bulk", time.perf_counter() - started, error_kind(exc))
        raise SourceError(f"cannot download {url}: {type(exc).__name__}") from exc
    observe_upstream(
        "openstates_bulk",
        time.perf_counter() - started,
        None if response.status_code == 200 else error_kind(status=response.status_code),
    )
    if response.status_code != 200:
        response.close()
        raise SourceError(f"cannot download {url}: HTTP {response.status_code}")
    return response


def _read_vacancies(candidates: list[Path]) -> dict[str, list[VacancyRecord]] | None:
    location = next((path for path in candidates if path.is_file()), None)
    if location is None:
        return None
    try:
        return parse_vacancies(location.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, SourceError) as exc:
        log.warning("vacancy list not loaded: %s", exc)
        return None


def _download_vacancies(
    session: requests.Session, url: str | None, timeout: float
) -> dict[str, list[VacancyRecord]] | None:
    if not url:
        return None
    try:
        response = _get(session, url, timeout)
        response.encoding = "utf-8"
        return parse_vacancies(response.text)
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
