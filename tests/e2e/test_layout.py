"""In a real browser: phone-sized layout, keyboard use, and a screenshot of a campaign."""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.harness import (
    MATCHED_ADDRESS,
    PHONE,
    LiveServer,
    submit_action_form,
)

CAMPAIGN_PATH = "/c/oppose-buyer-immunity"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def page_width(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def test_phone_viewport_has_no_horizontal_scrolling(
    new_page: Callable[..., Page], live_server: LiveServer
) -> None:
    page = new_page(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    for path in ("/", CAMPAIGN_PATH, "/find"):
        page.goto(path)
        assert page_width(page) <= PHONE["width"], f"{path} scrolls sideways"

    page.goto(CAMPAIGN_PATH)
    box = page.get_by_label("Home street address").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    submit_action_form(page)
    expect(page.locator("main")).to_contain_text(MATCHED_ADDRESS)
    assert page_width(page) <= PHONE["width"], f"{page.url} scrolls sideways"


def test_first_tab_focuses_the_skip_link(page: Page, live_server: LiveServer) -> None:
    page.goto(CAMPAIGN_PATH)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0, "the focused link is off-screen"

    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    # The next Tab continues from the content, not from the top of the page.
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.closest('main') !== null")
    assert focused, "Tab after the skip link left the main content"


def test_campaign_page_screenshot(page: Page, live_server: LiveServer, tmp_path: Path) -> None:
    page.goto(CAMPAIGN_PATH)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    path = tmp_path / "campaign.png"
    page.screenshot(path=str(path), full_page=True)

    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width == page.viewport_size["width"] and height > 0
    assert len(data) > 5_000, "the screenshot is suspiciously small (blank page?)"


# -- focus ring contrast (WCAG 1.4.11: at least 3:1 against what surrounds it) -------------------

# The colour of an element's nearest ancestor that paints a background (the page: white).
BACKGROUND_JS = """(element) => {
  for (let node = element; node; node = node.parentElement) {
    const colour = getComputedStyle(node).backgroundColor;
    if (colour && colour !== 'transparent' && !colour.endsWith(', 0)')) return colour;
  }
  return 'rgb(255, 255, 255)';
}"""


def rgb(colour: str) -> tuple[float, float, float]:
    """'rgb(1, 2, 3)', 'rgba(1, 2, 3, 1)' or '#010203' as channels 0..255 (opaque only)."""
    colour = colour.strip()
    if colour.startswith("#") and len(colour) == 7:
        return (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16))
    match = re.fullmatch(r"rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)", colour)
    assert match, f"unexpected colour {colour!r}"
    assert match.group(4) in (None, "1"), f"a see-through colour cannot be judged: {colour}"
    return (float(match.group(1)), float(match.group(2)), float(match.group(3)))


def contrast(first: str, second: str) -> float:
    """WCAG 2 contrast ratio of two colours."""

    def luminance(colour: str) -> float:
        linear = [
            c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
            for c in (channel / 255 for channel in rgb(colour))
        ]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_contrast_formula() -> None:
    assert contrast("#ffffff", "#000000") == pytest.approx(21)
    assert contrast("#f5a700", "#ffffff") < 3  # the old ring, which failed the audit


def tab_to(page: Page, locator: Locator, limit: int = 40) -> None:
    """Press Tab until ``locator`` has the focus, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if locator.evaluate("(element) => element === document.activeElement"):
            return
    pytest.fail(f"{limit} presses of Tab never reached {locator}")


def focus_ring(locator: Locator) -> dict[str, str]:
    return locator.evaluate(
        """(element) => {
          const style = getComputedStyle(element);
          return {style: style.outlineStyle, width: style.outlineWidth,
                  colour: style.outlineColor, visible: String(element.matches(':focus-visible'))};
        }"""
    )


def test_focus_ring_contrast(page: Page, live_server: LiveServer) -> None:
    page.goto(CAMPAIGN_PATH)
    field = page.get_by_label("Your name")
    tab_to(page, field)
    ring = focus_ring(field)
    assert ring["visible"] == "true" and ring["style"] == "solid", ring
    assert float(ring["width"].removesuffix("px")) >= 2, ring
    background = field.evaluate(BACKGROUND_JS)
    assert contrast(ring["colour"], background) >= 3, (ring, background)
    soft = page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--soft')")
    assert contrast(ring["colour"], soft) >= 3, (ring, soft)

    # The header is dark blue: its links get a ring that stands out there.
    page.goto(CAMPAIGN_PATH)
    link = page.locator(".site-header").get_by_role("link", name="Campaigns")
    tab_to(page, link)
    ring = focus_ring(link)
    assert ring["visible"] == "true" and ring["style"] == "solid", ring
    header = page.locator(".site-header").evaluate(BACKGROUND_JS)
    assert contrast(ring["colour"], header) >= 3, (ring, header)
