"""In a real browser: the Census geocoder hangs. The visitor reaches the district picker with a
sentence saying why, picks their districts by hand and goes on to their message."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.harness import (
    HOUSE_MEMBERS,
    SENATOR,
    LiveServer,
    submit_action_form,
)
from tests.fakes.upstream import FakeUpstreams

CAMPAIGN_PATH = "/c/every-exploited-child-is-a-victim"  # writes to both chambers


@pytest.fixture
def app_config(app_config: dict[str, object]) -> dict[str, object]:
    return {**app_config, "CENSUS_DEADLINE": 1.5}  # the visitor's whole wait on the geocoder


def test_a_hanging_geocoder_leads_to_the_picker_and_on(
    page: Page, live_server: LiveServer, upstream: FakeUpstreams
) -> None:
    upstream.mode = "hang"
    page.goto(CAMPAIGN_PATH)
    submit_action_form(page)

    expect(page.get_by_role("heading", level=1)).to_have_text("Choose your district")
    expect(page.get_by_role("status")).to_have_text(
        "The address service did not answer in time. Please choose your state and district "
        "below, or try again in a minute."
    )
    expect(page.get_by_label("State")).to_have_value("nh")  # read from the typed address
    expect(page.get_by_label("Your city or town")).to_have_value("Concord")
    page.get_by_label(f"House district Merrimack 12: {', '.join(HOUSE_MEMBERS)}").check()
    page.get_by_label(f"Senate district 15: {SENATOR}").check()
    page.get_by_role("button", name="Continue").click()

    main = page.locator("main")
    for name in (*HOUSE_MEMBERS, SENATOR):
        expect(main).to_contain_text(name)
    assert upstream.geocoder_calls() == 1  # asked once; the picker needs no geocoder
