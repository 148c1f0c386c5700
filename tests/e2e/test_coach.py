"""The write page's personalization coach in a real browser: its figures follow the visitor's
typing (JavaScript), "Check my messages" gives them without JavaScript, and the message is
sent whatever they say."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect
from sqlalchemy import select

from advocacy.actions.models import Contact
from advocacy.extensions import db
from advocacy.jobs.registry import get_job
from advocacy.jobs.runner import run_job
from tests.e2e.harness import SLUG, LiveServer, submit_action_form

AS_WRITTEN = "This message is the campaign's text as written."
PROMPT = (
    "Offices give more weight to personal messages: add a sentence about why this matters "
    "to you."
)
OWN = "As a school nurse I have met these children, and they need help, not a record."


def written() -> list[Contact]:
    db.session.expire_all()
    contacts = list(db.session.scalars(select(Contact).where(Contact.channel == "email")))
    db.session.commit()
    return contacts


def to_write_page(page: Page, email: str = "pat@example.org") -> None:
    page.goto(f"/c/{SLUG}")
    submit_action_form(page, email=email)
    expect(page).to_have_url(re.compile(r"/write$"))


def test_the_figures_follow_the_typing(page: Page, live_server: LiveServer) -> None:
    to_write_page(page)
    coach = page.locator(".coach").first
    expect(coach).to_have_text(f"{AS_WRITTEN}{PROMPT}")
    box = page.locator("textarea").first
    # The endpoint the script calls wants the page's CSRF token (the browser's cookies alone
    # are not enough).
    asked = {"field": box.get_attribute("name"), "text": OWN}
    assert page.request.post(f"/c/{SLUG}/coach", data=asked).status == 400
    token = page.locator("input[name=csrf_token]").input_value()
    answered = page.request.post(
        f"/c/{SLUG}/coach", data=asked, headers={"X-CSRFToken": token}
    )
    assert answered.status == 200 and answered.json()["own_percent"] == 100
    template = box.input_value()
    # One sentence of one's own before the signature: the share moves off 0%.
    body, _, signature = template.rpartition("\n\n")
    box.fill(f"{body}\n\n{OWN}\n\n{signature}")
    expect(coach).to_contain_text(re.compile(r"About \d+% of this message is in your own words\."))
    expect(coach).not_to_contain_text(AS_WRITTEN)
    expect(coach).to_contain_text(PROMPT)
    # Typing on, key by key: all in one's own words.
    box.fill("")
    box.press_sequentially(OWN)
    expect(coach).to_have_text("About 100% of this message is in your own words. Thank you.")
    # The other messages keep their own figures.
    expect(page.locator(".coach").nth(1)).to_contain_text(AS_WRITTEN)
    page.get_by_role("button", name="Send my messages").click()
    expect(page).to_have_url(re.compile(r"/thanks/[A-Za-z0-9_-]+$"))
    contacts = written()
    assert len(contacts) == 3 and sorted(c.own_words for c in contacts) == [0.0, 0.0, 1.0]


def test_check_my_messages_and_send_without_javascript(
    new_page: Callable[..., Page], live_server: LiveServer
) -> None:
    page = new_page(java_script_enabled=False)
    to_write_page(page)
    expect(page.locator(".coach")).to_have_count(3)
    expect(page.locator(".coach").first).to_have_text(f"{AS_WRITTEN}{PROMPT}")
    page.locator("textarea").first.fill(OWN)
    page.get_by_role("button", name="Check my messages").click()
    main = page.locator("main")
    expect(main).to_contain_text("We checked your messages: see above. Nothing has been sent yet.")
    expect(page.locator(".coach").first).to_have_text(
        "About 100% of this message is in your own words. Thank you."
    )
    expect(page.locator("textarea").first).to_have_value(OWN)
    assert written() == []
    page.get_by_role("button", name="Send my messages").click()
    expect(page).to_have_url(re.compile(r"/thanks/[A-Za-z0-9_-]+$"))
    assert len(written()) == 3


def test_a_message_identical_to_another_is_sent(page: Page, live_server: LiveServer) -> None:
    """Never a copy-paste block: the coach says how alike, and the message goes."""
    to_write_page(page)
    page.get_by_role("button", name="Send my messages").click()
    expect(page).to_have_url(re.compile(r"/thanks/"))
    to_write_page(page, email="sam@example.org")
    page.get_by_role("button", name="Check my messages").click()
    expect(page.locator(".coach").first).to_contain_text(
        "1 message has gone to this office through this campaign today; yours is about 100% "
        "the same as the closest one (100% on average)."
    )
    expect(page.locator("main")).not_to_contain_text(re.compile("block", re.I))
    page.get_by_role("button", name="Send my messages").click()
    expect(page).to_have_url(re.compile(r"/thanks/"))
    expect(page.locator("main")).to_contain_text("your email is queued and will be sent soon.")
    contacts = written()
    assert len(contacts) == 6 and {c.status for c in contacts} == {"queued"}
    # The send leaves the similarity to the measure-similarity job.
    assert all(c.similarity_pending and c.similarity is None for c in contacts)
    spec = get_job("measure-similarity")
    assert spec is not None and run_job(spec, "test-host").detail == "6 message(s) measured"
    contacts = written()
    assert sorted(c.similarity for c in contacts if c.similarity is not None) == [1.0] * 3
    assert not any(c.similarity_pending for c in contacts)
