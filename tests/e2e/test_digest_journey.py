"""In a real browser, a digest campaign's journey: the write page and the thank-you page say the
message goes in the legislators' daily summary and when; the day's digest reaches a real SMTP
server (aiosmtpd); its link opens the read-only page with the visitor's own words on it, and a
forged link opens nothing."""

from __future__ import annotations

import re

from flask import Flask
from playwright.sync_api import Page, expect

from tests.delivery.conftest import SMTPServer
from tests.e2e.harness import (
    HOUSE_MEMBERS,
    SENATOR,
    SLUG,
    LiveServer,
    World,
    make_digest_campaign,
    send_digest,
    submit_action_form,
)

WHEN = "in one daily summary of this campaign's messages, sent at 5 pm Eastern time."


def test_a_digest_campaign_journey(
    page: Page, live_server: LiveServer, app: Flask, world: World, smtp: SMTPServer
) -> None:
    make_digest_campaign(app, world, smtp)
    senator = f"Senator {SENATOR.split()[-1]}"
    page.goto(f"/c/{SLUG}")
    submit_action_form(page)
    expect(page).to_have_url(re.compile(r"/write$"))
    main = page.locator("main")
    expect(main).to_contain_text(f"Your message will reach {senator} {WHEN}")
    expect(main).not_to_contain_text("Sent by email.")
    page.locator("textarea").first.fill("I wrote this myself, for my own reasons.\n\nPat")
    page.get_by_role("button", name="Send my messages").click()

    expect(page).to_have_url(re.compile(r"/thanks/[A-Za-z0-9_-]+$"))
    expect(main).to_contain_text(f"{SENATOR}: your message will reach {senator} {WHEN}")
    expect(main).to_contain_text(f"{HOUSE_MEMBERS[0]}: your message will reach")
    thanks_url = page.url

    mail = send_digest(smtp, "morgan.castellanos@example.org")
    assert "1 constituent wrote to you through it" in mail
    link = re.search(r"Read this digest on the web: (\S+)", mail)
    assert link is not None
    path = link.group(1).split("127.0.0.1:5000", 1)[-1]
    page.goto(path)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Every exploited child is a victim: messages to {SENATOR}"
    )
    expect(main).to_contain_text("(your district): 1")
    expect(main).to_contain_text("I wrote this myself, for my own reasons.")
    expect(page.locator('meta[name="robots"]')).to_have_attribute("content", "noindex, nofollow")
    response = page.goto(path[:-2] + ("xx" if not path.endswith("xx") else "yy"))
    assert response is not None and response.status == 404

    page.goto(thanks_url)
    expect(main).to_contain_text(
        f"{SENATOR}: your message is in this campaign's daily summary to them, which has been sent."
    )
