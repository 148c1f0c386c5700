"""Roster changes staff can see: a refresh of the directory with its alert mail, the changes
it recorded in words, and the last refreshes of each state."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import func, or_, select

from ..alerts import AlertAddressError, queue_alert
from ..extensions import db
from .directory import StateSyncResult, site_today, sync_states
from .models import DirectoryRefresh, Legislator, RosterChange
from .offices import office_title
from .openstates import PeopleSource
from .registry import state_info

log = logging.getLogger(__name__)

FIELD_NAMES = {
    "chamber": "chamber",
    "district": "district",
    "party": "party",
    "email": "email",
    "capitol_phone": "capitol phone",
    "district_phone": "district phone",
    "extra_phone": "other phone",
    "office": "office",
    "phone": "phone",
    "name": "name",
}
# Names listed per state and kind in an alert mail, and in the whole mail; the rest are
# counted (a change of source can touch every legislator).
ALERT_NAMES = 40
ALERT_LINES = 600


@dataclass(frozen=True)
class Refreshed:
    results: list[StateSyncResult]
    alerted: str | None  # the staff address the alert mail was queued to


def refresh(
    source: PeopleSource,
    states: Iterable[str],
    *,
    actor: str,
    accept_large_change: bool = False,
    progress: Callable[[str], None] | None = None,
) -> Refreshed:
    """Reload the states' rosters (``sync_states``), then queue one alert mail to staff
    listing who joined, left or changed, and any state refused as too large a change.
    The scheduled refresh never accepts a large change."""
    results = sync_states(
        source, states, progress, actor=actor, accept_large_change=accept_large_change
    )
    return Refreshed(results, alert_staff(results, actor))


def alert_staff(results: list[StateSyncResult], actor: str) -> str | None:
    """Log the refresh's changes and refusals and queue them to ADVOCACY_ALERT_EMAIL in one
    mail. Returns the address, or None when there was nothing to tell or no address. Commits."""
    # A state's first load is not news: everyone in it "joined".
    reported = [r for r in results if r.refused or (r.ok and r.has_changes and not r.first_load)]
    for result in results:
        if result.refused:
            log.warning("directory refresh refused: %s", result.error)
    if not reported:
        return None
    for result in reported:
        if not result.refused:
            log.info(
                "directory refresh by %s: %s %d joined, %d left, %d changed",
                actor,
                result.state.upper(),
                len(result.joined),
                len(result.left),
                len(result.changed),
            )
    subject, body = alert_text(reported, actor)
    try:
        address = queue_alert(subject, body)
    except AlertAddressError as exc:
        log.error("directory alert not mailed: %s", exc)
        return None
    db.session.commit()
    return address


def alert_text(results: list[StateSyncResult], actor: str) -> tuple[str, str]:
    """The subject and body of the alert mail about these states' refreshes."""
    config = current_app.config
    site = str(config.get("SITE_NAME") or "advocacy")
    site_url = str(config.get("SITE_URL") or "").rstrip("/")
    refused = [r for r in results if r.refused]
    changed = [r for r in results if not r.refused]
    parts = []
    if changed:
        parts.append(f"changes in {', '.join(r.state.upper() for r in changed)}")
    if refused:
        parts.append(f"refresh refused for {', '.join(r.state.upper() for r in refused)}")
    subject = f"[{site}] Legislator directory: {'; '.join(parts)}"
    by_refresh: dict[int, list[RosterChange]] = {}
    ids = [r.refresh_id for r in changed if r.refresh_id is not None]
    if ids:
        for change in db.session.scalars(
            select(RosterChange)
            .where(RosterChange.refresh_id.in_(ids))
            .order_by(RosterChange.kind, RosterChange.name)
        ):
            by_refresh.setdefault(change.refresh_id or 0, []).append(change)
    lines = [f"The legislator directory was refreshed (by {actor}).", ""]
    for result in refused:
        lines.append(f"REFUSED {state_title(result.state)}: {result.error}")
        if result.left:
            more = len(result.left) - ALERT_NAMES
            lines.append(
                f"  would remove: {', '.join(sorted(result.left)[:ALERT_NAMES])}"
                + (f" and {more} more" if more > 0 else "")
            )
        lines.append("")
    budget = ALERT_LINES
    for result in changed:
        lines.append(
            f"{state_title(result.state)}: {result.count} legislators; {len(result.joined)} "
            f"joined, {len(result.left)} left, {len(result.changed)} changed"
        )
        changes = by_refresh.get(result.refresh_id or 0, [])
        for kind in ("joined", "left", "changed"):
            of_kind = [c for c in changes if c.kind == kind]
            shown = of_kind[: min(ALERT_NAMES, budget)]
            budget -= len(shown)
            lines += [f"  {kind}: {c.name}: {describe(c)}" for c in shown]
            if len(of_kind) > len(shown):
                lines.append(
                    f"  ... and {len(of_kind) - len(shown)} more {kind}: `advocacy directory "
                    f"changes --state {result.state.upper()}`"
                )
        lines.append("")
    lines += [
        f"Every change, state by state: {site_url}/admin/directory, or "
        f"`advocacy directory changes --since {site_today().isoformat()}`.",
        "",
        f"-- {site} directory refresh",
    ]
    return subject, "\n".join(lines) + "\n"


def state_title(state: str) -> str:
    return f"{state_info(state).name} ({state.upper()})"


def seat(state: str, chamber: str, district: str) -> str:
    """ "House, Hillsborough 23"; Nebraska's and DC's single chamber are named too."""
    try:
        name = state_info(state).chamber_names.get(chamber, chamber)
    except KeyError:
        name = chamber
    return f"{name}, {district}" if name else district


def describe(change: RosterChange) -> str:
    """What a recorded change was, in words (without the person's name)."""
    detail = change.detail or {}
    if change.kind in ("joined", "left"):
        if detail.get("office"):  # an executive official
            text = f"{office_title(str(detail['office']))} of {state_info(change.state).name}"
        else:
            text = seat(
                change.state, str(detail.get("chamber", "")), str(detail.get("district", ""))
            )
        if detail.get("party"):
            text += f", {detail['party']}"
        if change.kind == "joined" and detail.get("starts_on"):
            text += f"; takes office {detail['starts_on']}"
        return text
    parts = []
    for field, name in FIELD_NAMES.items():
        if field in detail:
            before, after = (detail[field] + ["", ""])[:2]
            parts.append(f"{name} from {before or '(none)'} to {after or '(none)'}")
    return "; ".join(parts) or "details changed"


def changes_since(
    since: datetime | None, states: Iterable[str] = (), limit: int | None = None
) -> list[RosterChange]:
    """Recorded changes, newest first: since a time, of some states (default: all). A state's
    first load (everyone "joined") is left out: it is not news."""
    query = (
        select(RosterChange)
        .outerjoin(DirectoryRefresh, DirectoryRefresh.id == RosterChange.refresh_id)
        .where(
            # A first load is the one refresh where everyone joined and no one left.
            or_(
                DirectoryRefresh.id.is_(None),
                DirectoryRefresh.left > 0,
                DirectoryRefresh.joined < DirectoryRefresh.legislators,
            )
        )
        .order_by(
            RosterChange.recorded_at.desc(),
            RosterChange.state,
            RosterChange.kind,
            RosterChange.name,
        )
    )
    chosen = [state.lower() for state in states]
    if chosen:
        query = query.where(RosterChange.state.in_(chosen))
    if since is not None:
        query = query.where(RosterChange.recorded_at >= since)
    if limit is not None:
        query = query.limit(limit)
    return list(db.session.scalars(query))


def last_refreshes(state: str, limit: int = 10) -> list[DirectoryRefresh]:
    return list(
        db.session.scalars(
            select(DirectoryRefresh)
            .where(DirectoryRefresh.state == state.lower())
            .order_by(DirectoryRefresh.id.desc())
            .limit(limit)
        )
    )


def latest_refresh_by_state() -> dict[str, DirectoryRefresh]:
    latest = select(func.max(DirectoryRefresh.id)).group_by(DirectoryRefresh.state)
    rows = db.session.scalars(select(DirectoryRefresh).where(DirectoryRefresh.id.in_(latest)))
    return {row.state: row for row in rows}


def incoming(state: str) -> list[Legislator]:
    """People loaded for a seat whose term has not started yet."""
    return list(
        db.session.scalars(
            select(Legislator)
            .where(Legislator.state == state.lower(), Legislator.starts_on > site_today())
            .order_by(Legislator.starts_on, Legislator.chamber, Legislator.family_name)
        )
    )
