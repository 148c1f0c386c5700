"""Back to the write page after sending, and Send again, as a visitor's browser does it.

Browsers keep the page just left in the back/forward cache, so Back shows the write page as
it was (form, submission key and edits) without asking the server; Send then posts the same
form again. Playwright turns that cache off by default; this module's browser has it on.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect
from sqlalchemy import select

from advocacy.actions.models import Action, Contact
from advocacy.extensions import db
from tests.e2e.harness import (
    CHROMIUM,
    CHROMIUM_ARGS,
    SLUG,
    TIMEOUT_MS,
    LiveServer,
    is_local,
    submit_action_form,
)


@pytest.fixture(scope="module")
def bfcache_browser(playwright: Playwright) -> Iterator[Browser]:
    instance = playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=CHROMIUM_ARGS,
        ignore_default_args=["--disable-back-forward-cache"],
        timeout=30_000,
    )
    yield instance
    instance.close()


@pytest.fixture
def history_page(bfcache_browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    context = bfcache_browser.new_context(base_url=live_server.url, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    context.route(lambda url: not is_local(url), lambda route: route.abort("blockedbyclient"))
    page = context.new_page()
    yield page
    context.close()


def test_back_to_the_write_page_and_send_again_makes_one_action(history_page: Page) -> None:
    page = history_page
    requests: list[tuple[str, str]] = []
    page.on("request", lambda request: requests.append((request.method, request.url)))
    page.goto(f"/c/{SLUG}")
    submit_action_form(page)
    expect(page).to_have_url(re.compile(r"/write$"))
    page.locator("textarea").first.fill("My own words.\n\nPat Example")
    page.get_by_role("button", name="Send my messages").click()
    expect(page).to_have_url(re.compile(r"/thanks/[A-Za-z0-9_-]+$"))
    thanks_url = page.url

    page.go_back(wait_until="commit")  # a page restored from the cache fires no load event
    expect(page).to_have_url(re.compile(r"/write$"))
    send = page.get_by_role("button", name="Send my messages")
    expect(send).to_be_visible()  # the write page as the visitor left it ...
    expect(page.locator("textarea").first).to_have_value("My own words.\n\nPat Example")
    send.click()  # ... and its form posted a second time
    expect(page).to_have_url(thanks_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you")

    posts = [url for method, url in requests if method == "POST" and url.endswith("/send")]
    assert len(posts) == 2
    db.session.expire_all()
    actions = list(db.session.scalars(select(Action)))
    contacts = list(db.session.scalars(select(Contact)))
    db.session.commit()
    assert len(actions) == 1 and thanks_url.endswith(actions[0].submission_key)
    assert len(contacts) == 3 and sum(c.personalised for c in contacts) == 1
