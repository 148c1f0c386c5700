"""Campaign operations shared by the CLI, the public pages and the admin."""

from __future__ import annotations

import functools
import html
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import NamedTuple, Protocol

import markdown as markdown_lib
import nh3
from cachetools import LRUCache
from markupsafe import Markup
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import joinedload

from ..dbtypes import utcnow
from ..extensions import db
from ..i18n import gettext, language, long_date
from .filled import SampleSource
from .loader import Problem, TemplateWarning, campaign_files, content_hash, load_file
from .models import Campaign, CampaignVersion
from .schema import SLUG_PATTERN, CampaignDefinition

_SLUG = re.compile(SLUG_PATTERN)
_ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "b",
    "i",
    "a",
    "ul",
    "ol",
    "li",
    "blockquote",
    "h2",
    "h3",
    "h4",
    "code",
    "pre",
    "hr",
}


def render_markdown(text: str | None) -> Markup:
    """Campaign Markdown to HTML with every script, style, handler and unsafe URL removed."""
    if not text:
        return Markup("")
    return _sanitised_html(text)


@functools.lru_cache(maxsize=256)
def _sanitised_html(text: str) -> Markup:
    # Kept per text: every view of a campaign page converts the same summary.
    html = markdown_lib.markdown(text, extensions=["sane_lists"])
    clean = nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener nofollow",
    )
    return Markup(clean)  # noqa: S704 - sanitised by nh3 just above


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[TemplateWarning] = field(default_factory=list)


def save_version(
    campaign: Campaign, definition: CampaignDefinition, source_text: str | None
) -> bool:
    """Record ``definition`` as the campaign's current version unless nothing changed."""
    digest = content_hash(definition)
    current = campaign.current_version
    if current is not None and current.content_hash == digest:
        return False
    number = (current.number + 1) if current is not None else 1
    version = CampaignVersion(
        campaign=campaign,
        number=number,
        content_hash=digest,
        definition=definition.model_dump(mode="json"),
        source_text=source_text,
    )
    db.session.add(version)
    campaign.current_version = version
    campaign.title = definition.title
    campaign.status = definition.status
    campaign.starts_at = definition.starts_at
    campaign.ends_at = definition.ends_at
    return True


def sync_folder(folder: Path, samples: SampleSource | None = None) -> SyncReport:
    """Load every campaign file; a changed file becomes a new version. Idempotent. With
    ``samples``, what reads wrong in the filled templates is in the report's warnings (the
    campaign loads all the same)."""
    report = SyncReport()
    for path in campaign_files(folder):
        result = load_file(path, samples)
        report.warnings.extend(result.warnings)
        if not result.ok or result.definition is None:
            report.problems.extend(result.problems)
            report.skipped.append(path.name)
            continue
        definition = result.definition
        campaign = db.session.scalar(select(Campaign).where(Campaign.slug == definition.slug))
        if campaign is not None and campaign.source != "file":
            report.skipped.append(f"{path.name} (taken over in the admin; the file is ignored)")
            continue
        is_new = campaign is None
        if campaign is None:
            campaign = Campaign(slug=definition.slug, title=definition.title, source="file")
            db.session.add(campaign)
        campaign.source_path = path.name
        if save_version(campaign, definition, result.text):
            (report.created if is_new else report.updated).append(definition.slug)
        else:
            report.unchanged.append(definition.slug)
    db.session.commit()
    return report


def list_campaigns() -> list[Campaign]:
    return list(db.session.scalars(select(Campaign).order_by(Campaign.slug)))


def _could_be_slug(text: str) -> bool:
    """A URL may carry anything, NUL included, which PostgreSQL refuses to compare: only
    text that can be a slug is looked up."""
    return bool(text) and len(text) <= 80 and _SLUG.fullmatch(text) is not None


def get_campaign(slug: str) -> Campaign | None:
    """The campaign with this slug; None for any text that cannot be a slug (a URL may carry
    anything, NUL included, which PostgreSQL refuses to compare)."""
    if not _could_be_slug(slug):
        return None
    return db.session.scalar(
        select(Campaign)
        .options(joinedload(Campaign.current_version))  # every caller reads it: one query
        .where(Campaign.slug == slug)
    )


class PublishedCampaign(NamedTuple):
    """A campaign the public may see, as its pages and the action flow need it.

    ``definition`` is the campaign in the language it is read in (``in_language``): its
    texts in that language when the campaign has them, else in English, as
    ``definition.text_language`` says."""

    id: int
    slug: str
    status: str
    starts_at: datetime | None
    ends_at: datetime | None
    version_id: int
    definition: CampaignDefinition


def _published(*where: ColumnElement[bool], code: str | None = None) -> list[PublishedCampaign]:
    """Campaigns with a current version, as the public sees them, by title, in language
    ``code`` (default: the visitor's, ``i18n.language``)."""
    code = code or language()
    rows = db.session.execute(
        select(
            Campaign.id,
            Campaign.slug,
            Campaign.status,
            Campaign.starts_at,
            Campaign.ends_at,
            CampaignVersion.id,
            CampaignVersion.content_hash,
            CampaignVersion.definition,
        )
        .join(CampaignVersion, CampaignVersion.id == Campaign.current_version_id)
        .where(Campaign.status != "draft", *where)
        .order_by(Campaign.title)
    )
    return [
        PublishedCampaign(*head, _validated(content, definition).in_language(code))
        for *head, content, definition in rows
    ]


# A version's content never changes (an edit makes a new version, with its own hash), so each
# is validated once per process rather than on every step of every visitor's flow.
_VALIDATED: LRUCache[str, CampaignDefinition] = LRUCache(maxsize=256)
_VALIDATED_LOCK = threading.Lock()


def _validated(content: str, stored: dict[str, object]) -> CampaignDefinition:
    """The definition stored with hash ``content`` (shared: read it, never change it)."""
    with _VALIDATED_LOCK:
        found = _VALIDATED.get(content)
    if found is None:
        found = CampaignDefinition.model_validate(stored)
        with _VALIDATED_LOCK:
            _VALIDATED[content] = found
    return found


def published_campaign(slug: str, code: str | None = None) -> PublishedCampaign | None:
    """The campaign with this slug as the public sees it now, in language ``code`` (default:
    the visitor's); None for a draft, an unknown slug or a campaign without a version."""
    if not _could_be_slug(slug):
        return None
    found = _published(Campaign.slug == slug, code=code)
    return found[0] if found else None


def _versions(*where: ColumnElement[bool]) -> list[tuple[int, int | None, str]]:
    """Each campaign's id, current version and public state now: one small query, for
    checking a kept page."""
    rows = db.session.execute(
        select(
            Campaign.id,
            Campaign.current_version_id,
            Campaign.status,
            Campaign.starts_at,
            Campaign.ends_at,
        )
        .where(*where)
        .order_by(Campaign.id)
    )
    return [(row.id, row.current_version_id, public_state(row).key) for row in rows]


def published_version(slug: str) -> tuple[int, int, str] | None:
    """What the campaign's public page is made from (None: not published)."""
    if not _could_be_slug(slug):
        return None
    found = _versions(Campaign.slug == slug, Campaign.status != "draft")
    if not found or found[0][1] is None:
        return None
    campaign_id, version_id, state = found[0]
    return campaign_id, version_id, state


def title_in(definition: object, code: str, english: str) -> str:
    """The campaign's title in language ``code`` from a stored definition (a version's JSON),
    or ``english`` when it has no translation into it: for the emails to a visitor."""
    translations = definition.get("translations") if isinstance(definition, dict) else None
    translation = translations.get(code) if isinstance(translations, dict) else None
    title = translation.get("title") if isinstance(translation, dict) else None
    return title if isinstance(title, str) and title else english


def definition_of(version: CampaignVersion) -> CampaignDefinition:
    return _validated(version.content_hash, version.definition)


@dataclass(frozen=True)
class PublicState:
    """What a visitor sees of a campaign's status right now."""

    key: str  # live | scheduled | paused | closed | ended | draft
    actionable: bool
    message: str


class _Scheduled(Protocol):
    status: str
    starts_at: datetime | None
    ends_at: datetime | None


def public_state(campaign: _Scheduled, now: datetime | None = None) -> PublicState:
    now = now or utcnow()
    if campaign.status == "draft":
        return PublicState("draft", False, gettext("This campaign is not published yet."))
    if campaign.status == "closed":
        return PublicState(
            "closed",
            False,
            gettext("This campaign is closed. Thank you to everyone who took part."),
        )
    if campaign.ends_at is not None and now >= campaign.ends_at:
        return PublicState(
            "ended",
            False,
            gettext("This campaign has ended. Thank you to everyone who took part."),
        )
    if campaign.status == "paused":
        return PublicState(
            "paused", False, gettext("This campaign is paused for now. Please check back soon.")
        )
    if campaign.starts_at is not None and now < campaign.starts_at:
        return PublicState(
            "scheduled",
            False,
            gettext(
                "This campaign opens on %(day)s at %(time)s UTC.",
                day=long_date(campaign.starts_at),
                time=campaign.starts_at.strftime("%H:%M"),
            ),
        )
    return PublicState("live", True, "")


def public_campaigns(now: datetime | None = None) -> list[PublishedCampaign]:
    """Campaigns for the home page: live ones, and paused or scheduled ones (marked as such),
    by title."""
    listed = _published(Campaign.status.in_(("live", "paused")))
    return [c for c in listed if public_state(c, now).key in ("live", "paused", "scheduled")]


def public_versions() -> tuple[tuple[int, int | None, str], ...]:
    """What the home page is made from: each listed campaign's id, version and state."""
    return tuple(_versions(Campaign.status.in_(("live", "paused"))))


def summary_lead(summary: str) -> str:
    """The first sentence of a campaign's summary, as plain text (for cards and share cards)."""
    text = " ".join(nh3.clean(str(render_markdown(summary)), tags=set()).split())
    text = html.unescape(text)
    first = re.split(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])", text, maxsplit=1)[0]
    return first if len(first) <= 300 else first[:297].rsplit(" ", 1)[0] + "..."
