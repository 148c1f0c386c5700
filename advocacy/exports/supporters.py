"""The supporter export: people who acted on a campaign AND asked to hear from the organisation
(opt-in). Admins only, audited. Nobody who did not opt in, and nobody whose data retention has
removed, is ever in it. One row per email address (its latest action), streamed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from ..actions.models import Action, Constituent
from ..campaigns.models import Campaign
from ..extensions import db
from .csvstream import csv_chunks

HEADER = (
    "name",
    "email",
    "phone",
    "street_address",
    "city",
    "state",
    "zip_code",
    "last_action_at",
)


def statement(campaign: Campaign) -> sa.Select[Any]:
    email_key = sa.func.lower(Constituent.email)
    return (
        sa.select(
            email_key.label("email_key"),
            Constituent.name,
            Constituent.email,
            Constituent.phone,
            Constituent.street_address,
            Constituent.city,
            Constituent.state,
            Constituent.zip_code,
            Action.created_at,
        )
        .select_from(Action)
        .join(Constituent, Constituent.id == Action.constituent_id)
        .where(
            Action.campaign_id == campaign.id,
            Constituent.opt_in.is_(True),
            Constituent.anonymised_at.is_(None),
            Constituent.email.is_not(None),
        )
        .order_by(email_key, Action.created_at.desc(), Action.id.desc())
    )


def iter_rows(campaign: Campaign, zone_name: str) -> Iterator[tuple[Any, ...]]:
    """The latest details of each opted-in email address, in address order (streamed)."""
    zone = ZoneInfo(zone_name)
    result = db.session.execute(statement(campaign), execution_options={"yield_per": 1000})
    previous: str | None = None
    for key, *details, acted_at in result:
        if key == previous:  # an older action of the same person
            continue
        previous = key
        yield (*details, acted_at.astimezone(zone).isoformat(timespec="seconds"))


def csv_stream(
    campaign: Campaign, zone_name: str, on_rows: Callable[[int], None] | None = None
) -> Iterator[bytes]:
    return csv_chunks(HEADER, iter_rows(campaign, zone_name), on_rows=on_rows)
