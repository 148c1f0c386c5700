"""Writing a new action in the caller's transaction: its constituent, the action, one contact
per recipient and the outbox rows of the emailed ones (and of the confirmation mail).

Any database: one INSERT per table (the contacts as one batch), with one query between them
for the emailed contacts' new ids, which their outbox rows and Message-IDs need.
PostgreSQL: all of it in ONE statement of data-modifying WITH queries, the Message-IDs made
by the database from the new ids by ``outbox.message_id_sql`` (the same ids as
``outbox.contact_row`` and ``outbox.confirmation_row`` make): one round trip instead of five.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, insert, select, text
from sqlalchemy.engine import Connection

from ..dbtypes import JSONType
from ..delivery import outbox
from .models import Action, Constituent, Contact


@dataclass(frozen=True)
class NewAction:
    """The column values of a new action's rows (ids and links are filled in on insert)."""

    constituent: dict[str, Any]
    action: dict[str, Any]  # without constituent_id
    contacts: list[dict[str, Any]]  # each without action_id, campaign ids and created_at
    campaign_id: int
    campaign_version_id: int
    hold: bool  # the emailed contacts wait for the visitor's confirmation, which is mailed
    now: datetime


def insert_action(connection: Connection, new: NewAction) -> None:
    if connection.dialect.name == "postgresql":
        _insert_in_one_statement(connection, new)
    else:
        _insert_per_table(connection, new)


# Built once: every submission runs them.
_INSERT_CONSTITUENT = insert(Constituent).returning(Constituent.id)
_INSERT_ACTION = insert(Action).returning(Action.id)
_INSERT_CONTACTS = insert(Contact)
# The contacts are inserted without RETURNING (the driver sends them together; a many-row
# RETURNING statement costs more to prepare than this query costs to run).
_EMAIL_CONTACTS_OF_ACTION = select(Contact.id).where(
    Contact.action_id == bindparam("action_id"), Contact.channel == "email"
)


def _insert_per_table(connection: Connection, new: NewAction) -> None:
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


def _own_columns(table: Any, *given_by_statement: str) -> list[str]:
    """The columns a NewAction gives values for: all but the id, those the statement fills
    in, and those a new row leaves empty."""
    left_empty = {"anonymised_at", "confirmed_at", "last_error", "sent_at"}
    skipped = {"id", *given_by_statement, *left_empty}
    return [column.name for column in table.columns if column.name not in skipped]


_CONSTITUENT = _own_columns(Constituent.__table__, "created_at")
_ACTION = _own_columns(Action.__table__, "constituent_id", "created_at")
_CONTACT = _own_columns(
    Contact.__table__, "action_id", "campaign_id", "campaign_version_id", "created_at"
)
_OUTBOX_ROW = "SELECT {}, {}, {}, {}, 0, :now, {}, :now, :now"
_CONTACT_OUTBOX_ROW = _OUTBOX_ROW.format(
    "'contact'", "id", "NULL", ":contact_status", outbox.message_id_sql("contact", "", "id")
)
_CONFIRMATION_OUTBOX_ROW = _OUTBOX_ROW.format(
    "'confirmation'", "NULL", "id", "'pending'", outbox.message_id_sql("confirm", "confirm:", "id")
)

# Each WITH query hands its new ids on; the outbox rows come from the contacts' RETURNING.
# (Built once from the models' column names: no value is ever written into the text.)
_INSERT_ALL = text(
    f"""WITH new_constituent AS (
    INSERT INTO constituent (created_at, {", ".join(_CONSTITUENT)})
    VALUES (:now, {", ".join(":" + name for name in _CONSTITUENT)})
    RETURNING id
), new_action AS (
    INSERT INTO action (constituent_id, created_at, {", ".join(_ACTION)})
    SELECT id, :now, {", ".join(":" + name for name in _ACTION)} FROM new_constituent
    RETURNING id
), new_contacts AS (
    INSERT INTO contact (action_id, campaign_id, campaign_version_id, created_at,
        {", ".join(_CONTACT)})
    SELECT new_action.id, :campaign_id, :campaign_version_id, :now,
        {", ".join("r." + name for name in _CONTACT)}
    FROM new_action, json_populate_recordset(NULL::contact, :contacts) WITH ORDINALITY AS r
    ORDER BY r.ordinality
    RETURNING id, channel
)
INSERT INTO outbox (kind, contact_id, action_id, status, attempts, next_attempt_at,
    message_id, created_at, updated_at)
{_CONTACT_OUTBOX_ROW} FROM new_contacts WHERE channel = 'email'
UNION ALL
{_CONFIRMATION_OUTBOX_ROW} FROM new_action WHERE :hold"""  # noqa: S608
).bindparams(
    bindparam("legislator_ids", type_=JSONType),
    bindparam("capped_target_ids", type_=JSONType),
)


def _insert_in_one_statement(connection: Connection, new: NewAction) -> None:
    connection.execute(
        _INSERT_ALL,
        {
            **new.constituent,
            **new.action,
            "now": new.now,
            "campaign_id": new.campaign_id,
            "campaign_version_id": new.campaign_version_id,
            "contacts": json.dumps(new.contacts),
            "contact_status": "held" if new.hold else "pending",
            "hold": new.hold,
            **outbox.stamp_and_domain(new.now, current_app.config["MAIL_FROM"]),
        },
    )
