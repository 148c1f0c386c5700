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
    PrivateAttr,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from ..lookup.registry import STATES

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
ChamberChoice = Literal["lower", "upper", "both"]
CommitteeChamber = Literal["lower", "upper", "legislature"]
CommitteeRole = Literal["chair", "vice chair"]
# The executive offices a target may name (lookup.openstates.OFFICES).
Office = Literal[
    "governor",
    "lieutenant governor",
    "attorney general",
    "secretary of state",
    "treasurer",
    "auditor",
    "chief election officer",
]


class LocatedProblems(ValueError):
    """Problems a rule over a whole field finds, each at a path inside that field.

    Pydantic reports a validator's error at the validated field (``targets``); the loader
    appends each ``path`` (e.g. ``(2, "id")``) so the problem lands on ``targets[2].id``.
    """

    def __init__(self, problems: list[tuple[tuple[str | int, ...], str]]) -> None:
        super().__init__("; ".join(message for _, message in problems))
        self.problems = problems


def _without_defaults(data: object, optional: dict[str, object]) -> object:
    """``data`` without the optional fields left at their defaults: a campaign that does not
    use a field dumps (and hashes, so keeps its version) as if the field did not exist."""
    if isinstance(data, dict):
        for name, default in optional.items():
            if name in data and data[name] == default:
                del data[name]
    return data


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


class TargetMessage(Strict):
    """A fixed target's own letter, when the campaign's message (written for legislators)
    does not fit it. Same placeholders and limits as the campaign's message."""

    subject: _text(300)  # type: ignore[valid-type]
    body: _text(20_000)  # type: ignore[valid-type]


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
    message: TargetMessage | None = None
    call_script: _text(5000) | None = None  # type: ignore[valid-type]

    @model_serializer(mode="wrap")
    def _omit_absent_fields(self, handler: SerializerFunctionWrapHandler) -> object:
        return _without_defaults(handler(self), {"message": None, "call_script": None})

    @model_validator(mode="after")
    def needs_a_channel(self) -> FixedTarget:
        if not (self.email or self.phone or self.postal_address):
            raise ValueError(
                "a fixed target needs at least one contact channel: email, phone or postal_address"
            )
        return self


class CommitteeTarget(Strict):
    """The members of one committee of a state legislature (Open States' committee list):
    all of them, or only some roles, or only those who represent the visitor."""

    type: Literal["committee"]
    state: Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")] = Field(
        description="The committee's state, e.g. NH."
    )
    chamber: CommitteeChamber = Field(
        description="lower or upper; legislature: a joint committee, or a committee of "
        "Nebraska's or DC's single chamber."
    )
    committee: _text(200) = Field(  # type: ignore[valid-type]
        description="Its name as Open States writes it (e.g. Judiciary), or its id "
        "(ocd-organization/...) when two committees share the name."
    )
    roles: Annotated[list[CommitteeRole], Field(min_length=1)] | None = Field(
        default=None,
        description="Only the members in these roles (chair, vice chair); none: every member.",
    )
    members: Literal["all", "representing_visitor"] = Field(
        default="all",
        description="representing_visitor: only the members who are the visitor's own "
        "legislators (a visitor with none on the committee writes to no one here).",
    )
    message: TargetMessage | None = None
    call_script: _text(5000) | None = None  # type: ignore[valid-type]

    @model_serializer(mode="wrap")
    def _omit_absent_fields(self, handler: SerializerFunctionWrapHandler) -> object:
        return _without_defaults(
            handler(self),
            {"roles": None, "members": "all", "message": None, "call_script": None},
        )

    @field_validator("state")
    @classmethod
    def a_state_we_cover(cls, value: str) -> str:
        if value.lower() not in STATES:
            raise ValueError(f"{value!r} is not a state we cover (two letters, e.g. NH)")
        return value.upper()

    @field_validator("roles")
    @classmethod
    def roles_once(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("list each role once")
        # One order, so the file and the editor write the same campaign.
        return sorted(value, key=("chair", "vice chair").index) if value else value

    @property
    def depends_on_visitor(self) -> bool:
        return self.members == "representing_visitor"


class ExecutiveTarget(Strict):
    """The holder of an executive office of the visitor's own state (Open States' executive
    list), e.g. the governor or the attorney general."""

    type: Literal["executive"]
    office: Office = Field(description="Which office of the visitor's state.")
    message: TargetMessage | None = None
    call_script: _text(5000) | None = None  # type: ignore[valid-type]

    @model_serializer(mode="wrap")
    def _omit_absent_fields(self, handler: SerializerFunctionWrapHandler) -> object:
        return _without_defaults(handler(self), {"message": None, "call_script": None})


Target = Annotated[
    StateLegislatorsTarget | FixedTarget | CommitteeTarget | ExecutiveTarget,
    Field(discriminator="type"),
]
# Targets that may have their own message and call script.
OwnTemplates = FixedTarget | CommitteeTarget | ExecutiveTarget


class Message(Strict):
    subject: _text(300)  # type: ignore[valid-type]
    body: _text(20_000)  # type: ignore[valid-type]
    mode: Literal["blank", "editable", "locked"] = Field(
        description="locked: sent as written; editable: the visitor may edit the filled text; "
        "blank: the visitor writes their own message (the body is only a prompt)."
    )
    max_subject_length: Annotated[int, Field(ge=20, le=300)] = 200
    max_body_length: Annotated[int, Field(ge=100, le=20_000)] = 5000


class Limits(Strict):
    """Optional caps, enforced when a visitor sends."""

    per_legislator_per_day: Annotated[int, Field(ge=1, le=1_000_000)] | None = Field(
        default=None,
        description="At most this many messages to any one legislator per day "
        "(ADVOCACY_TIMEZONE); later visitors that day are told and do not write to them.",
    )


class FollowUp(Strict):
    """ "Did they reply?": one email to each visitor who opted in, some days after their
    messages were sent, asking whether each recipient replied."""

    days: Annotated[int, Field(ge=1, le=90)] = Field(
        description="Days after the messages were sent (1 to 90)."
    )
    public_results: bool = Field(
        default=False,
        description="Publish each legislator's reply rate at /c/<slug>/responses.",
    )
    min_answers: Annotated[int, Field(ge=1, le=10_000)] = Field(
        default=5,
        description="The public page shows only legislators with at least this many answers.",
    )

    @model_serializer(mode="wrap")
    def _omit_absent_fields(self, handler: SerializerFunctionWrapHandler) -> object:
        return _without_defaults(handler(self), {"public_results": False, "min_answers": 5})


# An origin as a browser sends it: scheme, host, optional port; no path, query or fragment.
ORIGIN_PATTERN = re.compile(
    r"^(https?)://([a-z0-9]([a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\])(:[0-9]{1,5})?$"
)
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})


def check_origin(value: str) -> str:
    """``value`` as an origin a page that frames the action may have; ValueError saying why
    not. Plain http only for the developer's own machine: a partner's page is on https."""
    origin = value.strip().rstrip("/").lower()
    found = ORIGIN_PATTERN.match(origin)
    if found is None:
        raise ValueError(
            f"{value!r} is not an origin: write the scheme and host only, such as "
            "https://partner.example.org (no path)"
        )
    scheme, host = found.group(1), found.group(2)
    if scheme == "http" and host not in LOCAL_HOSTS:
        raise ValueError(f"{value!r} must use https (plain http only for localhost)")
    return origin


class Embed(Strict):
    """The action embedded in partners' pages (/c/<slug>/embed in an iframe)."""

    allowed_origins: Annotated[list[str], Field(min_length=1, max_length=50)] = Field(
        description="The sites that may show the action in a frame, as origins "
        "(https://partner.example.org: no path). Every other site is refused."
    )

    @field_validator("allowed_origins")
    @classmethod
    def origins_only(cls, values: list[str]) -> list[str]:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        origins: list[str] = []
        for index, value in enumerate(values):
            try:
                origin = check_origin(value)
            except ValueError as exc:
                problems.append(((index,), str(exc)))
                continue
            if origin in origins:
                problems.append(((index,), f"{value!r} is listed twice"))
            origins.append(origin)
        if problems:
            raise LocatedProblems(problems)
        return origins


class Delivery(Strict):
    """How the campaign's messages reach the people found for each visitor."""

    legislators: Literal["each", "digest"] = Field(
        default="each",
        description="each: every constituent's message is its own email; digest: each "
        "legislator, committee member or official gets one email a day from this campaign "
        "(at ADVOCACY_DIGEST_HOUR, ADVOCACY_TIMEZONE) with every message of the day. Fixed "
        "targets always get one email per message.",
    )


# The languages a campaign's texts may be translated into (English is the file's own).
TRANSLATABLE = ("es",)


class TranslatedTarget(Strict):
    """A target's own words in another language: its salutation and title (a fixed target's),
    its own letter and call script. Names and addresses are not translated."""

    salutation: _text(200) | None = None  # type: ignore[valid-type]
    title: _text(120) | None = None  # type: ignore[valid-type]
    message: TargetMessage | None = None
    call_script: _text(5000) | None = None  # type: ignore[valid-type]

    @model_serializer(mode="wrap")
    def _omit_absent_fields(self, handler: SerializerFunctionWrapHandler) -> object:
        return _without_defaults(
            handler(self),
            {"salutation": None, "title": None, "message": None, "call_script": None},
        )


class Translation(Strict):
    """The campaign's texts in one more language. Every text the English has must be here
    too: a visitor reading this language never meets a sentence of the other one in the
    campaign's flow. Templates follow the English rules (same placeholders and limits)."""

    title: _text(200)  # type: ignore[valid-type]
    summary: _text(20_000)  # type: ignore[valid-type]
    message: TargetMessage
    call_script: _text(5000) | None = None  # type: ignore[valid-type]
    thank_you: _text(5000) | None = None  # type: ignore[valid-type]
    share_text: _text(280) | None = None  # type: ignore[valid-type]
    privacy_note: _text(2000) | None = None  # type: ignore[valid-type]
    image_alt: _text(300) | None = None  # type: ignore[valid-type]
    # By target key (``target_key``): the words of targets that have their own.
    targets: dict[str, TranslatedTarget] = Field(default_factory=dict)

    @model_serializer(mode="wrap")
    def _omit_absent_fields(self, handler: SerializerFunctionWrapHandler) -> object:
        return _without_defaults(
            handler(self),
            {
                "call_script": None,
                "thank_you": None,
                "share_text": None,
                "privacy_note": None,
                "image_alt": None,
                "targets": {},
            },
        )


def target_key(target: object) -> str | None:
    """How ``translations.<language>.targets`` names a target with words of its own: a fixed
    target by its id, an executive target by its office, a committee target by its committee
    as the file writes it. None for the visitor's legislators (the site words their titles)."""
    if isinstance(target, FixedTarget):
        return target.id
    if isinstance(target, ExecutiveTarget):
        return target.office
    if isinstance(target, CommitteeTarget):
        return target.committee
    return None


def _own_words(target: object) -> list[str]:
    """The fields of ``target`` a translation must give in its own language."""
    if not isinstance(target, FixedTarget | CommitteeTarget | ExecutiveTarget):
        return []
    needed = [name for name in ("message", "call_script") if getattr(target, name) is not None]
    if isinstance(target, FixedTarget):
        needed = [n for n in ("salutation", "title") if getattr(target, n) is not None] + needed
    return needed


_TEXTS = ("call_script", "thank_you", "share_text", "privacy_note", "image_alt")


class CampaignDefinition(Strict):
    # Set on the copies ``in_language`` makes: their language, and the campaign as written.
    _text_language: str = PrivateAttr(default="en")
    _original: CampaignDefinition | None = PrivateAttr(default=None)

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
    limits: Limits | None = None
    goal: Annotated[int, Field(ge=1, le=100_000_000)] | None = Field(
        default=None, description="How many people the campaign hopes will act (progress bar)."
    )
    image: Annotated[str, Field(pattern=r"^[A-Za-z0-9_./-]{1,200}$")] | None = Field(
        default=None,
        description="The share card's picture: a PNG, JPEG or WebP file under static/ (e.g. "
        "img/campaign.jpg), or uploaded/share-<32 hex digits>.jpg, the name the admin editor "
        "gives a picture uploaded there. Cropped to 1200 x 630 pixels; none: the site's "
        "default picture.",
    )
    image_alt: _text(300) | None = Field(  # type: ignore[valid-type]
        default=None,
        description="What the share picture shows, for people who cannot see it "
        "(default: the campaign's title).",
    )
    receipt: bool = Field(
        default=True, description="Email each visitor a receipt of what was sent for them."
    )
    follow_up: FollowUp | None = None
    delivery: Delivery | None = None
    embed: Embed | None = None
    translations: dict[Literal["es"], Translation] | None = Field(
        default=None,
        description="The campaign's texts in other languages (es: Spanish), for visitors who "
        "read the site in them.",
    )

    @model_serializer(mode="wrap")
    def _omit_absent_fields(self, handler: SerializerFunctionWrapHandler) -> object:
        return _without_defaults(
            handler(self),
            {
                "translations": None,
                "limits": None,
                "goal": None,
                "image": None,
                "image_alt": None,
                "receipt": True,
                "follow_up": None,
                "delivery": None,
                "embed": None,
            },
        )

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

    @field_validator("ends_at")
    @classmethod
    def end_after_start(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        # starts_at is declared first, so it is in info.data whenever it was valid.
        starts_at = info.data.get("starts_at")
        if value is not None and starts_at is not None and value <= starts_at:
            raise ValueError("ends_at must be after starts_at")
        return value

    @field_validator("targets")
    @classmethod
    def targets_are_unique(cls, targets: list[Target]) -> list[Target]:
        first_use: dict[str, int] = {}
        first_seen: dict[tuple[str, ...], int] = {}
        problems: list[tuple[tuple[str | int, ...], str]] = []
        for index, target in enumerate(targets):
            if isinstance(target, FixedTarget):
                if target.id in first_use:
                    problems.append(
                        (
                            (index, "id"),
                            f"fixed target ids must be unique: {target.id!r} is already used "
                            f"by targets[{first_use[target.id]}]",
                        )
                    )
                else:
                    first_use[target.id] = index
                continue
            if isinstance(target, CommitteeTarget):
                key: tuple[str, ...] = (
                    "committee",
                    target.state,
                    target.chamber,
                    target.committee.lower(),
                )
                where: tuple[str | int, ...] = (index, "committee")
                what = f"the {target.committee} committee"
            elif isinstance(target, ExecutiveTarget):
                key, where, what = ("executive", target.office), (index, "office"), target.office
            else:
                continue
            if key in first_seen:
                problems.append(
                    (where, f"targets[{first_seen[key]}] already names {what}: name it once")
                )
            else:
                first_seen[key] = index
        if problems:
            raise LocatedProblems(problems)
        return targets

    @model_validator(mode="after")
    def translations_are_complete(self) -> CampaignDefinition:
        """A translation gives every text the English has, and each target's own words,
        so a visitor reading that language never gets English in the middle of the flow."""
        problems: list[tuple[tuple[str | int, ...], str]] = []
        for code, translation in (self.translations or {}).items():
            for name in _TEXTS:
                if getattr(self, name) is not None and getattr(translation, name) is None:
                    problems.append(
                        (
                            ("translations", code),
                            f"the campaign has a {name}: give its translation as "
                            f"translations.{code}.{name}",
                        )
                    )
            keys: dict[str, int] = {}
            for index, target in enumerate(self.targets):
                key = target_key(target)
                needed = _own_words(target)
                if key is None or not needed:
                    continue
                if key in keys:
                    problems.append(
                        (
                            ("translations", code, "targets"),
                            f"targets[{keys[key]}] and targets[{index}] are "
                            f"both {key!r}: their own words cannot be told apart in "
                            "translations; give only one of them its own message",
                        )
                    )
                    continue
                keys[key] = index
                given = translation.targets.get(key)
                missing = [n for n in needed if given is None or getattr(given, n) is None]
                if missing:
                    problems.append(
                        (
                            ("translations", code, "targets"),
                            f"targets[{index}] ({key}) has its own "
                            + " and ".join(missing)
                            + f": give them in this language as "
                            f"translations.{code}.targets.{key}."
                            + (missing[0] if len(missing) == 1 else "{" + ", ".join(missing) + "}"),
                        )
                    )
            for key, given in translation.targets.items():
                if key not in keys:
                    problems.append(
                        (
                            ("translations", code, "targets", key),
                            f"no target with words of its own is {key!r} "
                            "(use a fixed target's id, an executive target's office or a committee "
                            "target's committee, for a target that has its own salutation, "
                            "message or call script)",
                        )
                    )
                    continue
                extra = [
                    n
                    for n in ("salutation", "title", "message", "call_script")
                    if getattr(given, n) is not None
                    and n not in _own_words(self.targets[keys[key]])
                ]
                if extra:
                    problems.append(
                        (
                            ("translations", code, "targets", key),
                            "the English target has no "
                            + " or ".join(extra)
                            + ": translate only what it has",
                        )
                    )
        if problems:
            raise LocatedProblems(problems)
        return self

    def in_language(self, code: str) -> CampaignDefinition:
        """The campaign as a visitor reading ``code`` sees it: its texts and its targets' own
        words in that language when the campaign has them, else the English unchanged
        (``text_language`` says which)."""
        original = self._original or self
        translation = (original.translations or {}).get(code)  # type: ignore[call-overload]
        if translation is None:
            return original
        targets = []
        for target in original.targets:
            key = target_key(target)
            given = translation.targets.get(key) if key is not None else None
            if given is None:
                targets.append(target)
                continue
            # (A fixed target's salutation and title stay: a letter's words are filled in
            # with ``own_words``, while the contact log keeps the English.)
            update = {
                n: getattr(given, n)
                for n in ("message", "call_script")
                if getattr(given, n) is not None
            }
            targets.append(target.model_copy(update=update))
        texts = {name: getattr(translation, name) for name in _TEXTS if getattr(original, name)}
        localized = original.model_copy(
            update={
                "title": translation.title,
                "summary": translation.summary,
                "message": original.message.model_copy(
                    update={
                        "subject": translation.message.subject,
                        "body": translation.message.body,
                    }
                ),
                "targets": targets,
                **texts,
            }
        )
        localized._text_language = code
        localized._original = original
        return localized

    def own_words(self, key: str) -> TranslatedTarget | None:
        """The translated words of the target ``key`` (``target_key``) in this definition's
        text language; None in English or for a target without its own."""
        translation = (self.translations or {}).get(self._text_language)  # type: ignore[call-overload]
        return translation.targets.get(key) if translation is not None else None

    @property
    def text_language(self) -> str:
        """The language of this definition's texts: "en", or the one ``in_language`` gave."""
        return self._text_language

    @property
    def languages(self) -> list[str]:
        """The languages the campaign's texts are written in, English first."""
        return ["en", *(self.translations or {})]

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
    def digest(self) -> bool:
        """Whether the people found for each visitor get one daily digest of the messages."""
        return self.delivery is not None and self.delivery.legislators == "digest"

    @property
    def fixed_targets(self) -> list[FixedTarget]:
        return [t for t in self.targets if isinstance(t, FixedTarget)]

    @property
    def depends_on_address(self) -> bool:
        """Whether who receives the message depends on the visitor's address: their own
        legislators, their state's officials, or a committee's members who represent them."""
        return any(
            isinstance(t, StateLegislatorsTarget | ExecutiveTarget)
            or (isinstance(t, CommitteeTarget) and t.depends_on_visitor)
            for t in self.targets
        )
