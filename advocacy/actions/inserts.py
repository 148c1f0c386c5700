"""Writing a new action in the caller's transaction, unless the same submission, or a recent
one by the same person, is already there: its constituent, the action, one contact per
recipient and the outbox rows of the emailed ones (and of the confirmation mail).

Any database: one query for the checks (the campaign as seen, ``SAME_OR_RECENT``), then one
INSERT per table (the contacts as one batch) with one query between them for the emailed
contacts' new ids, which their outbox rows and Message-IDs need.
PostgreSQL: all of it in ONE statement of WITH queries, each insert going on only if the one
before it wrote a row, the Message-IDs made by the database from the new ids
(``outbox.message_id_expression``, the same ids as ``outbox.contact_row`` and
``outbox.confirmation_row`` make): one round trip instead of six.

The caller holds the lock that makes the check hold until its commit (service._serialise).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from flask import current_app
from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal_column,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.engine import Connection

from ..campaigns.models import Campaign
from ..dbtypes import JSONType
from ..delivery import outbox
from ..delivery.models import OutboxMessage
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
    written). ``CampaignChanged`` if the campaign is not as seen: the caller must roll back
    (on PostgreSQL the rows went into its transaction with the check)."""
    if connection.dialect.name != "postgresql":
        return _insert_per_table(connection, new)
    unchanged, submission_key, created_at = connection.execute(_INSERT_ALL, _parameters(new)).one()
    if not unchanged:
        raise CampaignChanged
    return None if submission_key is None else Found(submission_key, created_at)


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
    rows = [outbox.confirmation_row(action_id, now, now)] if new.hold else []
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
        rows.extend(
            outbox.contact_row(contact_id, now, held=new.hold, now=now)
            for contact_id in sorted(emailed.scalars())
        )
    outbox.insert_rows(connection, rows)
    return None


def _own_columns(table: Any, *given_by_statement: str) -> list[str]:
    """The columns a NewAction gives values for: all but the id, those the statement fills
    in, and those a new row leaves empty."""
    left_empty = {"anonymised_at", "confirmed_at", "last_error", "sent_at"}
    skipped = {"id", *given_by_statement, *left_empty}
    return [column.name for column in table.columns if column.name not in skipped]


def _values(table: Any, names: list[str]) -> list[Any]:
    """A parameter per column, named after it (PostgreSQL takes the column's type; JSON is
    serialised by its type here)."""
    return [
        bindparam(name, type_=JSONType) if name in _JSON_COLUMNS else bindparam(name)
        for name in names
    ]


_JSON_COLUMNS = {"legislator_ids", "capped_target_ids"}


def _build_insert_all() -> Any:
    constituents, actions, contacts = (
        Constituent.__table__,
        Action.__table__,
        Contact.__table__,
    )
    now = bindparam("now")
    found = SAME_OR_RECENT.cte("found")

    own = _own_columns(constituents, "created_at")
    new_constituent = (
        insert(constituents)
        .from_select(
            ["created_at", *own],
            select(now, *_values(constituents, own)).where(~exists(found.select())),
        )
        .returning(constituents.c.id)
        .cte("new_constituent")
    )
    own = _own_columns(actions, "constituent_id", "created_at")
    new_action = (
        insert(actions)
        .from_select(
            ["constituent_id", "created_at", *own],
            select(new_constituent.c.id, now, *_values(actions, own)),
        )
        .returning(actions.c.id)
        .cte("new_action")
    )
    own = _own_columns(contacts, "action_id", "campaign_id", "campaign_version_id", "created_at")
    given = func.json_populate_recordset(
        literal_column("NULL::contact"), bindparam("contacts")
    ).table_valued(*own, with_ordinality="ordinality", name="g")  # short: see STATEMENT_LIMIT
    new_contacts = (
        insert(contacts)
        .from_select(
            ["action_id", "campaign_id", "campaign_version_id", "created_at", *own],
            select(
                new_action.c.id,
                bindparam("campaign_id"),
                bindparam("campaign_version_id"),
                now,
                # By name, unlabelled (given.c[name] would add "AS name": see STATEMENT_LIMIT).
                *(literal_column(f"g.{name}") for name in own),
            )
            .select_from(new_action)
            .join(given, true())  # every given row belongs to the one new action
            .order_by(given.c.ordinality),
        )
        .returning(contacts.c.id, contacts.c.channel)
        .cte("new_contacts")
    )

    def outbox_row(kind: str, contact_id: Any, action_id: Any, status: Any, message_id: Any):
        constants = literal_column(f"'{kind}'"), literal_column("0")
        return select(
            constants[0], contact_id, action_id, status, constants[1], now, message_id, now, now
        )

    new_outbox = (
        insert(OutboxMessage.__table__)
        .from_select(
            [
                "kind",
                "contact_id",
                "action_id",
                "status",
                "attempts",
                "next_attempt_at",
                "message_id",
                "created_at",
                "updated_at",
            ],
            union_all(
                outbox_row(
                    "contact",
                    new_contacts.c.id,
                    null(),
                    bindparam("contact_status"),
                    outbox.message_id_expression("contact", "", new_contacts.c.id),
                ).where(new_contacts.c.channel == "email"),
                outbox_row(
                    "confirmation",
                    null(),
                    new_action.c.id,
                    literal_column("'pending'"),
                    outbox.message_id_expression("confirm", "confirm:", new_action.c.id),
                ).where(bindparam("hold")),
            ),
        )
        .cte("new_outbox")
    )
    # One row: was the campaign as seen (if not, the caller's rollback undoes the writes),
    # and what was found instead of writing, if anything. The outbox insert is run although
    # nothing reads its result (add_cte).
    return _unchanged_and_found(found).add_cte(new_outbox)


_INSERT_ALL = _build_insert_all()
# psycopg keeps its conversion of a query (placeholders to $n) only for texts up to 4096
# bytes (``MAX_CACHED_STATEMENT_LENGTH``); a longer one is parsed again on every call (about
# 0.1 ms). A test keeps the compiled statement under this.
STATEMENT_LIMIT = 4096


def _parameters(new: NewAction) -> dict[str, Any]:
    return {
        **new.constituent,
        **new.action,
        **_check_parameters(new),
        "campaign_id": new.campaign_id,
        "campaign_version_id": new.campaign_version_id,
        "contacts": json.dumps(new.contacts),
        "contact_status": "held" if new.hold else "pending",
        "hold": new.hold,
        **outbox.stamp_and_domain(new.now, current_app.config["MAIL_FROM"]),
    }
