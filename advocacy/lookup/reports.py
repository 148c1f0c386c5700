"""Visitors' reports that the districts shown for their address are wrong, and the districts
staff approve for an address (an override the lookup uses before the Census).

A report keeps the address normalised (``addresses.normalised_address``), the districts the
site showed and those the visitor chose: no name, email or network address. Approving one
sets the override for its address and keeps the report; the admin pages audit each decision.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ..dbtypes import utcnow
from ..extensions import db
from ..i18n import gettext, lazy_gettext
from .addresses import normalised_address, read_typed_address
from .directory import SeatGroup, districts_in_state, seat_groups
from .models import AddressOverride, DirectoryState, DistrictReport, Legislator
from .registry import STATES, chamber_words, registry_district, state_info

OVERRIDE_NOTE = lazy_gettext(
    "The districts for this address were set by our staff after a visitor told us the "
    "district map gave the wrong ones."
)
CHAMBER_ORDER = ("upper", "lower", "legislature")


class ReportProblem(ValueError):
    """A report that cannot be filed or decided as asked; the message says why."""


def _sorted_keys(keys: Iterable[str]) -> list[str]:
    def order(key: str) -> tuple[int, str]:
        chamber = key.partition("|")[0]
        return (CHAMBER_ORDER.index(chamber) if chamber in CHAMBER_ORDER else 9, key)

    return sorted(set(keys), key=order)


def shown_districts(groups: Iterable[SeatGroup]) -> list[str]:
    """What a lookup showed, as ``chamber|district`` keys."""
    return _sorted_keys(f"{group.chamber}|{group.district}" for group in groups)


def districts_of(person_ids: Iterable[str]) -> list[str]:
    """The districts these legislators sit for, as ``chamber|district`` keys."""
    ids = set(person_ids)
    if not ids:
        return []
    rows = db.session.execute(
        select(Legislator.chamber, Legislator.district).where(Legislator.id.in_(ids))
    ).all()
    return _sorted_keys(f"{chamber}|{district}" for chamber, district in rows)


def district_label(state: str, key: str) -> str:
    """ "House district Merrimack 12" for ``lower|Merrimack 12``."""
    chamber, _, district = key.partition("|")
    try:
        name = chamber_words(state_info(state.lower()).chamber_names.get(chamber, chamber))
    except KeyError:
        name = chamber
    return gettext("%(chamber)s district %(district)s", chamber=name, district=district)


def file_report(address: str, state: str, shown: list[str], picked: list[str]) -> DistrictReport:
    """Record a visitor's report: the districts they were shown for ``address`` are not
    theirs, ``picked`` (``chamber|district`` values, at most one per chamber) are. Commits.
    Raises ``ReportProblem`` with a sentence for the visitor."""
    state = state.lower()
    normalised = normalised_address(address)[:200]
    if state not in STATES or not normalised:
        raise ReportProblem(gettext("We could not tell which state this address is in."))
    known = {(d.chamber, d.district) for d in districts_in_state(state)}
    chosen: dict[str, str] = {}
    for value in filter(None, picked):
        chamber, _, district = value.partition("|")
        if (chamber, district) not in known:
            raise ReportProblem(
                gettext("That district is not one of your state's. Please choose again.")
            )
        if chosen.setdefault(chamber, district) != district:
            raise ReportProblem(gettext("Please choose one district in each chamber."))
    if not chosen:
        raise ReportProblem(gettext("Please choose the district you believe is yours."))
    proposed = _sorted_keys(f"{chamber}|{district}" for chamber, district in chosen.items())
    if set(proposed) <= set(shown):
        raise ReportProblem(
            gettext(
                "You chose the districts we showed. Please choose the ones you believe are right."
            )
        )
    report = DistrictReport(
        address=normalised,
        state=state,
        shown=_sorted_keys(shown),
        proposed=proposed,
        created_at=utcnow(),
        status="open",
    )
    db.session.add(report)
    db.session.commit()
    return report


def recent_reports(limit: int = 200) -> list[DistrictReport]:
    """Reports, newest first."""
    return list(
        db.session.scalars(
            select(DistrictReport)
            .order_by(DistrictReport.created_at.desc(), DistrictReport.id.desc())
            .limit(limit)
        )
    )


def overrides() -> list[AddressOverride]:
    return list(db.session.scalars(select(AddressOverride).order_by(AddressOverride.address)))


def _open_report(report_id: int) -> DistrictReport:
    report = db.session.get(DistrictReport, report_id)
    if report is None:
        raise ReportProblem("There is no such report.")
    if report.status != "open":
        raise ReportProblem(f"That report was {report.status} already.")
    return report


def approve(report_id: int, actor: str) -> tuple[DistrictReport, AddressOverride]:
    """Approve an open report: its districts become the override for its address (replacing
    one there was). The caller forgets the address's cached Census answer
    (``service.forget_cached_answer``), audits and commits."""
    report = _open_report(report_id)
    now = utcnow()
    report.status, report.reviewed_at, report.reviewed_by = "approved", now, actor[:320]
    override = db.session.get(AddressOverride, report.address) or AddressOverride(
        address=report.address
    )
    override.state = report.state
    override.districts = list(report.proposed)
    override.report_id = report.id
    override.created_at = now
    override.created_by = actor[:320]
    db.session.add(override)
    return report, override


def dismiss(report_id: int, actor: str) -> DistrictReport:
    """Dismiss an open report (kept, marked dismissed). The caller audits and commits."""
    report = _open_report(report_id)
    report.status, report.reviewed_at, report.reviewed_by = "dismissed", utcnow(), actor[:320]
    return report


def remove_override(address: str) -> AddressOverride:
    """Stop using an override: the address is looked up with the Census again. The caller
    forgets the address's cached answer, audits and commits."""
    override = db.session.get(AddressOverride, address)
    if override is None:
        raise ReportProblem("There is no override for that address.")
    db.session.delete(override)
    return override


@dataclass(frozen=True)
class OverriddenAnswer:
    """What the lookup answers for an address with an override."""

    state: str
    city: str
    groups: list[SeatGroup]
    loaded_at: datetime | None  # the state's roster time


def overridden_answer(address: str) -> OverriddenAnswer | None:
    """The districts staff set for ``address`` with who sits for them, or None (no override:
    ask the Census)."""
    override = db.session.get(AddressOverride, normalised_address(address)[:200])
    if override is None:
        return None
    keys = []
    for key in _sorted_keys(override.districts):
        chamber, _, district = key.partition("|")
        row = registry_district(override.state, chamber, district)
        if row is not None:
            keys.append((override.state, chamber, district, row.division_id))
    loaded = db.session.get(DirectoryState, override.state)
    return OverriddenAnswer(
        state=override.state,
        city=read_typed_address(address).city,
        groups=seat_groups(keys),
        loaded_at=loaded.synced_at if loaded is not None else None,
    )
