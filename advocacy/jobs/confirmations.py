"""The ``expire-unconfirmed`` job: actions never confirmed by email are never delivered.

See ``advocacy/actions/confirmation.py``. The scheduler runs it every 15 minutes while
ADVOCACY_REQUIRE_CONFIRMATION is on. Held messages are never delivered unconfirmed either way;
after turning the setting off, run ``advocacy jobs run expire-unconfirmed`` once the last
deadline has passed so the remaining contacts show as expired. A rerun finds nothing to do.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from ..actions.confirmation import expire_unconfirmed_actions
from .registry import JobContext, register_job


def expire_unconfirmed(ctx: JobContext) -> str:
    count = expire_unconfirmed_actions(ctx.now)
    return f"{count} unconfirmed action(s) expired"


def interval(config: Mapping[str, Any]) -> timedelta | None:
    """Every 15 minutes while ADVOCACY_REQUIRE_CONFIRMATION is on; otherwise only on demand."""
    return timedelta(minutes=15) if config.get("REQUIRE_CONFIRMATION") else None


register_job(
    "expire-unconfirmed",
    expire_unconfirmed,
    every=interval,
    description="Expire actions not confirmed by email within 48 hours.",
    lease=timedelta(minutes=10),
)
