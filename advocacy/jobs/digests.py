"""The ``build-digests`` job: each day at ADVOCACY_DIGEST_HOUR (ADVOCACY_TIMEZONE), one digest
per digest campaign and recipient of the messages written to them before that hour, queued in
the outbox (see ``advocacy/actions/digests.py``). It runs every 5 minutes and finds nothing to
do until the hour has come; a rerun, or a second scheduler, never makes a digest twice.
"""

from __future__ import annotations

from datetime import timedelta

from ..actions.digests import build_due_digests
from .registry import JobContext, register_job


def build_digests(ctx: JobContext) -> str:
    return build_due_digests(ctx.now).summary()


register_job(
    "build-digests",
    build_digests,
    every=timedelta(minutes=5),  # a digest leaves within minutes of its hour
    description="Build and queue the daily digests of digest campaigns (ADVOCACY_DIGEST_HOUR).",
    lease=timedelta(minutes=10),
)
