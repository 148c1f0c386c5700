from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..dbtypes import UTCDateTime
from ..extensions import db


class JobLease(db.Model):  # type: ignore[name-defined]
    """One row per periodic job: who holds it now, until when, and how its last run went.

    A scheduler takes a job by an atomic UPDATE of an expired lease, so two schedulers on two
    hosts never run the same job at once.
    """

    __tablename__ = "job_lease"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(120))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status: Mapped[str | None] = mapped_column(String(16))  # ok | failed
    last_detail: Mapped[str | None] = mapped_column(Text)
