"""Rendered public campaign pages, kept in memory per campaign version.

A campaign page is the same for every anonymous visitor except for the CSRF token of the
address form, so it is rendered once per (campaign, version, public state) in each process
and served from memory with the visitor's token filled in. A new version, a status change
or the campaign opening/closing on schedule changes the key, so no old rendering is served
once the process knows of the change; it reads the campaign's status and version on every
request, or at most ADVOCACY_PUBLIC_CACHE_SECONDS (default 1) late. A visitor with flashed
messages or a signed-in staff member (whose page differs) always gets a fresh rendering.

The campaign page and the steps of the action flow get their campaign from ``published``: its
status from the database (when asked for ``fresh``), or what was read a moment ago, and its
current version's validated definition from memory, kept per version. The address step and the
send go by what was read a moment ago too; the send's write goes ahead only while the database
still agrees (actions/inserts.py).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Hashable

from flask import Flask, current_app, g, render_template, session
from flask_wtf import FlaskForm

from ..memo import Memo, read_recently
from ..signing import csrf_token
from . import service
from .models import Campaign
from .schema import CampaignDefinition
from .service import PublicState, PublishedCampaign

MAX_PAGES = 128
MAX_CAMPAIGNS = 1024
EXTENSION_KEY = "advocacy.page_cache"
MAX_DEFINITIONS = 256
DEFINITIONS_KEY = "advocacy.campaign_definitions"
PUBLISHED_KEY = "advocacy.published_campaigns"


class PageCache(Memo[str]):
    """Rendered pages, each with a slot where the visitor's CSRF token goes."""

    def __init__(self, max_pages: int = MAX_PAGES) -> None:
        super().__init__(max_pages)
        # A random marker cannot occur in campaign text, so replacing it is exact.
        self.token_slot = f"csrf-slot-{secrets.token_hex(16)}"


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION_KEY] = PageCache()
    app.extensions[DEFINITIONS_KEY] = Memo(MAX_DEFINITIONS)
    app.extensions[PUBLISHED_KEY] = Memo(MAX_CAMPAIGNS)


def published(slug: str, *, fresh: bool) -> PublishedCampaign | None:
    """The published campaign (None for a draft or an unknown slug), its version's validated
    definition kept in memory. Its status and current version are read from the database when
    ``fresh``, else at most ADVOCACY_PUBLIC_CACHE_SECONDS late; unknown
    slugs are remembered as such for as long."""
    definitions = current_app.extensions[DEFINITIONS_KEY]

    def load() -> PublishedCampaign | None:
        return service.published_campaign(slug, definitions)

    seconds = 0.0 if fresh else public_cache_seconds()
    return read_recently(current_app.extensions[PUBLISHED_KEY], slug, seconds, load)


def public_cache_seconds() -> float:
    """How late a public page may show what it reads (ADVOCACY_PUBLIC_CACHE_SECONDS)."""
    return float(current_app.config.get("PUBLIC_CACHE_SECONDS") or 0)


def render_campaign(
    campaign: Campaign | PublishedCampaign,
    definition: CampaignDefinition,
    state: PublicState,
    form: FlaskForm | None,
    error: str | None = None,
) -> str:
    """The campaign page: its text, its state, and the address form while it takes actions
    (with the visitor's errors when the form comes back)."""
    return render_template(
        "campaign.html",
        campaign=campaign,
        definition=definition,
        state=state,
        form=form if state.actionable else None,
        error=error,
        summary_html=service.render_markdown(definition.summary),
    )


def page_cache() -> PageCache:
    return current_app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]


def _shared_rendering_allowed() -> bool:
    if current_app.debug or current_app.config.get("TEMPLATES_AUTO_RELOAD"):
        return False  # templates may change under a developer's hands
    # Flashed messages and a staff member's footer link are per visitor.
    return "_flashes" not in session and "_user_id" not in session


def serve(key: Hashable, render: Callable[[], str]) -> str:
    """The page for ``key``: from memory with this visitor's CSRF token, or rendered now."""
    if not _shared_rendering_allowed():
        return render()
    cache = page_cache()
    page = cache.get(key)
    if page is not None:
        if cache.token_slot in page:
            page = page.replace(cache.token_slot, csrf_token())
        return page
    page = render()
    # The token this rendering used, if it has a form (Flask-WTF keeps it on ``g``).
    token = g.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
    cache.put(key, page.replace(token, cache.token_slot) if token else page)
    return page
