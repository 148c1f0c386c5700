"""In a real browser: a campaign that writes to a committee's chair and vice chair and to the
visitor's governor, from its page (which names the committee's leaders before any address) to
the thank-you page and a logged call; and "These are not my legislators" on /find, reviewed
and approved by a manager, after which /find answers that address with the visitor's
districts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from advocacy.actions.models import Contact
from advocacy.campaigns.service import sync_folder
from advocacy.extensions import db
from advocacy.lookup.models import AddressOverride, DistrictReport
from tests.e2e.conftest import World
from tests.e2e.harness import NASHUA, NASHUA_MATCH, VISITOR, LiveServer, add_staff, sign_in
from tests.fakes.upstream import FakeUpstreams
from tests.lookup.offices_world import sync_nh, write_campaign

SLUG = "judiciary-and-governor"


@pytest.fixture
def world(app: Flask, campaigns_dir: Path, tmp_path: Path, upstream: FakeUpstreams) -> World:
    """New Hampshire from Open States' YAML (committees and officials too), the campaign, a
    Nashua address, and a manager."""
    sync_nh(tmp_path / "repo")
    write_campaign(campaigns_dir)
    assert not sync_folder(campaigns_dir).problems
    upstream.add_address(NASHUA, NASHUA_MATCH)
    add_staff("manager@example.org", "manager")
    return World(campaigns_dir=campaigns_dir, people_dir=tmp_path / "repo")


def main_text(page: Page) -> str:
    return page.locator("main").inner_text()


def test_a_committee_and_the_governor_from_the_campaign_page_to_a_logged_call(
    page: Page, live_server: LiveServer
) -> None:
    page.goto(f"/c/{SLUG}")
    who = page.get_by_role("region", name="Who receives your message")
    expect(who).to_contain_text("Ben Birch (Independent), Chair, House Judiciary Committee")
    expect(who).to_contain_text("Cy Cedar (Independent), Vice chair, House Judiciary Committee")
    expect(who).to_contain_text(
        "Your message also goes to your state's Governor, found from your address."
    )
    assert "Di Dogwood" not in main_text(page)

    page.get_by_label("Your name").fill(VISITOR["name"])
    page.get_by_label("Email", exact=True).fill(VISITOR["email"])
    page.get_by_label("Home street address").fill(NASHUA)
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/write$"))
    for heading in ("To Representative Birch", "To Representative Cedar", "To Governor Ayres"):
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
    text = main_text(page)
    assert "Kelly Ayres (Independent), Governor of New Hampshire. Sent by email." in text
    assert "A request to the Governor from Nashua" in text
    assert "Dear Governor Ayres," in page.locator("textarea").nth(2).input_value()
    page.get_by_role("button", name="Send my messages").click()

    expect(page).to_have_url(re.compile(r"/thanks/[A-Za-z0-9_-]+$"))
    sent = page.locator(".sent-list li")
    expect(sent).to_have_count(3)
    for name in ("Ben Birch", "Cy Cedar", "Kelly Ayres"):
        expect(sent.filter(has_text=name)).to_contain_text(
            "your email is queued and will be sent soon."
        )
    governor = page.locator(".call").filter(has_text="Kelly Ayres")
    expect(governor).to_contain_text("Governor of New Hampshire")
    expect(governor.get_by_role("link", name="555-0150")).to_have_attribute("href", "tel:5550150")
    governor.get_by_role("button", name="I called Kelly Ayres").click()
    expect(page.locator("main")).to_contain_text(
        "Thank you for calling Kelly Ayres. We have logged your call."
    )
    db.session.expire_all()
    kinds = sorted(
        (c.target_kind, c.channel, c.target_district) for c in db.session.scalars(select(Contact))
    )
    db.session.remove()
    assert kinds == [
        ("committee", "email", "Judiciary"),
        ("committee", "email", "Judiciary"),
        ("executive", "call", "Governor"),
        ("executive", "email", "Governor"),
    ]


def test_a_wrong_district_reported_on_find_and_approved_by_a_manager(
    page: Page,
    new_page,
    live_server: LiveServer,
    upstream: FakeUpstreams,  # type: ignore[no-untyped-def]
) -> None:
    page.goto("/find")
    page.get_by_label("Home street address").fill(NASHUA)
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_role("heading", name="House · Hillsborough 23")).to_be_visible()
    page.get_by_role("link", name=re.compile("These are not my legislators")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("These are not my legislators")
    expect(page.locator("main")).to_contain_text("House district Hillsborough 23")
    page.get_by_label("Your House district").select_option("lower|Hillsborough 24")
    page.get_by_role("button", name="Send the report").click()
    expect(page).to_have_url(re.compile(r"/find\?address="))
    expect(page.locator("main")).to_contain_text(
        "Thank you. Our staff will check the districts for your address."
    )
    db.session.expire_all()
    [report] = db.session.scalars(select(DistrictReport)).all()
    assert report.proposed == ["lower|Hillsborough 24"]
    report_id = report.id
    db.session.remove()

    staff = new_page()
    sign_in(staff, "manager@example.org")
    staff.get_by_role("link", name="District reports").click()
    row = staff.get_by_role("row").filter(has_text="12 main st nashua nh 03060")
    expect(row).to_contain_text("House district Hillsborough 24")
    expect(row).to_contain_text("Open")
    row.get_by_role("button", name=f"Approve report {report_id}").click()
    expect(staff.locator("main")).to_contain_text(
        "Approved: 12 main st nashua nh 03060 now gets the districts the visitor chose."
    )
    db.session.expire_all()
    assert db.session.get(AddressOverride, "12 main st nashua nh 03060") is not None
    db.session.remove()

    asked = upstream.geocoder_calls()
    page.goto("/find")
    page.get_by_label("Home street address").fill("12 Main St. Nashua NH 03060")
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_role("heading", name="House · Hillsborough 24")).to_be_visible()
    expect(page.locator("main")).to_contain_text(
        "The districts for this address were set by our staff"
    )
    assert "Hillsborough 23" not in main_text(page)
    assert upstream.geocoder_calls() == asked
