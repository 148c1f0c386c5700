"""Source codes in a real browser: a visitor who came by a partner's link is credited on their
action, another who came by a plain link at the same time is not, a mangled code is dropped and
the flow still works, and the thank-you page's share links carry their own codes."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from advocacy.actions.models import Action
from advocacy.extensions import db
from tests.e2e.harness import SLUG, LiveServer, submit_action_form


def act(page: Page, start_url: str, email: str) -> str:
    """From ``start_url``: the form, the messages as written, Send; the submission key."""
    page.goto(start_url)
    submit_action_form(page, email=email)
    expect(page).to_have_url(re.compile(r"/write$"))
    page.get_by_role("button", name="Send my messages").click()
    expect(page).to_have_url(re.compile(r"/thanks/[A-Za-z0-9_-]+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you")
    return page.url.rsplit("/", 1)[1]


def source_of(key: str) -> str | None:
    db.session.expire_all()
    action = db.session.scalar(select(Action).where(Action.submission_key == key))
    db.session.commit()
    assert action is not None
    return action.source


def shared_source(href: str) -> str:
    """The ``source`` of the campaign link inside a share link (its last URL)."""
    text = unquote(href)
    inner = re.split(r"[\s&]", text[text.rindex("/c/") :])[0]
    codes = parse_qs(urlsplit(inner).query)["source"]
    assert len(codes) == 1 and urlsplit(inner).path == f"/c/{SLUG}", href
    return codes[0]


def test_a_partners_source_through_the_flow_and_the_share_links(
    new_page: Callable[..., Page], live_server: LiveServer, app: Flask
) -> None:
    page = new_page()
    key = act(page, f"/c/{SLUG}?source=partner-a", "pat@example.org")
    assert source_of(key) == "partner-a"

    share = page.locator("section", has=page.get_by_role("heading", name="Ask others to join"))
    links = {
        name: share.get_by_role("link", name=name, exact=True).get_attribute("href") or ""
        for name in ("Email", "Facebook", "X", "Bluesky", "WhatsApp")
    }
    assert {name: shared_source(href) for name, href in links.items()} == {
        "Email": "share-email",
        "Facebook": "share-facebook",
        "X": "share-x",
        "Bluesky": "share-bluesky",
        "WhatsApp": "share-whatsapp",
    }
    site = str(app.config["SITE_URL"]).rstrip("/")  # share links use the public address
    copy = f"{site}/c/{SLUG}?source=share-link"
    expect(share).to_contain_text(f"Or share this link: {copy}")
    expect(share.locator("#share-url")).to_have_attribute("href", copy)
    # The visitor's own code is theirs: it is never passed on to the people they share with.
    assert all("partner-a" not in href for href in links.values())

    # Someone who follows a shared link is credited to it.
    friend = new_page()
    path = copy.removeprefix(site)
    assert source_of(act(friend, path, "friend@example.org")) == "share-link"


def test_refcode_is_read_too(page: Page, live_server: LiveServer) -> None:
    key = act(page, f"/c/{SLUG}?refcode=an-newsletter", "pat@example.org")
    assert source_of(key) == "an-newsletter"


@pytest.mark.parametrize(
    "code",
    [
        "x" * 65,
        "partner a",
        "\"><script>alert(1)</script>",
        "x'; DROP TABLE action;--",
    ],
)
def test_an_invalid_source_is_dropped_and_the_flow_works(
    page: Page, live_server: LiveServer, code: str
) -> None:
    page.goto(f"/c/{SLUG}?source={code}")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert "DROP" not in page.content() and "alert(1)" not in page.content()
    key = act(page, page.url, "pat@example.org")
    assert source_of(key) is None


def test_two_visitors_with_and_without_a_source(
    new_page: Callable[..., Page], live_server: LiveServer
) -> None:
    """The campaign page is kept once for everyone: the first visitor, by a partner's link,
    has it built; the second, by a plain link, gets the same page and no credit."""
    partner, plain = new_page(), new_page()
    partner.goto(f"/c/{SLUG}?source=partner-a")
    plain.goto(f"/c/{SLUG}")
    assert "partner-a" not in plain.content()
    plain_key = act(plain, plain.url, "plain@example.org")
    partner_key = act(partner, partner.url, "partner@example.org")
    assert source_of(plain_key) is None
    assert source_of(partner_key) == "partner-a"
