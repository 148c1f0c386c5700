"""In a real browser: campaign page -> message -> send -> thank-you -> "I called"; a double
click on Send; the same flow with JavaScript turned off."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect
from sqlalchemy import select

from advocacy.actions.models import Action, Contact
from advocacy.delivery.models import OutboxMessage
from advocacy.extensions import db
from tests.e2e.harness import HOUSE_MEMBERS, SENATOR, SLUG, LiveServer, submit_action_form


def stored() -> tuple[list[Action], list[Contact], int]:
    db.session.expire_all()
    actions = list(db.session.scalars(select(Action)))
    contacts = list(db.session.scalars(select(Contact).order_by(Contact.id)))
    outbox = len(list(db.session.scalars(select(OutboxMessage))))
    db.session.commit()
    return actions, contacts, outbox


def send_and_call(page: Page) -> None:
    page.goto(f"/c/{SLUG}")
    submit_action_form(page)
    expect(page).to_have_url(re.compile(r"/write$"))
    expect(page.get_by_role("heading", name=f"To Senator {SENATOR.split()[-1]}")).to_be_visible()
    boxes = page.locator("textarea")
    expect(boxes).to_have_count(3)
    boxes.first.fill("I wrote this myself.\n\nPat Example")
    page.get_by_role("button", name="Send my messages").click()

    expect(page).to_have_url(re.compile(r"/thanks/[A-Za-z0-9_-]+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you")
    expect(page.locator("main")).to_contain_text(
        f"{SENATOR}: your email is queued and will be sent soon."
    )
    # Each number says which office it reaches, the capitol office first.
    calls = page.locator("section", has=page.get_by_role("heading", name="Make a call too"))
    expect(calls.get_by_role("listitem")).to_have_text(
        ["Capitol office: 603-555-0112", "District office: 603-555-0212"]
    )
    expect(calls).to_contain_text(f"{HOUSE_MEMBERS[1]}: 603-555-0113 (district office)")
    page.get_by_role("button", name=f"I called {HOUSE_MEMBERS[0]}").click()
    expect(page.locator("main")).to_contain_text(f"Thank you for calling {HOUSE_MEMBERS[0]}")
    expect(page.locator("main")).to_contain_text("Call logged. Thank you!")

    actions, contacts, outbox = stored()
    assert len(actions) == 1
    written = [c for c in contacts if c.channel == "email"]
    assert len(written) == 3 and sum(c.personalised for c in written) == 1
    assert [c.target_name for c in contacts if c.channel == "call"] == [HOUSE_MEMBERS[0]]
    assert outbox == 4  # three emails and the visitor's receipt


def test_send_and_call(page: Page, live_server: LiveServer) -> None:
    send_and_call(page)


def test_send_and_call_without_javascript(
    new_page: Callable[..., Page], live_server: LiveServer
) -> None:
    """Nothing in the flow needs JavaScript: plain forms and 303 redirects."""
    send_and_call(new_page(java_script_enabled=False))


def test_double_click_on_send_makes_one_action(page: Page, live_server: LiveServer) -> None:
    posts: list[str] = []
    page.on(
        "request",
        lambda request: (
            posts.append(request.url)
            if request.method == "POST" and request.url.endswith("/send")
            else None
        ),
    )
    page.goto(f"/c/{SLUG}")
    submit_action_form(page)
    expect(page).to_have_url(re.compile(r"/write$"))
    page.get_by_role("button", name="Send my messages").dblclick()
    expect(page).to_have_url(re.compile(r"/thanks/[A-Za-z0-9_-]+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you")
    assert posts  # the browser sent the form (once or twice)
    actions, contacts, outbox = stored()
    assert len(actions) == 1 and len(contacts) == 3 and outbox == 4  # with the receipt
    assert page.url.endswith(f"/thanks/{actions[0].submission_key}")
