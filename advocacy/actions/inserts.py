"""Writing a new action in the caller's transaction, unless the same submission, or a recent
one by the same person, is already there: its constituent, the action, one contact per
recipient and the outbox rows of the emailed ones (and of the confirmation mail).

One query for the checks (the campaign as seen, ``SAME_OR_RECENT``), then one INSERT per
table (the contacts as one batch) with one query between them for the emailed contacts' new
ids, which their outbox rows need (queued in the session: written at its commit).

The caller holds the lock that makes the check hold until its commit (service._serialise).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    insert,
    or_,
    select,
)
from sqlalchemy.engine import Connection

from ..campaigns.models import Campaign
from ..delivery import outbox
from .models import Action, Constituent, Contact


def _counts_as_recent() -> ColumnElement[bool]:
    """An action made since :since that was confirmed, needs no confirmation or may still be
    confirmed (before :now)."""
    return and_(
        Action.created_at > bindparam("since"),
        or_(
            Action.confirm_by.is_(None),
            Action.confirmed_at.is_not(None),
            Action.confirm_by > bindparam("now"),
        ),
    )


# Built once: every submission runs them.
RECENT = (
    select(Action.created_at)
    .where(Action.duplicate_key == bindparam("duplicate_key"), _counts_as_recent())
    .order_by(Action.created_at.desc())
    .limit(1)
)
# The action with this submission key if there is one, else the same person's recent one.
SAME_OR_RECENT = (
    select(Action.submission_key, Action.created_at)
    .where(
        or_(
            Action.submission_key == bindparam("submission_key"),
            and_(Action.duplicate_key == bindparam("duplicate_key"), _counts_as_recent()),
        )
    )
    .order_by(
        (Action.submission_key == bindparam("submission_key")).desc(),
        Action.created_at.desc(),
    )
    .limit(1)
)


class CampaignChanged(Exception):
    """The campaign's status, schedule or current version is no longer the one the caller
    decided on: nothing was written."""


# The campaign row still as the caller saw it.
CAMPAIGN_UNCHANGED = (
    select(Campaign.id)
    .where(
        Campaign.id == bindparam("campaign_id"),
        Campaign.status == bindparam("seen_status"),
        Campaign.current_version_id == bindparam("campaign_version_id"),
        Campaign.starts_at.is_not_distinct_from(bindparam("seen_starts_at")),
        Campaign.ends_at.is_not_distinct_from(bindparam("seen_ends_at")),
    )
    .exists()
)


@dataclass(frozen=True)
class NewAction:
    """The column values of a new action's rows (ids and links are filled in on insert)."""

    constituent: dict[str, Any]
    action: dict[str, Any]  # with submission_key and duplicate_key, without constituent_id
    contacts: list[dict[str, Any]]  # each without action_id, campaign ids and created_at
    campaign_id: int
    campaign_version_id: int
    hold: bool  # the emailed contacts wait for the visitor's confirmation, which is mailed
    now: datetime
    since: datetime  # the start of the duplicate window
    seen_campaign: dict[str, Any]  # seen_status, seen_starts_at, seen_ends_at


class Found(NamedTuple):
    """An action already there: the same submission, or the same person's recent one."""

    submission_key: str
    created_at: datetime


def insert_action(connection: Connection, new: NewAction) -> Found | None:
    """Write ``new``, or return the action found by ``SAME_OR_RECENT`` instead (nothing
    written). ``CampaignChanged`` if the campaign is not as seen: nothing was written."""
    return _insert_per_table(connection, new)


def _check_parameters(new: NewAction) -> dict[str, Any]:
    return {
        "submission_key": new.action["submission_key"],
        "duplicate_key": new.action["duplicate_key"],
        "since": new.since,
        "now": new.now,
        "campaign_id": new.campaign_id,
        "campaign_version_id": new.campaign_version_id,
        **new.seen_campaign,
    }


def _unchanged_and_found(found: Any) -> Any:
    """One row: is the campaign as seen, and the action ``found`` (SAME_OR_RECENT as a CTE)
    finds, or NULLs."""
    return select(
        CAMPAIGN_UNCHANGED,
        select(found.c.submission_key).scalar_subquery(),
        select(found.c.created_at).scalar_subquery(),
    )


# Statements are built once: a statement made per call computes its cache key every time.
_CHECK = _unchanged_and_found(SAME_OR_RECENT.cte("found"))
_INSERT_CONSTITUENT = insert(Constituent).returning(Constituent.id)
_INSERT_ACTION = insert(Action).returning(Action.id)
_INSERT_CONTACTS = insert(Contact)
# The contacts are inserted without RETURNING (the driver sends them together; a many-row
# RETURNING statement costs more to prepare than this query costs to run).
_EMAIL_CONTACTS_OF_ACTION = select(Contact.id).where(
    Contact.action_id == bindparam("action_id"), Contact.channel == "email"
)


def _insert_per_table(connection: Connection, new: NewAction) -> Found | None:
    unchanged, submission_key, created_at = connection.execute(
        _CHECK, _check_parameters(new)
    ).one()
    if not unchanged:
        raise CampaignChanged
    if submission_key is not None:
        return Found(submission_key, created_at)
    now = new.now
    constituent_id = connection.execute(
        _INSERT_CONSTITUENT, {**new.constituent, "created_at": now}
    ).scalar_one()
    action_id = connection.execute(
        _INSERT_ACTION, {**new.action, "constituent_id": constituent_id, "created_at": now}
    ).scalar_one()
    if new.hold:
        outbox.queue("confirmation", action_id=action_id)
    if new.contacts:
        shared = {
            "action_id": action_id,
            "campaign_id": new.campaign_id,
            "campaign_version_id": new.campaign_version_id,
            "created_at": now,
        }
        connection.execute(_INSERT_CONTACTS, [{**shared, **row} for row in new.contacts])
    if any(row["channel"] == "email" for row in new.contacts):
        emailed = connection.execute(_EMAIL_CONTACTS_OF_ACTION, {"action_id": action_id})
        for contact_id in sorted(emailed.scalars()):
            outbox.queue("contact", contact_id=contact_id, held=new.hold)
    return None
