"""The embedded action in a real browser, inside a page served from another site (a partner on
http://localhost:<port>, the action on http://127.0.0.1:<port>): the flow completes in the
frame, which grows and shrinks with its content; a site the campaign does not list is refused
the frame; the session cookie works inside the frame and CSRF is still enforced."""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.harness import (
    HOUSE_MEMBERS,
    SENATOR,
    SLUG,
    LiveServer,
    World,
    add_to_campaign,
    console_reports,
    submit_action_form,
)

TITLE = "Take action: Every exploited child is a victim"
START_HEIGHT = 300  # the frame's fixed height, before the action's pages say theirs


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        pass


@dataclass
class PartnerSite:
    """Another site's page framing the action: a folder served on localhost (a different
    site from 127.0.0.1 for the browser)."""

    folder: Path
    server: ThreadingHTTPServer
    thread: threading.Thread

    @property
    def origin(self) -> str:
        return f"http://localhost:{self.server.server_port}"

    def page_url(self) -> str:
        return f"{self.origin}/partner.html"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def start_partner(folder: Path, action_site: str) -> PartnerSite:
    folder.mkdir()
    # What the campaign's staff page gives a partner to paste, with a small fixed height.
    (folder / "partner.html").write_text(
        f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A partner's page</title></head>
<body><h1>Our coalition's action</h1>
<iframe src="{action_site}/c/{SLUG}/embed" title="{TITLE}" loading="lazy"
  style="width:100%;border:0" height="{START_HEIGHT}"></iframe>
<script src="{action_site}/static/embed.js" async></script>
</body></html>
""",
        encoding="utf-8",
    )
    handler = functools.partial(_Quiet, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="partner-site", daemon=True)
    thread.start()
    return PartnerSite(folder, server, thread)


@pytest.fixture
def partner(tmp_path: Path, live_server: LiveServer) -> Iterator[PartnerSite]:
    site = start_partner(tmp_path / "partner", live_server.url)
    yield site
    site.stop()


def list_partners(world: World, *origins: str) -> None:
    add_to_campaign(world, f"embed:\n  allowed_origins: [{', '.join(origins)}]\n")


def partner_page(new_page: Callable[..., Page]) -> tuple[Page, list[str]]:
    """A browser page that may load the partner's site (localhost) too, and the console's
    reports of refused frames."""
    page = new_page()
    # Routes run last-registered first: localhost goes through; the rest is still refused.
    page.context.route(re.compile(r"^http://localhost:\d+/"), lambda route: route.continue_())
    return page, console_reports(page, "Refused to frame", "frame-ancestors")


def frame_height(page: Page) -> int:
    return int(page.locator("iframe").get_attribute("height") or 0)


def test_the_action_completes_inside_a_partners_frame_that_follows_its_height(
    new_page: Callable[..., Page], world: World, partner: PartnerSite
) -> None:
    list_partners(world, partner.origin)
    page, refusals = partner_page(new_page)
    page.goto(partner.page_url())
    frame = page.frame_locator("iframe")
    expect(frame.get_by_role("heading", level=1)).to_have_text("Every exploited child is a victim")
    expect(frame.get_by_role("heading", name="Add your voice")).to_be_visible()
    # No site header or footer in the frame.
    expect(frame.get_by_role("link", name="Find your legislators")).to_have_count(0)
    expect(frame.get_by_role("link", name="Staff")).to_have_count(0)
    # The frame grew from its fixed height to the whole campaign page: no inner scroll bar.
    expect(page.locator("iframe")).not_to_have_attribute("height", str(START_HEIGHT))
    campaign_height = frame_height(page)
    inner = frame.locator("html").evaluate("e => Math.ceil(e.getBoundingClientRect().height)")
    assert campaign_height == inner > START_HEIGHT

    # The visitor fills the form in the frame (the session cookie works inside it).
    submit_action_form(frame)  # type: ignore[arg-type] - the same locators as a page
    expect(frame.get_by_role("heading", name=f"To Senator {SENATOR.split()[-1]}")).to_be_visible()
    [cookie] = [c for c in page.context.cookies() if c["name"] == "session"]
    assert (cookie["sameSite"], cookie["secure"]) == ("None", True)
    for name in HOUSE_MEMBERS:
        expect(frame.locator("main")).to_contain_text(name)
    expect(page.locator("iframe")).not_to_have_attribute("height", str(campaign_height))
    write_height = frame_height(page)
    assert write_height > campaign_height  # three messages to read and edit
    frame.locator("textarea").first.fill("I wrote this myself.\n\nPat Example")
    # The coach's figures follow the typing, and the frame's height follows them: a key press,
    # unlike a click at a point of the page, cannot land elsewhere while the frame resizes.
    expect(frame.locator(".coach").first).to_contain_text("100% of this message is in your own")
    frame.get_by_role("button", name="Send my messages").press("Enter")

    expect(frame.get_by_role("heading", level=1)).to_have_text("Thank you")
    expect(frame.locator("main")).to_contain_text(
        f"{SENATOR}: your email is queued and will be sent soon."
    )
    expect(frame.locator("main")).to_contain_text(
        "Open the full page (in a new tab) to keep this page and share the campaign."
    )
    expect(page.locator("iframe")).not_to_have_attribute("height", str(write_height))
    # The partner's page itself never left.
    assert page.url == partner.page_url()
    expect(page.get_by_role("heading", name="Our coalition's action")).to_be_visible()

    # "Open the full page": the thank-you page in a new tab, with the site's header.
    with page.context.expect_page() as opened:
        frame.get_by_role("link", name="Open the full page").click()
    full = opened.value
    expect(full).to_have_url(re.compile(rf"/c/{SLUG}/thanks/[A-Za-z0-9_-]+$"))
    expect(full.get_by_role("heading", level=1)).to_have_text("Thank you")
    expect(full.get_by_role("link", name="Find your legislators")).to_be_visible()
    assert not refusals, refusals


def test_a_site_the_campaign_does_not_list_cannot_frame_it(
    new_page: Callable[..., Page], world: World, partner: PartnerSite
) -> None:
    list_partners(world, "https://partner.example.org")
    page, refusals = partner_page(new_page)
    page.goto(partner.page_url())
    expect(page.get_by_role("heading", name="Our coalition's action")).to_be_visible()
    # The browser loads the frame's page, reads its policy and shows nothing of it.
    page.wait_for_load_state("load")
    page.wait_for_function("() => window.frames.length === 1")
    [child] = page.main_frame.child_frames
    expect(
        page.frame_locator("iframe").get_by_role("heading", name="Add your voice")
    ).to_have_count(0)
    assert not child.url.startswith("http://127.0.0.1")  # the browser's own error page
    expect(page.locator("iframe")).to_have_attribute("height", str(START_HEIGHT))
    assert any("frame-ancestors https://partner.example.org" in text for text in refusals), refusals


def test_the_frame_keeps_its_fixed_height_without_javascript(
    new_page: Callable[..., Page], world: World, partner: PartnerSite
) -> None:
    list_partners(world, partner.origin)
    page = new_page(java_script_enabled=False)
    page.context.route(re.compile(r"^http://localhost:\d+/"), lambda route: route.continue_())
    page.goto(partner.page_url())
    frame = page.frame_locator("iframe")
    expect(frame.get_by_role("heading", name="Add your voice")).to_be_attached()
    submit_action_form(frame)  # type: ignore[arg-type]
    expect(frame.get_by_role("button", name="Send my messages")).to_be_attached()
    expect(page.locator("iframe")).to_have_attribute("height", str(START_HEIGHT))


def test_a_post_without_its_token_is_refused_in_the_frame_too(
    new_page: Callable[..., Page], world: World, partner: PartnerSite, live_server: LiveServer
) -> None:
    list_partners(world, partner.origin)
    page, _refusals = partner_page(new_page)
    page.goto(partner.page_url())
    frame = page.frame_locator("iframe")
    submit_action_form(frame)  # type: ignore[arg-type]
    expect(frame.get_by_role("button", name="Send my messages")).to_be_visible()
    # The visitor's session is there (their draft), but a post without the form's token fails.
    frame.locator("input[name=csrf_token]").evaluate("input => input.remove()")
    frame.get_by_role("button", name="Send my messages").press("Enter")
    expect(frame.locator("main")).to_contain_text("The form expired")
