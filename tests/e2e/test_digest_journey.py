"""In a real browser, a digest campaign's journey: the write page and the thank-you page say the
message goes in the legislators' daily summary and when; the day's digest reaches a real SMTP
server (aiosmtpd); its link opens the read-only page with the visitor's own words on it, and a
forged link opens nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from advocacy.actions import digests
from advocacy.campaigns.service import sync_folder
from advocacy.config import smtp_settings
from advocacy.dbtypes import utcnow
from advocacy.delivery.worker import Worker
from advocacy.extensions import db
from tests.delivery.conftest import SMTPServer, free_port
from tests.e2e.conftest import World
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

SLUG = "every-exploited-child-is-a-victim"
WHEN = "in one daily summary of this campaign's messages, sent at 5 pm Eastern time."


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    server = SMTPServer(free_port()).start()
    yield server
    server.stop()


def make_digest_campaign(app: Flask, world: World, smtp: SMTPServer) -> None:
    """The both-chambers campaign as a digest campaign; mail to the sink; Eastern time."""
    path = world.campaigns_dir / f"{SLUG}.yaml"
    path.write_text(
        path.read_text(encoding="utf-8") + "delivery:\n  legislators: digest\n", encoding="utf-8"
    )
    report = sync_folder(world.campaigns_dir)
    assert not report.problems, report.problems
    app.config.update(
        smtp_settings(f"smtp://127.0.0.1:{smtp.port}"),
        DELIVERY_MODE="smtp",
        MAIL_FROM="advocacy@speakup.example.org",
        TIMEZONE="America/New_York",
        DIGEST_HOUR=17,
    )
    db.session.remove()


def send_digest(smtp: SMTPServer, to: str) -> str:
    """Build the due digests as the next day's job would, deliver them; the mail to ``to``."""
    digests.build_due_digests(utcnow() + timedelta(days=1))
    Worker("e2e-digest").run()
    db.session.remove()
    [mail] = [
        item.message.get_content().replace("\r\n", "\n")
        for item in smtp.received
        if item.rcpt_tos == (to,) and "digest of" in str(item.message["Subject"])
    ]
    return mail


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
