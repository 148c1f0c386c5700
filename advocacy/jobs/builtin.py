"""The jobs the site ships with.

=====================  ==========================================  =========
job                    what it does                                how often
=====================  ==========================================  =========
directory-refresh      reload legislator rosters from Open States  daily
                       (then new or changed legislators' photos)
campaign-schedule      record campaigns opening/ending by time     1 minute
retention              apply the data retention policy             daily
dead-letter-alert      alert staff about new dead letters          5 minutes
=====================  ==========================================  =========

Campaign opening and closing by time: a live campaign's public page already opens at its
``starts_at`` and closes at its ``ends_at`` on every request (``campaigns.service.public_state``),
so visitors see the right thing even if no scheduler runs. The ``campaign-schedule`` job makes
the moment explicit: it records ``campaign.opened_by_schedule`` and
``campaign.ended_by_schedule`` in the audit log (once per campaign and time; a changed time is
a new event) and logs it. It does **not** change the campaign's status: a file-defined campaign
is owned by its file (a status written by the site would be undone by the next
``campaigns sync``), and an admin campaign keeps "live" with the public state "ended", which the
staff pages show. Closing it for good stays a staff decision (Close in the admin).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import or_, select

from ..admin import audit
from ..admin.models import AuditEntry
from ..campaigns.models import Campaign
from ..extensions import db
from .alerts import check_dead_letters
from .registry import JobContext, JobFailed, register_job

log = logging.getLogger(__name__)


# -- directory-refresh ------------------------------------------------------------------------


def refresh_states() -> list[str]:
    """The states the refresh reloads: those already loaded, else every state."""
    from ..lookup.directory import directory_states
    from ..lookup.registry import STATES

    loaded = sorted(row.state for row in directory_states())
    return loaded or list(STATES)


def directory_refresh(ctx: JobContext) -> str:
    from ..admin.operations import refresh_directory
    from ..lookup.photos import sync_photos

    results = refresh_directory(refresh_states(), actor="scheduler")  # audited, committed
    # New and changed photos of the states reloaded; a photo that cannot be had is skipped.
    photos = sync_photos([r.state for r in results if r.ok])
    failed = [r for r in results if not r.ok]
    for result in failed:  # once per state, with what went wrong
        log.warning(
            "directory refresh: %s not reloaded: %s",
            result.state.upper(),
            result.error,
            extra={"upstream": "openstates_bulk", "state": result.state.upper()},
        )
    summary = f"{len(results) - len(failed)} of {len(results)} state(s) reloaded"
    if failed:
        raise JobFailed(
            summary
            + "; failed: "
            + ", ".join(f"{r.state.upper()} ({r.error})" for r in failed)
            + f"; {photos.summary()}"
        )
    return f"{summary}; {photos.summary()}"


# -- campaign-schedule ------------------------------------------------------------------------

OPENED = "campaign.opened_by_schedule"
ENDED = "campaign.ended_by_schedule"


def campaign_schedule(ctx: JobContext) -> str:
    now = ctx.now
    campaigns = list(
        db.session.scalars(
            select(Campaign).where(
                Campaign.status.in_(("live", "paused")),
                or_(Campaign.starts_at <= now, Campaign.ends_at <= now),
            )
        )
    )
    if not campaigns:
        db.session.commit()
        return "0 opened, 0 ended"
    recorded = {
        (entry.action, entry.subject, (entry.detail or {}).get("at"))
        for entry in db.session.scalars(
            select(AuditEntry).where(
                AuditEntry.action.in_((OPENED, ENDED)),
                AuditEntry.subject.in_([c.slug for c in campaigns]),
            )
        )
    }
    opened = ended = 0
    for campaign in campaigns:
        version = campaign.current_version
        # Only a time that was still ahead when the current version was saved is a scheduled
        # transition (a campaign launched after its start time simply opened at launch).
        since = version.created_at if version is not None else campaign.created_at
        events = []
        if (
            campaign.status == "live"
            and campaign.starts_at is not None
            and since <= campaign.starts_at <= now
        ):
            events.append((OPENED, campaign.starts_at))
        if campaign.ends_at is not None and since <= campaign.ends_at <= now:
            events.append((ENDED, campaign.ends_at))
        for action, at in events:
            key = (action, campaign.slug, at.isoformat())
            if key in recorded:
                continue
            audit.record(
                action,
                campaign.slug,
                {"at": at.isoformat(), "noticed_at": now.isoformat(), "status": campaign.status},
                actor="scheduler",
            )
            recorded.add(key)
            log.info(
                "campaign %s %s by its schedule at %s",
                campaign.slug,
                "opened" if action == OPENED else "ended",
                at.isoformat(),
                extra={"campaign": campaign.slug},
            )
            if action == OPENED:
                opened += 1
            else:
                ended += 1
    db.session.commit()
    return f"{opened} opened, {ended} ended"


# -- retention --------------------------------------------------------------------------------


def retention(ctx: JobContext) -> str:
    try:
        from ..exports.retention import apply_retention
    except ModuleNotFoundError as exc:
        if exc.name != "advocacy.exports.retention":
            raise
        raise JobFailed(
            "the retention module (advocacy.exports.retention) is not installed"
        ) from exc
    report = apply_retention(ctx.now)  # records its own audit entry
    for attribute in ("message", "summary"):
        text = getattr(report, attribute, None)
        text = text() if callable(text) else text
        if isinstance(text, str) and text:
            return text
    return str(report)


# -- dead-letter-alert ------------------------------------------------------------------------


def dead_letter_alert(ctx: JobContext) -> str:
    return check_dead_letters(ctx.now)


register_job(
    "directory-refresh",
    directory_refresh,
    every=timedelta(hours=24),  # rosters change rarely: a day-old copy is recent enough
    description="Reload legislator rosters from Open States (ADVOCACY_OPENSTATES_DATA_URL), "
    "then download new or changed legislators' photos.",
    lease=timedelta(minutes=30),
    retry_after=timedelta(hours=1),
)
register_job(
    "campaign-schedule",
    campaign_schedule,
    every=timedelta(minutes=1),  # the audit log notes a start or end within a minute
    description="Record campaigns opening and ending at their set times (audit log).",
    lease=timedelta(minutes=5),
)
register_job(
    "retention",
    retention,
    every=timedelta(hours=24),  # ADVOCACY_RETENTION_DAYS counts whole days
    description="Apply the retention policy (ADVOCACY_RETENTION_DAYS; 0 keeps everything).",
    lease=timedelta(minutes=30),
    retry_after=timedelta(hours=1),
)
register_job(
    "dead-letter-alert",
    dead_letter_alert,
    every=timedelta(minutes=5),  # staff hear of undeliverable mail within minutes
    description="Log and mail (ADVOCACY_ALERT_EMAIL) new dead letters to staff.",
    lease=timedelta(minutes=5),
)
