"""Links that let a visitor ask others to join a campaign."""

from __future__ import annotations

from urllib.parse import quote

from .schema import CampaignDefinition


def share_links(definition: CampaignDefinition, page_url: str) -> dict[str, str]:
    """Share links for the campaign page at ``page_url``, by network."""
    text = definition.share_text or definition.title
    return {
        "email": f"mailto:?subject={quote(definition.title)}&body={quote(text + ' ' + page_url)}",
        "x": f"https://twitter.com/intent/tweet?text={quote(text)}&url={quote(page_url)}",
        "facebook": f"https://www.facebook.com/sharer/sharer.php?u={quote(page_url)}",
    }
