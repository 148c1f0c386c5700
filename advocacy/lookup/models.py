from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..dbtypes import JSONType, UTCDateTime, utcnow
from ..extensions import db


class DirectoryState(db.Model):  # type: ignore[name-defined]
    """One state's roster as last loaded: when, from where, and how many people."""

    __tablename__ = "directory_state"

    state: Mapped[str] = mapped_column(String(2), primary_key=True)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    source: Mapped[str] = mapped_column(String(500))
    content_hash: Mapped[str] = mapped_column(String(64))
    legislator_count: Mapped[int] = mapped_column(default=0)


class District(db.Model):  # type: ignore[name-defined]
    """A legislative district with its seat count (from Open States' metadata)."""

    __tablename__ = "district"
    __table_args__ = (Index("ix_district_state_chamber", "state", "chamber"),)

    division_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    chamber: Mapped[str] = mapped_column(String(16), primary_key=True)
    district: Mapped[str] = mapped_column(String(120), primary_key=True)
    state: Mapped[str] = mapped_column(String(2))
    seats: Mapped[int] = mapped_column(default=1)


class Legislator(db.Model):  # type: ignore[name-defined]
    __tablename__ = "legislator"
    __table_args__ = (
        Index("ix_legislator_division", "division_id", "chamber"),
        Index("ix_legislator_state_chamber_district", "state", "chamber", "district"),
    )

    id: Mapped[str] = mapped_column(String(80), primary_key=True)  # ocd-person/...
    state: Mapped[str] = mapped_column(String(2))
    chamber: Mapped[str] = mapped_column(String(16))
    district: Mapped[str] = mapped_column(String(120))
    division_id: Mapped[str | None] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    given_name: Mapped[str | None] = mapped_column(String(120))
    family_name: Mapped[str | None] = mapped_column(String(120))
    # As Open States records it ("Female", "Male"), or None: for a Spanish letter's title.
    gender: Mapped[str | None] = mapped_column(String(40))
    party: Mapped[str | None] = mapped_column(String(80))
    email: Mapped[str | None] = mapped_column(String(320))
    capitol_phone: Mapped[str | None] = mapped_column(String(60))
    district_phone: Mapped[str | None] = mapped_column(String(60))
    # Another number of the legislature's own (Open States' "extra phone" and the like).
    extra_phone: Mapped[str | None] = mapped_column(String(60))
    capitol_address: Mapped[str | None] = mapped_column(String(400))
    district_address: Mapped[str | None] = mapped_column(String(400))
    image: Mapped[str | None] = mapped_column(String(500))
    links: Mapped[str | None] = mapped_column(Text)
    # The seat's term: a member holds it from starts_on up to the day before ends_on (the site's
    # date); one whose term has not started yet is kept but is no one's target until then.
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DirectoryRefresh(db.Model):  # type: ignore[name-defined]
    """One attempt to reload one state's roster, and how it went."""

    __tablename__ = "directory_refresh"
    __table_args__ = (Index("ix_directory_refresh_state_at", "state", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(2))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(320))  # a staff email, "cli" or "scheduler"
    # loaded | failed (the source could not be read) | refused (too many would leave)
    outcome: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(500))
    legislators: Mapped[int] = mapped_column(default=0)  # in the directory afterwards
    joined: Mapped[int] = mapped_column(default=0)
    left: Mapped[int] = mapped_column(default=0)
    changed: Mapped[int] = mapped_column(default=0)
    note: Mapped[str | None] = mapped_column(Text)  # why it failed or was refused; warnings


class RosterChange(db.Model):  # type: ignore[name-defined]
    """History of directory syncs: who joined, left, or changed district or contact."""

    __tablename__ = "roster_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(2), index=True)
    refresh_id: Mapped[int | None] = mapped_column(ForeignKey("directory_refresh.id"), index=True)
    person_id: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # joined | left | changed
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LookupCacheEntry(db.Model):  # type: ignore[name-defined]
    """Normalised address -> what the geocoder said (districts, matched address)."""

    __tablename__ = "lookup_cache"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class Vacancy(db.Model):  # type: ignore[name-defined]
    """A known vacant seat (Open States' settings.yml), until a date."""

    __tablename__ = "vacancy"

    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(2), ForeignKey("directory_state.state"))
    chamber: Mapped[str] = mapped_column(String(16))
    district: Mapped[str] = mapped_column(String(120))
    vacant_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LegislatorPhoto(db.Model):  # type: ignore[name-defined]
    """A legislator's photo as we downloaded it: from which URL, kept as which picture."""

    __tablename__ = "legislator_photo"

    person_id: Mapped[str] = mapped_column(String(80), primary_key=True)  # ocd-person/...
    source_url: Mapped[str] = mapped_column(String(500))  # Open States' image URL
    image_name: Mapped[str] = mapped_column(String(80))  # a StoredImage (kind "photo")
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Committee(db.Model):  # type: ignore[name-defined]
    """A committee of a state legislature, as Open States' committee files list it."""

    __tablename__ = "committee"
    __table_args__ = (Index("ix_committee_state_chamber", "state", "chamber"),)

    id: Mapped[str] = mapped_column(String(80), primary_key=True)  # ocd-organization/...
    state: Mapped[str] = mapped_column(String(2))
    # upper | lower | legislature (a joint committee, or Nebraska's and DC's one chamber)
    chamber: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CommitteeMember(db.Model):  # type: ignore[name-defined]
    """One member of a committee with their role there, in the file's order."""

    __tablename__ = "committee_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    committee_id: Mapped[str] = mapped_column(ForeignKey("committee.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    # A legislator's ocd-person id; None when the file names the member only.
    person_id: Mapped[str | None] = mapped_column(String(80), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(80))  # "chair", "vice chair", "member", ...


class ExecutiveOfficial(db.Model):  # type: ignore[name-defined]
    """A state's executive official (governor, attorney general, ...) and the office's term:
    held from starts_on up to the day before ends_on, like a legislator's seat."""

    __tablename__ = "executive_official"
    __table_args__ = (Index("ix_executive_official_state_office", "state", "office"),)

    id: Mapped[str] = mapped_column(String(80), primary_key=True)  # ocd-person/...
    state: Mapped[str] = mapped_column(String(2))
    office: Mapped[str] = mapped_column(String(60))  # "governor", "attorney general", ...
    name: Mapped[str] = mapped_column(String(200))
    given_name: Mapped[str | None] = mapped_column(String(120))
    family_name: Mapped[str | None] = mapped_column(String(120))
    # As Open States records it ("Female", "Male"), or None: for a Spanish letter's title.
    gender: Mapped[str | None] = mapped_column(String(40))
    party: Mapped[str | None] = mapped_column(String(80))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(60))
    address: Mapped[str | None] = mapped_column(String(400))
    image: Mapped[str | None] = mapped_column(String(500))
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DistrictReport(db.Model):  # type: ignore[name-defined]
    """A visitor's report that the districts shown for an address are wrong. It holds the
    address (normalised) and districts only: no name, email or network address."""

    __tablename__ = "district_report"
    __table_args__ = (Index("ix_district_report_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(200))  # lookup.addresses.normalised_address
    state: Mapped[str] = mapped_column(String(2))
    # "chamber|district" keys: what the site showed, and what the visitor says is right.
    shown: Mapped[list[str]] = mapped_column(JSONType, default=list)
    proposed: Mapped[list[str]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open|approved|dismissed
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reviewed_by: Mapped[str | None] = mapped_column(String(320))


class AddressOverride(db.Model):  # type: ignore[name-defined]
    """Districts staff approved for one normalised address: the lookup answers with them
    before asking the address cache or the Census."""

    __tablename__ = "address_override"

    address: Mapped[str] = mapped_column(String(200), primary_key=True)
    state: Mapped[str] = mapped_column(String(2))
    districts: Mapped[list[str]] = mapped_column(JSONType, default=list)  # "chamber|district"
    report_id: Mapped[int | None] = mapped_column(ForeignKey("district_report.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(320))
