"""Links that let a visitor ask others to join a campaign."""

from __future__ import annotations

from urllib.parse import quote

from .schema import CampaignDefinition


def share_links(definition: CampaignDefinition, page_url: str) -> dict[str, str]:
    """Share links for the campaign page at ``page_url``, by network. Each opens the network's
    own page with the text filled in: nothing is loaded from it until the visitor clicks."""
    text = definition.share_text or definition.title
    with_url = quote(f"{text} {page_url}")
    return {
        "email": f"mailto:?subject={quote(definition.title)}&body={with_url}",
        "facebook": f"https://www.facebook.com/sharer/sharer.php?u={quote(page_url)}",
        "x": f"https://x.com/intent/tweet?text={quote(text)}&url={quote(page_url)}",
        "bluesky": f"https://bsky.app/intent/compose?text={with_url}",
        "whatsapp": f"https://wa.me/?text={with_url}",
    }
