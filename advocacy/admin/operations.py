"""What the staff pages show and do beyond editing: delivery state per campaign, the
directory's age and refresh, and message previews."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from flask_login import current_user
from markupsafe import escape
from sqlalchemy import delete, func, or_, select, update

from ..actions.drafts import fill_message
from ..actions.models import Action, Contact, Digest
from ..actions.recipients import (
    Recipient,
    chambers_for,
    constituent_values,
    legislator_recipient,
    lookup_chambers,
    resolve,
)
from ..campaigns import templating
from ..campaigns.loader import LANGUAGE_NAMES
from ..campaigns.models import Campaign
from ..campaigns.schema import CampaignDefinition, CommitteeTarget, StateLegislatorsTarget
from ..campaigns.service import definition_of
from ..dbtypes import utcnow
from ..delivery.bounces import bounce_prefix
from ..delivery.models import Bounce, OutboxMessage
from ..delivery.outbox import retry_dead_letters
from ..extensions import db
from ..lookup import changes, directory, offices, reports
from ..lookup.directory import natural_key
from ..lookup.models import AddressOverride, DirectoryRefresh, DistrictReport, RosterChange
from ..lookup.openstates import holds_on, people_source
from ..lookup.registry import STATES, state_info
from ..lookup.service import (
    BadAddress,
    CensusUnavailable,
    forget_cached_answer,
    lookup_address,
)
from ..urls import public_url
from . import audit

CONTACT_STATUS_ORDER = (
    "queued",
    "awaiting_digest",
    "failed",
    "sent",
    "logged",
    "called",
    "bounced",
    "dead",
    "recipient_left",
    "discarded",
)
DISCARDED = "not sent: the recipient had left office, and staff discarded it"


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
        .where(
            mine,
            Contact.last_error.is_not(None),
            Contact.status.not_in(("recipient_left", "discarded")),  # decisions, not failures
        )
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


# The frame's height where JavaScript does not size it (static/embed.js): the campaign form
# and its privacy note fit without an inner scroll bar on a phone.
EMBED_HEIGHT = 1100


@dataclass(frozen=True)
class EmbedSnippet:
    code: str
    origins: list[str]


def embed_snippet(campaign: Campaign) -> EmbedSnippet | None:
    """The HTML a partner pastes into their page to show the campaign's action (its current
    version allows their site), or None when the campaign lists no partners."""
    # The stored version as saved (checked by the schema then): the page reads one option.
    saved = campaign.current_version.definition if campaign.current_version else None
    embed = saved.get("embed") if isinstance(saved, dict) else None
    origins = embed.get("allowed_origins") if isinstance(embed, dict) else None
    if not origins:
        return None
    src = public_url("actions.campaign_page", slug=campaign.slug, embedded=True)
    title = escape(f"Take action: {campaign.title}")
    script = public_url("static", filename="embed.js")
    code = (
        f'<iframe src="{src}" title="{title}" loading="lazy" style="width:100%;border:0" '
        f'height="{EMBED_HEIGHT}"></iframe>\n<script src="{script}" async></script>'
    )
    return EmbedSnippet(code, [str(origin) for origin in origins])


def committee_problems(campaign: Campaign) -> list[str]:
    """The campaign's committee targets the directory cannot find today (a misspelt name, a
    name two committees share, a committee gone at the last refresh): visitors write to no
    one through them."""
    version = campaign.current_version
    saved = version.definition.get("targets") if version is not None else None
    if version is None or not any(
        isinstance(t, dict) and t.get("type") == "committee" for t in saved or []
    ):
        return []
    definition = definition_of(version)
    committees = [t for t in definition.targets if isinstance(t, CommitteeTarget)]
    if not committees:
        return []
    return resolve(definition.model_copy(update={"targets": committees}), []).problems


def retry_campaign_dead_letters(campaign: Campaign) -> int:
    """The same operation as ``advocacy deliver retry --campaign SLUG``, audited."""
    count = retry_dead_letters(campaign.slug)
    audit.record("delivery.retried", campaign.slug, {"requeued": count})
    db.session.commit()
    return count


@dataclass(frozen=True)
class HeldRecipient:
    """Messages of a campaign held because their recipient left office, for one recipient."""

    target_id: str
    name: str
    kind: str
    where: str  # "House, Hillsborough 23", "House Judiciary", "Governor of New Hampshire"
    messages: int
    since: datetime  # the oldest one's time


def _where(kind: str, state: str | None, chamber: str | None, district: str | None) -> str:
    if not state:
        return ""
    if kind == "executive":
        return f"{district} of {state_info(state.lower()).name}"
    if kind == "committee":
        return f"{state.upper()}, {district} committee"
    return f"{state.upper()}, {changes.seat(state.lower(), chamber or '', district or '')}"


def held_recipients(campaign: Campaign) -> list[HeldRecipient]:
    """The campaign's messages held because their recipient left office, by recipient."""
    rows = db.session.execute(
        select(
            Contact.target_id,
            Contact.target_name,
            Contact.target_kind,
            Contact.target_state,
            Contact.target_chamber,
            Contact.target_district,
            func.count(),
            func.min(Contact.created_at),
        )
        .where(Contact.campaign_id == campaign.id, Contact.status == "recipient_left")
        .group_by(
            Contact.target_id,
            Contact.target_name,
            Contact.target_kind,
            Contact.target_state,
            Contact.target_chamber,
            Contact.target_district,
        )
        .order_by(Contact.target_name)
    ).all()
    return [
        HeldRecipient(
            target_id=target_id,
            name=name,
            kind=kind,
            where=_where(kind, state, chamber, district),
            messages=int(count),
            since=since,
        )
        for target_id, name, kind, state, chamber, district, count, since in rows
    ]


def _held_contact_ids(campaign: Campaign, target_id: str) -> list[int]:
    return list(
        db.session.scalars(
            select(Contact.id).where(
                Contact.campaign_id == campaign.id,
                Contact.target_id == target_id,
                Contact.status == "recipient_left",
            )
        )
    )


def decide_held(campaign: Campaign, target_id: str, decision: str) -> tuple[str, int]:
    """Send anyway (``send``: back in the queue, never held again for this reason) or discard
    (``discard``: never sent) the campaign's messages held because ``target_id`` left office.
    Audited; commits. Returns the recipient's name and how many messages it decided."""
    if decision not in ("send", "discard"):
        raise ValueError(f"unknown decision {decision!r}")
    ids = _held_contact_ids(campaign, target_id)
    name = db.session.scalar(select(Contact.target_name).where(Contact.id.in_(ids)).limit(1))
    if not ids:
        return "", 0
    now = utcnow()
    # Their own messages, or the daily digests that carry them (a digest campaign's).
    digests = select(Digest.outbox_id).where(
        Digest.id.in_(select(Contact.digest_id).where(Contact.id.in_(ids)))
    )
    messages = or_(OutboxMessage.contact_id.in_(ids), OutboxMessage.id.in_(digests))
    if decision == "send":
        db.session.execute(
            update(OutboxMessage)
            .where(messages, OutboxMessage.status == "held")
            .values(status="pending", attempts=0, next_attempt_at=now, updated_at=now)
        )
        db.session.execute(
            update(Contact)
            .where(Contact.id.in_(ids))
            .values(status="queued", send_anyway_at=now, last_error=None)
        )
    else:
        db.session.execute(delete(OutboxMessage).where(messages, OutboxMessage.status == "held"))
        db.session.execute(
            update(Contact)
            .where(Contact.id.in_(ids))
            .values(status="discarded", last_error=DISCARDED)
        )
    audit.record(
        "delivery.sent_anyway" if decision == "send" else "delivery.discarded",
        campaign.slug,
        {"target_id": target_id, "target_name": name, "messages": len(ids)},
    )
    db.session.commit()
    return name or target_id, len(ids)


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
class BouncingAddress:
    """A recipient's address that messages bounced from after they were sent."""

    address: str
    names: tuple[str, ...]  # whom the messages were written to at that address
    bounces: int
    last_at: datetime
    last_status: str | None
    last_reason: str


def bouncing_addresses() -> list[BouncingAddress]:
    """Every address a sent message bounced back from, the most recent first."""
    rows = db.session.execute(
        select(
            Contact.target_email,
            Contact.target_name,
            Bounce.received_at,
            Bounce.status,
            Bounce.reason,
        )
        .join(OutboxMessage, OutboxMessage.id == Bounce.outbox_id)
        .join(Contact, Contact.id == OutboxMessage.contact_id)
        .order_by(Bounce.received_at.desc(), Bounce.id.desc())
    ).all()
    found: dict[str, dict[str, Any]] = {}
    for address, name, received_at, status, reason in rows:
        key = (address or "").lower()
        entry = found.get(key)
        if entry is None:  # the first row of an address is its latest bounce
            found[key] = entry = {
                "address": address or "(no address)",
                "names": [],
                "bounces": 0,
                "last_at": received_at,
                "last_status": status,
                "last_reason": reason,
            }
        entry["bounces"] += 1
        if name not in entry["names"]:
            entry["names"].append(name)
    return [
        BouncingAddress(**{**entry, "names": tuple(entry["names"])}) for entry in found.values()
    ]


def bounce_addresses_on() -> bool:
    return bool(bounce_prefix(current_app.config))


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
    # For campaign files: each committee as (chamber, name, id, members listed), and each
    # executive official as (office, name, in office today).
    committees: list[tuple[str, str, str, int]] = field(default_factory=list)
    officials: list[tuple[str, str, bool]] = field(default_factory=list)


STATE_CHANGE_LINES = 500


def state_directory(state: str) -> StateDirectory | None:
    """One state's last refreshes, its recorded changes and who takes office later (None: not
    a state we cover)."""
    code = state.lower()
    if code not in STATES:
        return None
    today = directory.site_today()
    return StateDirectory(
        state=code.upper(),
        name=state_info(code).name,
        refreshes=changes.last_refreshes(code),
        changes=_lines(changes.changes_since(None, [code], limit=STATE_CHANGE_LINES)),
        incoming=[
            (p.name, changes.seat(code, p.chamber, p.district), p.starts_on)
            for p in changes.incoming(code)
        ],
        committees=[
            (committee.chamber, committee.name, committee.id, members)
            for committee, members in offices.committees_in_state(code)
        ],
        officials=[
            (
                offices.office_title(official.office),
                official.name,
                holds_on(official.starts_on, official.ends_on, today),
            )
            for official in offices.officials_in_state(code)
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


# -- wrong-district reports -------------------------------------------------------------------


@dataclass(frozen=True)
class ReportLine:
    """A visitor's wrong-district report as staff review it."""

    report: DistrictReport
    state: str
    shown: list[str]  # "House district Merrimack 12", ...
    proposed: list[str]
    override_in_force: bool  # the address's override is this report's


def district_reports() -> tuple[list[ReportLine], list[tuple[AddressOverride, list[str]]]]:
    """Reports newest first, and the overrides in force with their districts in words."""
    active = {o.address: o for o in reports.overrides()}
    lines = [
        ReportLine(
            report=report,
            state=report.state.upper(),
            shown=[reports.district_label(report.state, key) for key in report.shown],
            proposed=[reports.district_label(report.state, key) for key in report.proposed],
            override_in_force=getattr(active.get(report.address), "report_id", None) == report.id,
        )
        for report in reports.recent_reports()
    ]
    in_force = [
        (override, [reports.district_label(override.state, key) for key in override.districts])
        for override in active.values()
    ]
    return lines, in_force


def _actor() -> str:
    return getattr(current_user, "email", None) or "anonymous"


def approve_report(report_id: int) -> DistrictReport:
    """Approve a report: its districts become the override for its address (the lookup uses
    them before the Census). Audited; commits. Raises ``reports.ReportProblem``."""
    report, override = reports.approve(report_id, _actor())
    forget_cached_answer(report.address)
    audit.record(
        "district_report.approved",
        f"report {report.id}",
        {"address": report.address, "state": report.state, "districts": override.districts},
    )
    db.session.commit()
    return report


def dismiss_report(report_id: int) -> DistrictReport:
    """Dismiss a report (it is kept). Audited; commits. Raises ``reports.ReportProblem``."""
    report = reports.dismiss(report_id, _actor())
    audit.record("district_report.dismissed", f"report {report.id}", {"state": report.state})
    db.session.commit()
    return report


def remove_override(address: str) -> None:
    """Stop using an address's override. Audited; commits. Raises ``reports.ReportProblem``."""
    override = reports.remove_override(address)
    forget_cached_answer(address)
    audit.record(
        "address_override.removed",
        address,
        {"state": override.state, "districts": override.districts},
    )
    db.session.commit()


# -- preview ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreviewMessage:
    recipient: Recipient
    subject: str
    body: str
    error: str | None = None
    language: str = "en"  # of the campaign's texts it was filled from

    @property
    def language_name(self) -> str:
        return LANGUAGE_NAMES.get(self.language, self.language)


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
    needed = lookup_chambers(definition)
    notes: list[str] = []
    city = "Springfield"
    legislators: list[Recipient] = []
    found_ids: list[str] = []
    if address:
        try:
            result = lookup_address(address)
        except (BadAddress, CensusUnavailable) as exc:
            result = None
            notes.append(f"The sample address could not be looked up: {exc}")
        if result is not None and result.confidence != "none" and result.state:
            state = result.state.lower()
            city = result.city or city
            found_ids = result.member_ids(needed)
            for group in result.districts:
                if group.chamber in allowed:
                    legislators.extend(legislator_recipient(m) for m in group.members)
        elif result is not None:
            notes.append("The Census found no match for the sample address; showing sample data.")
    if state not in STATES:
        state = "pa"
    if not legislators and not found_ids and needed:
        sample = _sample_legislators(state, needed)
        found_ids = [r.id for r in sample]
        legislators = [r for r in sample if r.chamber in allowed]
    constituent = constituent_values(SAMPLE_NAME, city, state)
    messages = []
    # The same sample visitor writing in each language the campaign is written in (a target's
    # own letter is that language's, so every other target is resolved for each).
    for code in definition.languages:
        localized = definition.in_language(code)
        others = [t for t in localized.targets if not isinstance(t, StateLegislatorsTarget)]
        resolved = resolve(localized.model_copy(update={"targets": others}), found_ids, state)
        if code == "en":
            notes += resolved.notes + [f"Not found: {problem}" for problem in resolved.problems]
        seen = {r.id for r in legislators}
        recipients = legislators + [r for r in resolved.recipients if r.id not in seen]
        for recipient in recipients:
            try:
                filled = fill_message(localized, constituent, recipient)
            except templating.RenderError as exc:
                messages.append(PreviewMessage(recipient, "", "", str(exc), code))
                continue
            messages.append(
                PreviewMessage(recipient, filled.subject, filled.body.strip(), language=code)
            )
    return messages, " ".join(notes) or None
