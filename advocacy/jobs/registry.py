"""The periodic jobs the scheduler runs, and how to add one.

A job is a function of one argument, a ``JobContext``, run inside an application context. It
returns a one-line summary (kept as the job's ``last_detail`` and printed by ``advocacy jobs
list``) or raises to fail (the error becomes the detail; the job is retried sooner). It must be
safe to run again after a failure or a crash half-way (the scheduler guarantees that no two runs
of one job overlap, not that a run finishes). It commits its own work.

Adding a job (for instance "expire unconfirmed actions") takes two steps:

1. In your feature, write the function and register it when your module is imported::

       from datetime import timedelta
       from advocacy.jobs.registry import JobContext, register_job

       def expire_unconfirmed(ctx: JobContext) -> str:
           count = expire_unconfirmed_actions(now=ctx.now)   # your service function
           return f"{count} unconfirmed action(s) expired"

       register_job(
           "expire-unconfirmed",
           expire_unconfirmed,
           every=timedelta(hours=1),
           description="Expire actions never confirmed by email.",
       )

2. Add your module's dotted name to ``JOB_MODULES`` below, so the scheduler, ``advocacy jobs``
   and the tests import it.

``every`` is a ``timedelta`` or a function of the app config returning one (``None`` or a zero
interval means the scheduler does not run the job; ``advocacy jobs run NAME`` still does).
``lease`` is how long a host that died mid-run keeps the job before another may run it (a
running job renews its lease, so a long run is never doubled). ``retry_after`` is how soon a
failed run is retried (default: the interval, at most 15 minutes).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

# Modules that register jobs when imported. Add yours here (one line).
JOB_MODULES: tuple[str, ...] = (
    "advocacy.jobs.builtin",
    "advocacy.jobs.confirmations",
    "advocacy.jobs.followups",
    "advocacy.jobs.digests",
    "advocacy.jobs.similarity",
)

DEFAULT_LEASE = timedelta(minutes=15)
MAX_RETRY_AFTER = timedelta(minutes=15)

Interval = timedelta | Callable[[Mapping[str, Any]], timedelta | None]


class JobFailed(RuntimeError):
    """Raise it from a job that could not do (all of) its work; the message says why."""


@dataclass(frozen=True)
class JobContext:
    """What a job run knows: its name, when it started, and how the previous run went."""

    name: str
    now: datetime
    holder: str
    previous_started_at: datetime | None = None
    previous_finished_at: datetime | None = None
    previous_status: str | None = None


@dataclass(frozen=True)
class JobSpec:
    name: str
    func: Callable[[JobContext], str | None]
    every: Interval
    description: str = ""
    lease: timedelta = DEFAULT_LEASE
    retry_after: timedelta | None = None

    def interval(self, config: Mapping[str, Any]) -> timedelta | None:
        """How often the scheduler runs this job, or None when it does not."""
        value = self.every(config) if callable(self.every) else self.every
        if value is None or value <= timedelta(0):
            return None
        return value

    def retry_delay(self, config: Mapping[str, Any]) -> timedelta:
        if self.retry_after is not None:
            return self.retry_after
        return min(self.interval(config) or MAX_RETRY_AFTER, MAX_RETRY_AFTER)


_JOBS: dict[str, JobSpec] = {}
_loaded = False


def register_job(
    name: str,
    func: Callable[[JobContext], str | None],
    *,
    every: Interval,
    description: str = "",
    lease: timedelta = DEFAULT_LEASE,
    retry_after: timedelta | None = None,
) -> JobSpec:
    """Add a job. Names are lower-case words joined by hyphens, at most 80 characters."""
    if not name or len(name) > 80 or not all(part.isalnum() for part in name.split("-")):
        raise ValueError(f"bad job name {name!r}: use lower-case words joined by hyphens")
    if name != name.lower():
        raise ValueError(f"bad job name {name!r}: use lower-case words joined by hyphens")
    if lease <= timedelta(0):
        raise ValueError("a job's lease must be positive")
    spec = JobSpec(name, func, every, description, lease, retry_after)
    existing = _JOBS.get(name)
    if existing is not None and (
        existing.func.__module__,
        existing.func.__qualname__,
    ) != (func.__module__, func.__qualname__):
        raise ValueError(f"two different jobs are named {name!r}")
    _JOBS[name] = spec
    return spec


def load_jobs() -> None:
    global _loaded
    if _loaded:
        return
    for module in JOB_MODULES:
        importlib.import_module(module)
    _loaded = True


def registered_jobs() -> list[JobSpec]:
    load_jobs()
    return [_JOBS[name] for name in sorted(_JOBS)]


def get_job(name: str) -> JobSpec | None:
    load_jobs()
    return _JOBS.get(name)


def describe_interval(spec: JobSpec, config: Mapping[str, Any]) -> str:
    interval = spec.interval(config)
    if interval is None:
        return "off"
    seconds = interval.total_seconds()
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
