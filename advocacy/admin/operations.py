"""What the staff pages show and do beyond editing: delivery state per campaign, the
directory's age and refresh, and message previews."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from flask_login import current_user
from sqlalchemy import func, select

from ..actions.drafts import fill_message
from ..actions.models import Action, Contact
from ..actions.recipients import (
    Recipient,
    chambers_for,
    constituent_values,
    fixed_recipient,
    legislator_recipient,
)
from ..campaigns import templating
from ..campaigns.models import Campaign
from ..campaigns.schema import CampaignDefinition
from ..dbtypes import utcnow
from ..delivery.models import OutboxMessage
from ..delivery.outbox import retry_dead_letters
from ..extensions import db
from ..lookup import changes, directory
from ..lookup.directory import natural_key
from ..lookup.models import DirectoryRefresh, RosterChange
from ..lookup.openstates import people_source
from ..lookup.registry import STATES, state_info
from ..lookup.service import BadAddress, CensusUnavailable, lookup_address
from . import audit

CONTACT_STATUS_ORDER = ("queued", "failed", "sent", "logged", "called", "bounced", "dead")


@dataclass(frozen=True)
class DeliverySummary:
    actions: int
    contacts_by_status: dict[str, int]
    contacts_by_channel: dict[str, int]
    outbox_by_status: dict[str, int]
    oldest_pending: datetime | None
    last_failure: Contact | None

    @property
    def dead_letters(self) -> int:
        return self.outbox_by_status.get("dead", 0)


def delivery_summary(campaign: Campaign) -> DeliverySummary:
    def grouped(column: Any, *where: Any, select_from: Any = Contact) -> dict[str, int]:
        rows = db.session.execute(
            select(column, func.count()).select_from(select_from).where(*where).group_by(column)
        ).all()
        return {str(key): int(count) for key, count in rows}

    mine = Contact.campaign_id == campaign.id
    outbox_join = OutboxMessage.__table__.join(
        Contact.__table__, OutboxMessage.contact_id == Contact.id
    )
    oldest = db.session.scalar(
        select(func.min(OutboxMessage.created_at))
        .select_from(outbox_join)
        .where(mine, OutboxMessage.status.in_(("pending", "sending")))
    )
    last_failure = db.session.scalar(
        select(Contact)
        .where(mine, Contact.last_error.is_not(None))
        .order_by(Contact.id.desc())
        .limit(1)
    )
    return DeliverySummary(
        actions=int(
            db.session.scalar(
                select(func.count()).select_from(Action).where(Action.campaign_id == campaign.id)
            )
            or 0
        ),
        contacts_by_status=grouped(Contact.status, mine),
        contacts_by_channel=grouped(Contact.channel, mine),
        outbox_by_status=grouped(OutboxMessage.status, mine, select_from=outbox_join),
        oldest_pending=oldest,
        last_failure=last_failure,
    )


def retry_campaign_dead_letters(campaign: Campaign) -> int:
    """The same operation as ``advocacy deliver retry --campaign SLUG``, audited."""
    count = retry_dead_letters(campaign.slug)
    audit.record("delivery.retried", campaign.slug, {"requeued": count})
    db.session.commit()
    return count


@dataclass(frozen=True)
class StateAge:
    state: str
    name: str
    synced_at: datetime | None
    legislators: int
    stale: bool
    last_refresh: DirectoryRefresh | None


def directory_ages() -> list[StateAge]:
    rows = {row.state: row for row in directory.directory_states()}
    latest = changes.latest_refresh_by_state()
    now = utcnow()
    ages = []
    for state in STATES:
        row = rows.get(state)
        ages.append(
            StateAge(
                state=state.upper(),
                name=state_info(state).name,
                synced_at=row.synced_at if row else None,
                legislators=row.legislator_count if row else 0,
                stale=row is None or now - row.synced_at > directory.STALE_AFTER,
                last_refresh=latest.get(state),
            )
        )
    return ages


@dataclass(frozen=True)
class ChangeLine:
    at: datetime
    state: str
    kind: str
    name: str
    text: str


def _lines(found: list[RosterChange]) -> list[ChangeLine]:
    return [
        ChangeLine(c.recorded_at, c.state.upper(), c.kind, c.name, changes.describe(c))
        for c in found
    ]


STALE_DAYS = directory.STALE_AFTER.days
RECENT_CHANGE_DAYS = 30
RECENT_CHANGE_LINES = 300


def recent_changes() -> tuple[list[ChangeLine], int]:
    """The directory's changes of the last days (at most RECENT_CHANGE_LINES), and how many
    there are in all over those days."""
    since = utcnow() - timedelta(days=RECENT_CHANGE_DAYS)
    found = changes.changes_since(since, limit=RECENT_CHANGE_LINES + 1)
    total = len(found)
    if total > RECENT_CHANGE_LINES:
        total = len(changes.changes_since(since))
    return _lines(found[:RECENT_CHANGE_LINES]), total


@dataclass(frozen=True)
class StateDirectory:
    state: str
    name: str
    refreshes: list[DirectoryRefresh]
    changes: list[ChangeLine]
    incoming: list[tuple[str, str, date | None]]  # name, seat, first day


STATE_CHANGE_LINES = 500


def state_directory(state: str) -> StateDirectory | None:
    """One state's last refreshes, its recorded changes and who takes office later (None: not
    a state we cover)."""
    code = state.lower()
    if code not in STATES:
        return None
    return StateDirectory(
        state=code.upper(),
        name=state_info(code).name,
        refreshes=changes.last_refreshes(code),
        changes=_lines(changes.changes_since(None, [code], limit=STATE_CHANGE_LINES)),
        incoming=[
            (p.name, changes.seat(code, p.chamber, p.district), p.starts_on)
            for p in changes.incoming(code)
        ],
    )


def refresh_directory(
    states: list[str], *, actor: str | None = None
) -> list[directory.StateSyncResult]:
    """Reload rosters from the configured Open States source (as `advocacy directory sync`,
    never accepting a large change), with the alert mail to staff. Audited (by ``actor``,
    default the signed-in user); commits."""
    config = current_app.config
    source = people_source(
        config["OPENSTATES_DATA_URL"],
        timeout=config["OPENSTATES_TIMEOUT"],
        vacancies_url=config["OPENSTATES_VACANCIES_URL"],
    )
    who = actor or getattr(current_user, "email", None) or "anonymous"
    refreshed = changes.refresh(source, [s.lower() for s in states], actor=who)
    audit.record(
        "directory.refreshed",
        ",".join(s.upper() for s in states),
        {r.state: ("ok" if r.ok else r.error) for r in refreshed.results},
        actor=actor,
    )
    db.session.commit()
    return refreshed.results


# -- preview ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreviewMessage:
    recipient: Recipient
    subject: str
    body: str
    error: str | None = None


SAMPLE_NAME = "Alex Sample"


def _sample_legislators(state: str, chambers: set[str]) -> list[Recipient]:
    """The members of the first district of each chamber, or made-up ones without data."""
    chosen: list[Recipient] = []
    people = directory.legislators_in_state(state)
    info = state_info(state)
    for chamber in ("lower", "upper", "legislature"):
        if chamber not in chambers or chamber not in info.chamber_names:
            continue
        members = sorted(
            (p for p in people if p.chamber == chamber),
            key=lambda p: (natural_key(p.district), p.name),
        )
        if members:
            first = members[0].district
            chosen.extend(legislator_recipient(p) for p in members if p.district == first)
            continue
        title = info.chamber_titles.get(chamber, "Legislator")
        chosen.append(
            Recipient(
                kind="legislator",
                id=f"sample-{chamber}",
                name="Jordan Example",
                last_name="Example",
                title=title,
                salutation=f"{title} Example",
                state=state.upper(),
                chamber=chamber,
                chamber_name=info.chamber_names.get(chamber, ""),
                district="1",
            )
        )
    return chosen


def preview_messages(
    definition: CampaignDefinition, state: str, address: str | None = None
) -> tuple[list[PreviewMessage], str | None]:
    """The filled message for each recipient a sample visitor would see, and a note."""
    state = (state or "").lower()
    allowed = chambers_for(definition)
    note = None
    city = "Springfield"
    recipients: list[Recipient] = []
    if address:
        try:
            result = lookup_address(address)
        except (BadAddress, CensusUnavailable) as exc:
            result, note = None, f"The sample address could not be looked up: {exc}"
        if result is not None and result.confidence != "none" and result.state:
            state = result.state.lower()
            city = result.city or city
            for group in result.districts:
                if group.chamber in allowed:
                    recipients.extend(legislator_recipient(m) for m in group.members)
        elif result is not None:
            note = "The Census found no match for the sample address; showing sample data."
    if state not in STATES:
        state = "pa"
    if not recipients and allowed:
        recipients = _sample_legislators(state, allowed)
    recipients += [fixed_recipient(t) for t in definition.fixed_targets]
    constituent = constituent_values(SAMPLE_NAME, city, state)
    messages = []
    for recipient in recipients:
        try:
            filled = fill_message(definition, constituent, recipient)
        except templating.RenderError as exc:
            messages.append(PreviewMessage(recipient, "", "", str(exc)))
            continue
        messages.append(PreviewMessage(recipient, filled.subject, filled.body.strip()))
    return messages, note
