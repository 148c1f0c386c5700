"""The one campaign schema, shared by YAML files and the admin editor."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    field_validator,
    model_validator,
)

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
ChamberChoice = Literal["lower", "upper", "both"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _text(max_length: int) -> type[str]:
    return Annotated[str, Field(min_length=1, max_length=max_length)]  # type: ignore[return-value]


class StateLegislatorsTarget(Strict):
    """The visitor's own state legislators, found from their address."""

    type: Literal["state_legislators"]
    chambers: ChamberChoice = Field(
        description="lower: state representative (Nebraska: senator); upper: state senator; "
        "both. Nebraska's and DC's single chamber always counts."
    )


class FixedTarget(Strict):
    """A recipient that is the same for every visitor (an organisation, an official)."""

    type: Literal["fixed"]
    id: Annotated[str, Field(pattern=SLUG_PATTERN, max_length=60)]
    name: _text(200)  # type: ignore[valid-type]
    title: _text(120) | None = None  # type: ignore[valid-type]
    organisation: _text(200) | None = None  # type: ignore[valid-type]
    salutation: _text(200) | None = None  # type: ignore[valid-type]
    email: EmailStr | None = None
    phone: Annotated[str, Field(pattern=r"^[0-9+().\- ]{7,30}$")] | None = None
    postal_address: _text(400) | None = None  # type: ignore[valid-type]

    @model_validator(mode="after")
    def needs_a_channel(self) -> FixedTarget:
        if not (self.email or self.phone or self.postal_address):
            raise ValueError(
                "a fixed target needs at least one contact channel: email, phone or postal_address"
            )
        return self


Target = Annotated[StateLegislatorsTarget | FixedTarget, Field(discriminator="type")]


class Message(Strict):
    subject: _text(300)  # type: ignore[valid-type]
    body: _text(20_000)  # type: ignore[valid-type]
    mode: Literal["blank", "editable", "locked"] = Field(
        description="locked: sent as written; editable: the visitor may edit the filled text; "
        "blank: the visitor writes their own message (the body is only a prompt)."
    )
    max_subject_length: Annotated[int, Field(ge=20, le=300)] = 200
    max_body_length: Annotated[int, Field(ge=100, le=20_000)] = 5000


class CampaignDefinition(Strict):
    slug: Annotated[str, Field(pattern=SLUG_PATTERN, max_length=80)]
    title: _text(200)  # type: ignore[valid-type]
    summary: _text(20_000)  # type: ignore[valid-type]
    status: Literal["draft", "live", "paused", "closed"]
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    targets: Annotated[list[Target], Field(min_length=1)]
    message: Message
    call_script: _text(5000) | None = None  # type: ignore[valid-type]
    thank_you: _text(5000) | None = None  # type: ignore[valid-type]
    share_text: _text(280) | None = None  # type: ignore[valid-type]
    privacy_note: _text(2000) | None = None  # type: ignore[valid-type]

    @field_validator("starts_at", "ends_at", mode="before")
    @classmethod
    def dates_are_utc(cls, value: object) -> object:
        # YAML turns 2026-12-01 into a date; a bare date means midnight UTC.
        if isinstance(value, date) and not isinstance(value, datetime):
            return datetime.combine(value, time(), tzinfo=UTC)
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            try:
                return datetime.combine(date.fromisoformat(value.strip()), time(), tzinfo=UTC)
            except ValueError as exc:
                raise ValueError(f"bad date {value.strip()!r} ({exc}); use YYYY-MM-DD") from exc
        return value

    @field_validator("starts_at", "ends_at")
    @classmethod
    def to_utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    @model_validator(mode="after")
    def end_after_start(self) -> CampaignDefinition:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        ids = [t.id for t in self.targets if isinstance(t, FixedTarget)]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"fixed target ids must be unique: {', '.join(duplicates)}")
        return self

    @property
    def legislator_chambers(self) -> ChamberChoice | None:
        """The union of chambers asked for by state_legislators groups, if any."""
        chosen = {t.chambers for t in self.targets if isinstance(t, StateLegislatorsTarget)}
        if not chosen:
            return None
        if "both" in chosen or chosen == {"lower", "upper"}:
            return "both"
        return chosen.pop()

    @property
    def fixed_targets(self) -> list[FixedTarget]:
        return [t for t in self.targets if isinstance(t, FixedTarget)]
