"""The tallies dashboard in a real browser: an organizer signs in, sees the charts (inline SVG,
nothing fetched from elsewhere) and their tables, and downloads the CSV."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from advocacy.extensions import db
from tests.e2e.conftest import World
from tests.e2e.harness import add_staff, is_local, sign_in
from tests.exports.data import SLUG, seed


@pytest.fixture
def seeded_world(world: World, app: Flask) -> World:
    """The e2e world, the seeded tally campaign (tests/exports/data.py) and an organizer."""
    seed()
    db.session.commit()
    add_staff("organizer@example.org", "organizer")
    return world


def test_organizer_sees_charts_tables_and_downloads_the_csv(
    seeded_world: World, page: Page, page_requests: list[str], tmp_path: Path
) -> None:
    sign_in(page, "organizer@example.org", to=f"/admin/c/{SLUG}/tallies")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Tallies: Campaign {SLUG}")

    charts = page.locator("figure.chart svg[role=img]")
    expect(charts).to_have_count(3)
    expect(charts.first).to_be_visible()
    assert charts.first.bounding_box()["width"] > 200  # type: ignore[index]
    expect(page.get_by_role("img", name=re.compile("contacts per day"))).to_be_visible()

    # The table alternative of the daily chart sits behind a disclosure; the others are open.
    daily = page.locator("#daily-table")
    expect(daily).to_be_hidden()
    page.get_by_text("Contacts per day as a table").click()
    expect(daily.get_by_role("row", name="2026-03-01 4")).to_be_visible()
    expect(page.locator("#state-table").get_by_role("row", name="NH 9")).to_be_visible()
    expect(page.locator("#status-table").get_by_role("row", name="sent 9")).to_be_visible()
    # No seeded action came by a link with a source code.
    expect(page.locator("#source-table").get_by_role("row", name="no source 6 16")).to_be_visible()

    # Filter to New Hampshire, then download by legislator.
    page.get_by_label("Legislators of the state").select_option("NH")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#state-table tbody tr")).to_have_count(1)
    page.get_by_label("state", exact=True).uncheck()
    page.get_by_label("legislator", exact=True).check()
    with page.expect_download() as info:
        page.get_by_role("button", name="Download CSV").click()
    download = info.value
    assert download.suggested_filename == f"{SLUG}_tallies_legislator_nh.csv"
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    assert target.read_bytes() == (
        b"state,chamber,district,target_id,target_name,party,contacts\r\n"
        b"NH,lower,Hillsborough 23,ocd-person/nh-a,Avery Lindqvist,Democratic,3\r\n"
        b"NH,lower,Hillsborough 23,ocd-person/nh-b,Blake Okafor,Republican,2\r\n"
        b"NH,upper,15,ocd-person/nh-c,Casey Castellanos,Democratic,4\r\n"
    )
    assert page_requests and all(is_local(url) for url in page_requests), page_requests
