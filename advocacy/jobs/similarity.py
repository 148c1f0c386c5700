"""The ``measure-similarity`` job: the similarity of each message sent since its last run to
the others its office got through the campaign that day, for the tallies (see
``advocacy/actions/coach.py``). The send leaves it out to stay light. Every minute, so the
staff dashboard says "not measured yet" only of the last minute's messages; a rerun finds
nothing to do.
"""

from __future__ import annotations

from datetime import timedelta

from ..actions.coach import measure_pending
from .registry import JobContext, register_job


def measure_similarity(ctx: JobContext) -> str:
    return f"{measure_pending()} message(s) measured"


register_job(
    "measure-similarity",
    measure_similarity,
    every=timedelta(minutes=1),
    description="Measure how alike each new message is to the others its office got through "
    "the campaign that day (the tallies' average similarity).",
    lease=timedelta(minutes=5),
)
