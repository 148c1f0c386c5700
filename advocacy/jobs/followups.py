"""The ``follow-ups`` job: queue the "did they reply?" mails that are due.

See ``advocacy/actions/followups.py``. Hourly: a campaign's ``follow_up.days`` counts whole
days, so a mail goes out within an hour of being due. A rerun finds nothing to do (each action
has one follow-up at most).
"""

from __future__ import annotations

from datetime import timedelta

from ..actions.followups import queue_due_follow_ups
from .registry import JobContext, register_job


def follow_ups(ctx: JobContext) -> str:
    count = queue_due_follow_ups(ctx.now)
    return f'{count} "did they reply?" mail(s) queued'


register_job(
    "follow-ups",
    follow_ups,
    every=timedelta(hours=1),
    description='Queue the "did they reply?" mails of campaigns with follow_up (days after '
    "sending).",
    lease=timedelta(minutes=15),
)
