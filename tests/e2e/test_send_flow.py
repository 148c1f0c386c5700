"""In a real browser: campaign page -> message -> send -> thank-you -> "I called"."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from advocacy.actions.models import Action, Contact
from advocacy.delivery.models import OutboxMessage
from advocacy.extensions import db
from tests.e2e.harness import (
    CHROMIUM,
    HOUSE_MEMBERS,
    NO_CHROMIUM,
    SENATOR,
    LiveServer,
    submit_action_form,
)

if not CHROMIUM.exists():
    pytest.skip(NO_CHROMIUM, allow_module_level=True)

pytestmark = pytest.mark.e2e


def test_send_and_call(page: Page, live_server: LiveServer) -> None:
    page.goto("/c/every-exploited-child-is-a-victim")
    submit_action_form(page)
    expect(page).to_have_url(re.compile(r"/write$"))
    expect(page.get_by_role("heading", name=f"To Senator {SENATOR.split()[-1]}")).to_be_visible()
    boxes = page.locator("textarea")
    expect(boxes).to_have_count(3)
    boxes.first.fill("I wrote this myself.\n\nPat Example")
    page.get_by_role("button", name="Send my messages").click()

    expect(page).to_have_url(re.compile(r"/thanks/[A-Za-z0-9_-]+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you")
    expect(page.locator("main")).to_contain_text("queued for delivery")
    call_button = page.get_by_role("button", name=f"I called {HOUSE_MEMBERS[0]}")
    call_button.click()
    expect(page.locator("main")).to_contain_text(f"Thank you for calling {HOUSE_MEMBERS[0]}")

    # Back, then send again: still one action.
    page.go_back()
    page.go_back()
    if page.get_by_role("button", name="Send my messages").count():
        page.get_by_role("button", name="Send my messages").click()

    db.session.expire_all()
    actions = list(db.session.scalars(select(Action)))
    assert len(actions) == 1
    contacts = list(db.session.scalars(select(Contact)))
    written = [c for c in contacts if c.channel == "email"]
    assert len(written) == 3 and sum(c.personalised for c in written) == 1
    assert [c.target_name for c in contacts if c.channel == "call"] == [HOUSE_MEMBERS[0]]
    assert len(list(db.session.scalars(select(OutboxMessage)))) == 3
