from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..dbtypes import JSONType, UTCDateTime, utcnow
from ..extensions import db

CAMPAIGN_STATUSES = ("draft", "live", "paused", "closed")


class Campaign(db.Model):  # type: ignore[name-defined]
    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # "file": defined by a YAML file in the campaigns folder; "admin": edited in the site.
    source: Mapped[str] = mapped_column(String(16), default="file")
    source_path: Mapped[str | None] = mapped_column(String(500))
    # Archived campaigns are closed and hidden from the admin's default list.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaign_version.id", use_alter=True)
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    current_version: Mapped[CampaignVersion | None] = relationship(
        foreign_keys=[current_version_id], post_update=True
    )
    versions: Mapped[list[CampaignVersion]] = relationship(
        back_populates="campaign",
        foreign_keys="CampaignVersion.campaign_id",
        order_by="CampaignVersion.number",
    )


class CampaignVersion(db.Model):  # type: ignore[name-defined]
    """An immutable snapshot of a campaign definition; contacts point at the one they used."""

    __tablename__ = "campaign_version"
    __table_args__ = (UniqueConstraint("campaign_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    number: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64))
    definition: Mapped[dict[str, Any]] = mapped_column(JSONType)
    source_text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    campaign: Mapped[Campaign] = relationship(back_populates="versions", foreign_keys=[campaign_id])
