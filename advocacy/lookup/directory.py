"""The local legislator directory: load rosters atomically, record changes, answer lookups."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, tuple_
from sqlalchemy.exc import SQLAlchemyError

from ..dbtypes import utcnow
from ..extensions import db
from ..urls import site_zone
from .known_vacancies import KnownVacancy, known_vacancies_for
from .models import (
    Committee,
    CommitteeMember,
    DirectoryRefresh,
    DirectoryState,
    District,
    ExecutiveOfficial,
    Legislator,
    RosterChange,
    Vacancy,
)
from .openstates import (
    CommitteeRecord,
    OfficialRecord,
    PeopleSource,
    Person,
    RosterFailure,
    SourceError,
    VacancyRecord,
    check_roster_size,
)
from .registry import (
    STATES,
    districts_for_state,
    registry_district,
    seats_in_state,
    state_info,
)

TRACKED_FIELDS = (
    "chamber",
    "district",
    "email",
    "capitol_phone",
    "district_phone",
    "extra_phone",
    "party",
    "name",
)
OFFICIAL_FIELDS = ("office", "name", "party", "email", "phone")
# A state's roster not reloaded for this long is flagged as stale (staff pages, /readyz): the
# daily refresh has been failing for two weeks.
STALE_AFTER = timedelta(days=14)
# A refresh that would remove more than this share of a state's loaded legislators is refused
# unless accepted: the source is likely cut short or between two legislatures.
MAX_REMOVED_SHARE = Fraction(1, 5)


def site_today() -> date:
    """Today in ADVOCACY_TIMEZONE: the day seats are held on."""
    return datetime.now(site_zone()).date()


def holding_seat(day: date) -> ColumnElement[bool]:
    """Legislators whose term has begun and not ended on ``day`` (openstates.holds_on)."""
    return and_(
        or_(Legislator.starts_on.is_(None), Legislator.starts_on <= day),
        or_(Legislator.ends_on.is_(None), Legislator.ends_on > day),
    )


def holding_office(day: date) -> ColumnElement[bool]:
    """Executive officials whose term has begun and not ended on ``day``."""
    return and_(
        or_(ExecutiveOfficial.starts_on.is_(None), ExecutiveOfficial.starts_on <= day),
        or_(ExecutiveOfficial.ends_on.is_(None), ExecutiveOfficial.ends_on > day),
    )


@dataclass
class StateSyncResult:
    state: str
    ok: bool
    error: str | None = None
    # Not loaded because it would remove too many people (MAX_REMOVED_SHARE).
    refused: bool = False
    count: int = 0
    joined: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    refresh_id: int | None = None  # its DirectoryRefresh row
    first_load: bool = False  # the state had no one loaded before

    @property
    def has_changes(self) -> bool:
        return bool(self.joined or self.left or self.changed)


def _person_fields(legislator: Legislator) -> dict[str, str]:
    return {name: getattr(legislator, name) or "" for name in TRACKED_FIELDS}


def _vacancy_datetime(value: object) -> datetime | None:
    if value is None:
        return None
    return datetime.combine(value, time(), tzinfo=UTC)  # type: ignore[arg-type]


def _known_empty_seats(
    state: str, people: list[Person], known: list[KnownVacancy], result: StateSyncResult
) -> list[VacancyRecord]:
    """The app's known vacancies whose seats the new roster leaves empty (others: warnings)."""
    filled: dict[tuple[str, str], int] = {}
    for person in people:
        key = (person.chamber, person.district)
        filled[key] = filled.get(key, 0) + 1
    records = []
    for vacancy in known:
        registry_row = registry_district(state, vacancy.chamber, vacancy.district)
        label = f"{vacancy.chamber} {vacancy.district}"
        if registry_row is None:
            result.warnings.append(f"known vacancy {label} is not a district in the registry")
        elif filled.get((vacancy.chamber, vacancy.district), 0) >= registry_row.seats:
            result.warnings.append(
                f"known vacancy {label} is filled now; remove it from known_vacancies.yaml"
            )
        else:
            records.append(vacancy.record())
    return records


def _record_refresh(
    state: str, actor: str, outcome: str, source: str, note: str | None, **counts: int
) -> DirectoryRefresh:
    refresh = DirectoryRefresh(
        state=state,
        at=utcnow(),
        actor=actor[:320],
        outcome=outcome,
        source=source[:500],
        note=note,
        **{"legislators": 0, "joined": 0, "left": 0, "changed": 0, **counts},
    )
    db.session.add(refresh)
    db.session.flush()
    return refresh


def replace_state(
    state: str,
    people: list[Person],
    source: str,
    digest: str,
    vacancies: list[VacancyRecord] | None,
    *,
    actor: str = "cli",
    accept_large_change: bool = False,
    today: date | None = None,
    warnings: list[str] | None = None,
    committees: list[CommitteeRecord] | None = None,
    officials: list[OfficialRecord] | None = None,
) -> StateSyncResult:
    """Swap one state's roster in a single transaction and record what changed.

    ``vacancies`` is Open States' list for the state (None: it could not be fetched, keep
    the previous rows); the app's known vacancies (known_vacancies.yaml) are added to it.
    ``committees`` and ``officials`` replace the state's committees and executive officials
    (None: keep those loaded); officials who join, leave or change are recorded like
    legislators, except on the state's first load of officials.
    A roster removing more than a fifth of the people loaded now is refused (and recorded as
    such) unless ``accept_large_change``."""
    today = today or site_today()
    result = StateSyncResult(state=state, ok=True, count=len(people), warnings=list(warnings or []))
    old = {
        leg.id: leg
        for leg in db.session.scalars(select(Legislator).where(Legislator.state == state))
    }
    new_ids = {person.id for person in people}
    removed = [legislator for person_id, legislator in old.items() if person_id not in new_ids]
    if len(removed) > MAX_REMOVED_SHARE * len(old) and not accept_large_change:
        note = (
            f"{state.upper()}: the new roster would remove {len(removed)} of the {len(old)} "
            f"legislators loaded now (more than a fifth), so it was refused and the previous "
            "roster kept. The source may be cut short or between two legislatures: check it, "
            f"then load it with `advocacy directory sync --state {state.upper()} "
            "--accept-large-change`."
        )
        refresh = _record_refresh(
            state, actor, "refused", source, note, legislators=len(old), left=len(removed)
        )
        db.session.commit()
        return StateSyncResult(
            state=state,
            ok=False,
            error=note,
            refused=True,
            count=len(old),
            left=[legislator.name for legislator in removed],
            refresh_id=refresh.id,
        )
    result.first_load = not old
    seated = [person for person in people if person.holds_seat_on(today)]
    known_empty = _known_empty_seats(state, seated, known_vacancies_for(state), result)
    registry = {(d.chamber, d.district): d for d in districts_for_state(state)}
    now = utcnow()
    refresh = _record_refresh(state, actor, "loaded", source, None, legislators=len(people))

    db.session.execute(delete(District).where(District.state == state))
    db.session.add_all(
        District(
            division_id=d.division_id,
            chamber=d.chamber,
            district=d.district,
            state=state,
            seats=d.seats,
        )
        for d in registry.values()
    )

    def change(person_id: str, name: str, kind: str, detail: dict[str, Any]) -> None:
        db.session.add(
            RosterChange(
                state=state,
                refresh_id=refresh.id,
                person_id=person_id,
                name=name,
                kind=kind,
                detail=detail,
                recorded_at=now,
            )
        )

    for person in people:
        match = registry.get((person.chamber, person.district))
        if match is None:
            result.unmatched.append(f"{person.name} ({person.chamber} {person.district})")
        fields = person.contact_fields()
        previous = old.get(person.id)
        if previous is None:
            result.joined.append(person.name)
            joined: dict[str, Any] = dict(fields)
            if person.starts_on is not None and person.starts_on > today:
                joined["starts_on"] = person.starts_on.isoformat()
            change(person.id, person.name, "joined", joined)
        else:
            before = _person_fields(previous)
            diff = {k: [before[k], v] for k, v in fields.items() if before[k] != v}
            if diff:
                result.changed.append(person.name)
                change(person.id, person.name, "changed", diff)
        values = {
            "state": state,
            "chamber": person.chamber,
            "district": person.district,
            "division_id": match.division_id if match else None,
            "name": person.name,
            "given_name": person.given_name or None,
            "family_name": person.family_name or None,
            "gender": person.gender[:40] or None,
            "party": person.party or None,
            "email": person.email or None,
            "capitol_phone": person.capitol_phone or None,
            "district_phone": person.district_phone or None,
            "extra_phone": person.extra_phone or None,
            "capitol_address": person.capitol_address or None,
            "district_address": person.district_address or None,
            "image": person.image or None,
            "links": person.links or None,
            "starts_on": person.starts_on,
            "ends_on": person.ends_on,
            "updated_at": now,
        }
        if previous is None:
            db.session.add(Legislator(id=person.id, **values))
        else:  # update the row already loaded: no SELECT per person
            for key, value in values.items():
                setattr(previous, key, value)
    for legislator in removed:
        result.left.append(legislator.name)
        change(legislator.id, legislator.name, "left", _person_fields(legislator))
        db.session.delete(legislator)
    if committees is not None:
        _replace_committees(state, committees, now)
    if officials is not None:
        joined_office, left_office, changed_office = _replace_officials(
            state, officials, now, today, change
        )
        result.joined += joined_office
        result.left += left_office
        result.changed += changed_office

    directory_state = db.session.get(DirectoryState, state) or DirectoryState(state=state)
    directory_state.synced_at = now
    directory_state.source = source[:500]
    directory_state.content_hash = digest
    directory_state.legislator_count = len(people)
    db.session.add(directory_state)
    db.session.flush()
    if vacancies is not None:  # Open States' list replaces the previous one
        db.session.execute(delete(Vacancy).where(Vacancy.state == state))
        recorded: set[tuple[str, str]] = set()
    else:  # the list could not be had: keep the rows we have
        recorded = {
            (row.chamber, row.district)
            for row in db.session.scalars(select(Vacancy).where(Vacancy.state == state))
        }
    for v in [*(vacancies or []), *known_empty]:
        if (v.chamber, v.district) in recorded:
            continue  # Open States' entry (with its date) wins over the app's
        recorded.add((v.chamber, v.district))
        db.session.add(
            Vacancy(
                state=state,
                chamber=v.chamber,
                district=v.district,
                vacant_until=_vacancy_datetime(v.vacant_until),
            )
        )
    refresh.joined = len(result.joined)
    refresh.left = len(result.left)
    refresh.changed = len(result.changed)
    notes = [
        *result.warnings,
        *(f"no such district in the registry: {u}" for u in result.unmatched),
    ]
    refresh.note = "\n".join(notes) or None
    result.refresh_id = refresh.id
    db.session.commit()
    return result


def _replace_committees(state: str, committees: list[CommitteeRecord], now: datetime) -> None:
    """Swap a state's committees and their members, in the caller's transaction."""
    old = select(Committee.id).where(Committee.state == state)
    db.session.execute(delete(CommitteeMember).where(CommitteeMember.committee_id.in_(old)))
    db.session.execute(delete(Committee).where(Committee.state == state))
    for committee in committees:
        db.session.add(
            Committee(
                id=committee.id,
                state=state,
                chamber=committee.chamber,
                name=committee.name,
                updated_at=now,
            )
        )
        db.session.add_all(
            CommitteeMember(
                committee_id=committee.id,
                position=position,
                person_id=member.person_id or None,
                name=member.name,
                role=member.role,
            )
            for position, member in enumerate(committee.members)
        )


Record = Callable[[str, str, str, dict[str, Any]], None]


def _replace_officials(
    state: str, officials: list[OfficialRecord], now: datetime, today: date, record: Record
) -> tuple[list[str], list[str], list[str]]:
    """Swap a state's executive officials, in the caller's transaction; ``record(person_id,
    name, kind, detail)`` notes each one who joined, left or changed. A state's first load of
    officials is not news: nothing is recorded. Returns the names that joined, left, changed."""
    old = {
        row.id: row
        for row in db.session.scalars(
            select(ExecutiveOfficial).where(ExecutiveOfficial.state == state)
        )
    }
    tell = bool(old)
    joined: list[str] = []
    changed: list[str] = []
    new_ids = set()
    for official in officials:
        new_ids.add(official.id)
        fields = {name: getattr(official, name) or "" for name in OFFICIAL_FIELDS}
        previous = old.get(official.id)
        if previous is None and tell:
            detail: dict[str, Any] = dict(fields)
            if official.starts_on is not None and official.starts_on > today:
                detail["starts_on"] = official.starts_on.isoformat()
            joined.append(official.name)
            record(official.id, official.name, "joined", detail)
        elif previous is not None:
            before = {name: getattr(previous, name) or "" for name in OFFICIAL_FIELDS}
            diff = {k: [before[k], v] for k, v in fields.items() if before[k] != v}
            if diff and tell:
                changed.append(official.name)
                record(official.id, official.name, "changed", diff)
        values = {
            "state": state,
            "office": official.office,
            "name": official.name,
            "given_name": official.given_name or None,
            "family_name": official.family_name or None,
            "gender": official.gender[:40] or None,
            "party": official.party or None,
            "email": official.email or None,
            "phone": official.phone or None,
            "address": official.address or None,
            "image": official.image or None,
            "starts_on": official.starts_on,
            "ends_on": official.ends_on,
            "updated_at": now,
        }
        if previous is None:
            db.session.add(ExecutiveOfficial(id=official.id, **values))
        else:
            for key, value in values.items():
                setattr(previous, key, value)
    left = []
    for person_id, row in old.items():
        if person_id in new_ids:
            continue
        left.append(row.name)
        record(row.id, row.name, "left", {n: getattr(row, n) or "" for n in OFFICIAL_FIELDS})
        db.session.delete(row)
    return joined, left, changed


def sync_states(
    source: PeopleSource,
    states: Iterable[str] | None = None,
    progress: Callable[[str], None] | None = None,
    *,
    actor: str = "cli",
    accept_large_change: bool = False,
    today: date | None = None,
) -> list[StateSyncResult]:
    """Fetch and load each state; one failure never touches the others or the old roster.

    Each attempt is recorded (DirectoryRefresh) by ``actor``. ``today`` is the day seats are
    held on (default: the site's today)."""
    today = today or site_today()
    chosen = [s.lower() for s in (states or STATES)]
    results = [
        StateSyncResult(state=state, ok=False, error="not a state we cover")
        for state in chosen
        if state not in STATES
    ]
    covered = [state for state in chosen if state in STATES]
    vacancies = source.fetch_vacancies() if covered else None
    for roster in source.rosters(covered, today):
        if progress:
            progress(roster.state)
        if isinstance(roster, RosterFailure):
            results.append(_failed(roster.state, roster.error, source.location, actor))
            continue
        state = roster.state
        try:
            size_warning = check_roster_size(
                sum(1 for person in roster.people if person.holds_seat_on(today)),
                state,
                seats_in_state(state),
                _seated_count(state, today),
            )
        except SourceError as exc:
            results.append(_failed(state, str(exc), roster.location, actor))
            continue
        state_vacancies = vacancies.get(state, []) if vacancies is not None else None
        try:
            result = replace_state(
                state,
                roster.people,
                roster.location,
                roster.digest,
                state_vacancies,
                actor=actor,
                accept_large_change=accept_large_change,
                today=today,
                warnings=[*([size_warning] if size_warning else []), *roster.warnings],
                committees=roster.committees,
                officials=roster.officials,
            )
        except Exception as exc:  # the database refused: keep the previous roster
            error = f"could not save: {type(exc).__name__}: {exc}"
            results.append(_failed(state, error, roster.location, actor))
            continue
        results.append(result)
    return results


def _failed(state: str, error: str, source: str, actor: str) -> StateSyncResult:
    """A state not reloaded: its previous roster stays; the attempt is recorded if it can be."""
    db.session.rollback()
    result = StateSyncResult(state=state, ok=False, error=error)
    try:
        refresh = _record_refresh(
            state, actor, "failed", source, error, legislators=_loaded_count(state)
        )
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
    else:
        result.refresh_id = refresh.id
    return result


def _loaded_count(state: str) -> int:
    """How many people the directory holds for a state now."""
    return (
        db.session.scalar(
            select(func.count()).select_from(Legislator).where(Legislator.state == state)
        )
        or 0
    )


def _seated_count(state: str, day: date) -> int:
    """How many of them hold their seat on ``day``."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Legislator)
            .where(Legislator.state == state, holding_seat(day))
        )
        or 0
    )


@dataclass(frozen=True)
class SeatGroup:
    """One district a resident belongs to, with its members and empty seats."""

    state: str
    chamber: str
    district: str
    division_id: str
    seats: int
    members: list[Legislator]
    # None when the state's roster has never been loaded: we cannot tell who holds the seats.
    vacancies: int | None
    vacant_until: datetime | None
    # The empty seats are on Open States' vacancy list or the app's known vacancies.
    vacancy_recorded: bool = False

    def to_json(self) -> dict[str, object]:
        return {
            "chamber": self.chamber,
            "district": self.district,
            "division_id": self.division_id,
            "seats": self.seats,
            "vacancies": self.vacancies,
            "legislators": [legislator_json(m) for m in self.members],
        }


PHONE_OFFICES = (
    ("capitol_phone", "Capitol office"),
    ("district_phone", "District office"),
    ("extra_phone", "Other office line"),
)


def office_phones(legislator: Legislator) -> list[tuple[str, str]]:
    """(which office, number) for each number on record, the capitol office first."""
    phones: list[tuple[str, str]] = []
    for column, label in PHONE_OFFICES:
        number = getattr(legislator, column)
        if number and number not in (known for _, known in phones):
            phones.append((label, number))
    return phones


def best_phone(legislator: Legislator) -> str | None:
    phones = office_phones(legislator)
    return phones[0][1] if phones else None


def legislator_json(legislator: Legislator) -> dict[str, object]:
    return {
        "id": legislator.id,
        "name": legislator.name,
        "party": legislator.party,
        "email": legislator.email,
        "phone": best_phone(legislator),
    }


SeatKey = tuple[str, str, str, str]  # state, chamber, district, division id


def seat_groups(keys: list[SeatKey]) -> list[SeatGroup]:
    """The seat groups of several districts, in the order given, in three queries whatever
    their number (members, vacancies, and each state's directory row)."""
    if not keys:
        return []
    members: dict[tuple[str, str, str], list[Legislator]] = {}
    for legislator in db.session.scalars(
        select(Legislator)
        .where(
            tuple_(Legislator.division_id, Legislator.chamber, Legislator.district).in_(
                [(division_id, chamber, district) for _, chamber, district, division_id in keys]
            ),
            holding_seat(site_today()),
        )
        .order_by(Legislator.family_name, Legislator.name)
    ):
        group_key = (legislator.division_id or "", legislator.chamber, legislator.district)
        members.setdefault(group_key, []).append(legislator)
    states = sorted({state for state, *_ in keys})
    vacancies = {
        (row.state, row.chamber, row.district): row
        for row in db.session.scalars(select(Vacancy).where(Vacancy.state.in_(states)))
    }
    loaded = {state: db.session.get(DirectoryState, state) is not None for state in states}
    return [
        _seat_group(
            key,
            members.get((key[3], key[1], key[2]), []),
            loaded[key[0]],
            vacancies.get((key[0], key[1], key[2])),
        )
        for key in keys
    ]


def _seat_group(
    key: SeatKey, members: list[Legislator], loaded: bool, vacancy: Vacancy | None
) -> SeatGroup:
    state, chamber, district, division_id = key
    # Seats come from the registry (Open States' metadata), never from a sync's leftovers.
    registry_row = registry_district(state, chamber, district)
    if registry_row is not None and registry_row.division_id == division_id:
        seats = registry_row.seats
    else:
        loaded_row = db.session.get(District, (division_id, chamber, district))
        seats = loaded_row.seats if loaded_row else max(len(members), 1)
    if not loaded:
        # Never loaded: no members does not mean empty seats.
        return SeatGroup(state, chamber, district, division_id, seats, members, None, None)
    vacancies = max(seats - len(members), 0)
    return SeatGroup(
        state=state,
        chamber=chamber,
        district=district,
        division_id=division_id,
        seats=seats,
        members=members,
        vacancies=vacancies,
        vacant_until=vacancy.vacant_until if vacancy and vacancies else None,
        vacancy_recorded=vacancy is not None and vacancies > 0,
    )


def directory_marks(states: Iterable[str]) -> tuple[object, ...]:
    """What a page listing these states' people is made from: each state's last roster load
    and the day (seats and offices change hands at midnight); () for no state. One query."""
    chosen = sorted({state.lower() for state in states})
    if not chosen:
        return ()
    loaded = dict(
        db.session.execute(
            select(DirectoryState.state, DirectoryState.synced_at).where(
                DirectoryState.state.in_(chosen)
            )
        ).all()
    )
    return (tuple((state, loaded.get(state)) for state in chosen), site_today())


def directory_states() -> list[DirectoryState]:
    return list(db.session.scalars(select(DirectoryState).order_by(DirectoryState.state)))


def roster_loaded_at(state: str) -> datetime | None:
    """When ``state``'s roster was last loaded (None: never)."""
    return db.session.scalar(select(DirectoryState.synced_at).where(DirectoryState.state == state))


def districts_in_state(state: str) -> list[District]:
    return list(
        db.session.scalars(
            select(District)
            .where(District.state == state)
            .order_by(District.chamber, District.district)
        )
    )


def legislators_in_state(state: str) -> list[Legislator]:
    """The state's legislators holding their seat today."""
    return list(
        db.session.scalars(
            select(Legislator)
            .where(Legislator.state == state, holding_seat(site_today()))
            .order_by(Legislator.chamber, Legislator.family_name)
        )
    )


def legislator_contacts(person_ids: list[str]) -> dict[str, Legislator]:
    """These people's directory rows, by id; the unknown ones are absent."""
    if not person_ids:
        return {}
    rows = db.session.scalars(select(Legislator).where(Legislator.id.in_(set(person_ids))))
    return {row.id: row for row in rows}


def natural_key(text: str) -> list[object]:
    """Sorts district names as people count: "2" before "10", "Hillsborough 9" before 10."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text)]


@dataclass(frozen=True)
class DistrictChoice:
    chamber: str
    district: str
    members: list[str]  # names; empty when the seats are vacant

    @property
    def key(self) -> str:
        return f"{self.chamber}|{self.district}"


@dataclass(frozen=True)
class ChamberChoices:
    chamber: str
    name: str  # "House", "Senate", ...
    districts: list[DistrictChoice]


def district_choices(state: str, chambers: set[str]) -> list[ChamberChoices]:
    """Every district of ``state`` in ``chambers``, with who sits for it, for a visitor to
    choose from by hand."""
    members: dict[tuple[str, str], list[str]] = {}
    for legislator in legislators_in_state(state):
        members.setdefault((legislator.chamber, legislator.district), []).append(legislator.name)
    names = state_info(state).chamber_names
    by_chamber: dict[str, list[DistrictChoice]] = {}
    for row in sorted(
        districts_in_state(state), key=lambda d: (d.chamber, natural_key(d.district))
    ):
        if row.chamber in chambers:
            by_chamber.setdefault(row.chamber, []).append(
                DistrictChoice(
                    row.chamber, row.district, members.get((row.chamber, row.district), [])
                )
            )
    return [
        ChamberChoices(chamber, names.get(chamber, chamber), districts)
        for chamber, districts in by_chamber.items()
    ]
