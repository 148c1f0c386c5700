"""Links that let a visitor ask others to join a campaign."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from .schema import CampaignDefinition

# Each shared link carries the source code of the way it was shared (``share-email``...,
# ``share-link`` for the link to copy, ``share-receipt`` in the visitor's receipt), so the
# tallies by source show how far sharing goes.
SHARE_SOURCE_PREFIX = "share-"


def shared_url(page_url: str, network: str) -> str:
    """``page_url`` with the source code of links shared by ``network``."""
    separator = "&" if "?" in page_url else "?"
    return f"{page_url}{separator}{urlencode({'source': SHARE_SOURCE_PREFIX + network})}"


def share_links(definition: CampaignDefinition, page_url: str) -> dict[str, str]:
    """Share links for the campaign page at ``page_url``, by network, and the link to copy
    (``link``). Each opens the network's own page with the text filled in: nothing is loaded
    from it until the visitor clicks."""
    text = definition.share_text or definition.title

    def with_url(network: str) -> str:
        return quote(f"{text} {shared_url(page_url, network)}")

    def url(network: str) -> str:
        return quote(shared_url(page_url, network))

    return {
        "email": f"mailto:?subject={quote(definition.title)}&body={with_url('email')}",
        "facebook": f"https://www.facebook.com/sharer/sharer.php?u={url('facebook')}",
        "x": f"https://x.com/intent/tweet?text={quote(text)}&url={url('x')}",
        "bluesky": f"https://bsky.app/intent/compose?text={with_url('bluesky')}",
        "whatsapp": f"https://wa.me/?text={with_url('whatsapp')}",
        "link": shared_url(page_url, "link"),
    }
