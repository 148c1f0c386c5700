"""In a real browser: from the home page to the people who represent the visitor."""

from __future__ import annotations

import csv
import io
import re

from playwright.sync_api import Page, expect

from advocacy.extensions import db
from advocacy.lookup.directory import sync_states
from advocacy.lookup.openstates import BulkPeopleSource
from advocacy.lookup.photos import sync_photos
from tests.e2e.conftest import World
from tests.e2e.harness import (
    ADDRESS,
    ELSEWHERE,
    HOUSE_MEMBERS,
    MATCHED_ADDRESS,
    SENATOR,
    LiveServer,
    is_local,
    submit_action_form,
)
from tests.fakes.upstream import FakeUpstreams
from tests.images.pictures import photo_bytes

CAMPAIGN = "Every exploited child is a victim"  # writes to both chambers
CAMPAIGN_PATH = "/c/every-exploited-child-is-a-victim"


def test_home_to_campaign_to_recipients(
    page: Page, live_server: LiveServer, upstream: FakeUpstreams
) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Take action")
    expect(
        page.get_by_role(
            "link", name="Keep buyers of children accountable in every state", exact=True
        )
    ).to_be_visible()

    page.get_by_role("link", name=CAMPAIGN, exact=True).click()
    expect(page).to_have_url(re.compile(re.escape(CAMPAIGN_PATH) + "$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(CAMPAIGN)
    for label in ("Your name", "Home street address", "Phone (optional)"):
        expect(page.get_by_label(label)).to_be_visible()
    expect(page.get_by_label("Email", exact=True)).to_have_attribute("type", "email")
    expect(page.get_by_label("Keep me informed about this campaign")).not_to_be_checked()

    submit_action_form(page)

    # The page after the form (whichever step of the flow it is) names the matched address
    # and everyone who represents it: both members of Merrimack 12, a two-seat district, and
    # the senator of district 15; nobody from elsewhere.
    main = page.locator("main")
    expect(main).to_contain_text(MATCHED_ADDRESS)
    for name in (*HOUSE_MEMBERS, SENATOR):
        expect(main).to_contain_text(name)
    expect(main).not_to_contain_text(ELSEWHERE)
    expect(main).not_to_contain_text("Vacant seat")

    asked = {path for path, _ in upstream.requests}
    assert asked == {"/geocoder/geographies/onelineaddress"}, asked


def test_form_errors_are_shown_next_to_the_fields(page: Page, live_server: LiveServer) -> None:
    page.goto(CAMPAIGN_PATH)
    page.get_by_role("button", name="Find my legislators").click()
    expect(page.get_by_label("Your name")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#name-error")).to_have_text("Please enter your name.")
    expect(page.get_by_label("Home street address")).to_have_attribute("aria-invalid", "true")


def test_no_request_leaves_the_machine(
    page: Page, page_requests: list[str], live_server: LiveServer
) -> None:
    page.goto("/")
    page.get_by_role("link", name=CAMPAIGN, exact=True).click()
    submit_action_form(page)
    expect(page.locator("main")).to_contain_text(MATCHED_ADDRESS)
    page.goto("/find")
    page.wait_for_load_state("load")

    assert page_requests, "the browser made no request at all"
    assert any(url.endswith(".css") for url in page_requests), page_requests
    offsite = [url for url in page_requests if not is_local(url)]
    assert offsite == [], offsite


def test_photos_come_from_the_site_itself(
    page: Page,
    page_requests: list[str],
    live_server: LiveServer,
    upstream: FakeUpstreams,
    world: World,
) -> None:
    # Open States lists each photo on the legislature's own web server (the fake here); the
    # directory sync downloads them, and pages show our copies.
    photographed = (HOUSE_MEMBERS[0], SENATOR)
    roster = world.people_dir / "nh.csv"
    rows = list(csv.DictReader(io.StringIO(roster.read_text(encoding="utf-8"))))
    for row, colour in zip(
        [row for row in rows if row["name"] in photographed], ("#336699", "#996633"), strict=True
    ):
        path = f"/legislature/{row['family_name'].lower()}.jpg"
        row["image"] = upstream.add_photo(path, photo_bytes((600, 750), colour=colour))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    roster.write_text(out.getvalue(), encoding="utf-8")
    assert all(r.ok for r in sync_states(BulkPeopleSource(str(world.people_dir)), ["nh"]))
    assert sync_photos(["nh"]).downloaded == 2
    db.session.remove()
    asked_upstream = len(upstream.requests)

    page.goto(CAMPAIGN_PATH)
    submit_action_form(page)
    main = page.locator("main")
    expect(main).to_contain_text(MATCHED_ADDRESS)
    for where in (main, None):
        if where is None:
            page.goto(f"/find?address={ADDRESS}")
            where = page.locator("main")
        for name in photographed:
            photo = where.get_by_role("img", name=name, exact=True)
            expect(photo).to_be_visible()
            assert photo.evaluate("img => img.decode().then(() => img.naturalWidth)") == 128
        # The member without a photo has initials in a circle instead.
        expect(where.locator(".person-initials", has_text="JO")).to_be_visible()
    page.goto("/find/nh")
    expect(page.get_by_role("img", name=SENATOR, exact=True)).to_be_visible()

    photos = [url for url in page_requests if "/images/photo-" in url]
    assert len(set(photos)) == 2, page_requests
    assert [url for url in page_requests if not url.startswith(live_server.url)] == []
    # Only the address lookup reached the fake upstream: no photo was asked of it.
    later = [path for path, _ in upstream.requests[asked_upstream:]]
    assert set(later) <= {"/geocoder/geographies/onelineaddress"}, later
