"""Staff pages in a real browser: sign in, write a campaign with errors, preview, save, launch,
see it public; warnings about how a message reads, then fixed; an organizer sees the campaign
but not the editor; sign out."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from advocacy.admin.models import AuditEntry
from advocacy.extensions import db
from tests.e2e.harness import LiveServer, add_staff, sign_in


@pytest.fixture
def accounts(live_server: LiveServer) -> dict[str, str]:
    return {role: add_staff(f"{role}@example.org", role) for role in ("manager", "organizer")}


def test_manager_writes_previews_saves_and_launches(page: Page, accounts: dict[str, str]) -> None:
    sign_in(page, accounts["manager"])
    page.get_by_role("link", name="New campaign").click()
    page.get_by_label("Slug").fill("fund-safe-homes")
    page.get_by_label("Summary (Markdown)").fill("Ask for **shelter beds** for survivors.")
    page.get_by_label("Write to the visitor's state legislators").select_option("both")
    page.get_by_label("Message subject").fill("Shelter beds for {{ constituent.state_name }}")
    page.get_by_label("Message body").fill(
        "Dear {{ target.salutation }},\n\nPlease fund shelter beds.\n\n{{ constituent.name }}"
    )
    page.get_by_label("Longest subject (20 to 300)").fill("200")
    page.get_by_label("Longest body (100 to 20000)").fill("5000")
    page.get_by_role("button", name="Save").click()
    # The title was left empty: the error sits beside the field and nothing was saved.
    expect(page.locator("#title-error")).to_have_text("Please fill this in.")
    expect(page.get_by_label("Title", exact=True)).to_have_attribute("aria-invalid", "true")

    page.get_by_label("Title", exact=True).fill("Fund safe homes")
    page.get_by_label("Preview as a visitor from").select_option("NH")
    page.get_by_role("button", name="Preview the message").click()
    preview = page.locator("#preview")
    expect(preview).to_contain_text("Shelter beds for New Hampshire")
    expect(preview).to_contain_text(re.compile(r"Dear Senator \w+,"))
    expect(preview).to_contain_text(re.compile(r"Dear Representative \w+,"))

    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/admin/c/fund-safe-homes$"))
    expect(page.locator("main")).to_contain_text("Created fund-safe-homes (version 1)")
    page.get_by_role("button", name="Launch").click()
    expect(page.locator("main")).to_contain_text("fund-safe-homes is now live")

    page.get_by_role("link", name="Public page").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Fund safe homes")
    expect(page.locator(".summary strong")).to_have_text("shelter beds")

    db.session.expire_all()
    done = set(db.session.scalars(select(AuditEntry.action)))
    assert {"sign_in", "campaign.created", "campaign.launched"} <= done


def test_manager_sees_warnings_saves_and_fixes_them(
    page: Page, accounts: dict[str, str]
) -> None:
    sign_in(page, accounts["manager"])
    page.get_by_role("link", name="New campaign").click()
    page.get_by_label("Slug").fill("fund-safe-homes")
    page.get_by_label("Title", exact=True).fill("Fund safe homes")
    page.get_by_label("Summary (Markdown)").fill("Ask for shelter beds.")
    page.get_by_label("Message subject").fill("Shelter beds")
    page.get_by_label("Message body").fill(
        "Dear {{ target.salutation }},\n\nAs your constituent in {{ constituent.city }}, "
        "please fund shelter beds."
    )
    page.get_by_label("Longest subject (20 to 300)").fill("200")
    page.get_by_label("Longest body (100 to 20000)").fill("5000")
    page.get_by_role("button", name="Preview the message").click()
    warnings = page.get_by_role("region", name="1 warning: the message reads wrong for some "
                                "visitors")  # fmt: skip
    expect(warnings).to_contain_text('leaving an empty interpolation: "in ,"')
    expect(warnings).to_contain_text("Sample visitor: district chosen by hand, no city (NH)")
    warnings.get_by_role("link", name="Message body").click()
    expect(page).to_have_url(re.compile(r"#body$"))

    page.get_by_role("button", name="Save").click()  # a warning does not stop a save
    # (A redirect keeps the page's #fragment.)
    expect(page).to_have_url(re.compile(r"/admin/c/fund-safe-homes/edit(#body)?$"))
    expect(page.locator("main")).to_contain_text("Created fund-safe-homes (version 1)")
    expect(page.get_by_role("region", name=re.compile("warning"))).to_be_visible()
    page.get_by_label("Message body").fill(
        "Dear {{ target.salutation }},\n\nAs your constituent{% if constituent.city %} in "
        "{{ constituent.city }}{% endif %}, please fund shelter beds."
    )
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/admin/c/fund-safe-homes(#body)?$"))
    expect(page.locator("main")).to_contain_text("is now at version 2")


def test_organizer_reads_but_cannot_edit_and_signs_out(
    page: Page, accounts: dict[str, str]
) -> None:
    sign_in(page, accounts["organizer"])
    expect(page.get_by_role("link", name="New campaign")).to_have_count(0)
    page.get_by_role("link", name="Every exploited child is a victim", exact=True).click()
    expect(page.get_by_role("table", name="Contacts by status")).to_be_visible()
    expect(page.get_by_role("button", name="Clone")).to_have_count(0)
    response = page.goto("/admin/campaigns/new")
    assert response is not None and response.status == 403
    page.goto("/admin/campaigns")
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("main")).to_contain_text("You are signed out.")
    page.goto("/admin/campaigns")
    expect(page).to_have_url(re.compile(r"/admin/sign-in"))
