"""In a real browser: phone-sized layout, keyboard use, and a screenshot of a campaign."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.harness import (
    CHROMIUM,
    MATCHED_ADDRESS,
    NO_CHROMIUM,
    PHONE,
    LiveServer,
    submit_action_form,
)

if not CHROMIUM.exists():
    pytest.skip(NO_CHROMIUM, allow_module_level=True)

pytestmark = pytest.mark.e2e

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
