"""Each campaign walked by sample visitors, reading what they read in a real browser: the write
page, the thank-you page and, for a letter, the printable letter. No empty interpolation
("in ,", ", NH" alone), no notice that contradicts the outcome, and for each recipient the
channel and next step that are really theirs.

The visitors: a New Hampshire address the Census matches to a two-seat House district under a
floterial; a Nebraska address (one chamber, senators); and two who choose their district by
hand because the Census is down: one whose typed address gives the city, one whose does not
(so the picker asks for it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from advocacy.campaigns.service import sync_folder
from advocacy.extensions import db
from advocacy.lookup.directory import sync_states
from advocacy.lookup.openstates import BulkPeopleSource
from advocacy.lookup.registry import STATES
from tests.conftest import copy_repo_campaigns
from tests.e2e.conftest import World
from tests.e2e.harness import NASHUA, NASHUA_MATCH, VISITOR, LiveServer, copy_people
from tests.fakes.upstream import FakeUpstreams, Match, sld_object
from tests.lookup.people import ROSTERS, write_state

LOWER = "oppose-buyer-immunity"  # state representatives, and a letter to ALI
BOTH = "every-exploited-child-is-a-victim"  # both chambers

LINCOLN = "1 O St, Lincoln, NE 68508"
LINCOLN_MATCH = Match(
    "1 O ST, LINCOLN, NE, 68508",
    "31",
    upper=[sld_object("upper", "31012", "12")],
    city="LINCOLN",
    zip_code="68508",
)
HOUSE = ("Ada Alder", "Ben Birch")  # Hillsborough 23: two seats
FLOTERIAL = ("Cy Cedar", "Di Dogwood", "Ed Elm")  # Hillsborough 40, over 23: one seat vacant


@dataclass(frozen=True)
class Visitor:
    label: str
    address: str
    city: str  # as their messages must say it
    state_name: str
    census_down: bool = False
    city_typed_in_picker: str = ""  # the picker could not read it: they type it


VISITORS = [
    Visitor("matched-floterial", NASHUA, "Nashua", "New Hampshire"),
    Visitor("nebraska", LINCOLN, "Lincoln", "Nebraska"),
    Visitor("by-hand-city-read", "44 Elm St, Nashua, NH 03060", "Nashua", "New Hampshire", True),
    Visitor("by-hand-no-city", "12 Main St Nashua NH", "Nashua", "New Hampshire", True, "Nashua"),
]

# What an empty value leaves behind in a sentence.
EMPTY_VALUE = [
    re.compile(r"\b(?:in|of|from|at|to)\s*[,.;:]"),
    re.compile(r",\s*[,.]"),
    re.compile(r"^\s*[,.]", re.MULTILINE),
    re.compile(r"\s[,.;:](?:\s|$)"),
    # A line that is only a state: a signature without its city.
    re.compile(
        r"^(?:" + "|".join(a.upper() for a in STATES) + r"|New Hampshire|Nebraska)$", re.MULTILINE
    ),
]


def assert_no_empty_values(text: str, where: str) -> None:
    for pattern in EMPTY_VALUE:
        found = pattern.search(text)
        if found is not None:
            context = text[max(0, found.start() - 80) : found.end() + 80]
            raise AssertionError(f"{where}: {found.group(0)!r} in ...{context}...")


@pytest.fixture
def world(app: Flask, campaigns_dir: Path, tmp_path: Path, upstream: FakeUpstreams) -> World:
    """The repository's campaigns; New Hampshire (with a floterial) and Nebraska people."""
    copy_repo_campaigns(campaigns_dir)
    assert not sync_folder(campaigns_dir).problems
    people = copy_people(tmp_path / "people")
    for state in ("nh", "ne"):
        write_state(people, state, ROSTERS[state])
    results = sync_states(BulkPeopleSource(str(people)), ["nh", "ne"])
    assert all(r.ok for r in results), [r.error for r in results]
    upstream.add_address(NASHUA, NASHUA_MATCH)
    upstream.add_address(LINCOLN, LINCOLN_MATCH)
    db.session.remove()
    return World(campaigns_dir=campaigns_dir, people_dir=people)


def text_of(page: Page) -> str:
    return page.locator("main").inner_text()


def act(page: Page, slug: str, visitor: Visitor, upstream: FakeUpstreams, n: int) -> None:
    """From the campaign page to the write page, by the address or by hand."""
    upstream.mode = "500" if visitor.census_down else "ok"
    page.goto(f"/c/{slug}")
    page.get_by_label("Your name").fill(VISITOR["name"])
    page.get_by_label("Email", exact=True).fill(f"visitor{n}@example.org")
    page.get_by_label("Home street address").fill(visitor.address)
    page.get_by_role("button", name="Find my legislators").click()
    if visitor.census_down:
        expect(page).to_have_url(re.compile(r"/choose"))
        said = text_of(page)
        assert "The address service is not working right now" in said
        # The state is the one typed, and the city too when it could be read.
        expect(page.get_by_label("State")).to_have_value("nh")
        city = page.get_by_label("Your city or town")
        expect(city).to_have_value("" if visitor.city_typed_in_picker else visitor.city)
        if visitor.city_typed_in_picker:
            city.fill(visitor.city_typed_in_picker)
        if slug == BOTH:
            page.get_by_label("Senate district 15: Sam Senator").check()
        page.get_by_label("House district Hillsborough 23: " + ", ".join(HOUSE)).check()
        page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/write$"))


def legislators_for(visitor: Visitor, slug: str) -> list[str]:
    """Everyone the visitor writes to among legislators, as the directory has them."""
    if visitor.state_name == "Nebraska":
        return ["Pat Pine"]  # one chamber: always asked
    house = [*HOUSE, *FLOTERIAL] if not visitor.census_down else list(HOUSE)
    return (["Sam Senator"] if slug == BOTH else []) + house


def check_write_page(page: Page, slug: str, visitor: Visitor) -> None:
    said = text_of(page)
    assert_no_empty_values(said, f"write page of {visitor.label}")
    messages = page.locator("textarea").all()
    legislators = messages[:-1] if slug == LOWER else messages
    for box in legislators:
        message = box.input_value()
        assert_no_empty_values(message, f"message of {visitor.label}")
        assert f"I am your constituent in {visitor.city}, and I am" in message
        signature = f"{VISITOR['name']}\n{visitor.city}, {visitor.state_name}"
        assert message.rstrip().endswith(signature), message[-120:]
    if visitor.state_name == "Nebraska":
        assert "To Senator Pine" in said and "Representative" not in said
    else:
        for name in HOUSE:
            assert f"To Representative {name.split()[-1]}" in said
        if not visitor.census_down:
            for name in FLOTERIAL:  # the floterial's members represent this address too
                assert f"To Representative {name.split()[-1]}" in said
    if slug == LOWER:
        assert "To Members of the Council of the American Law Institute" in said
        assert (
            "Sent by post: we will give you a letter to print and mail to "
            "4025 Chestnut Street, Philadelphia, PA 19104-3099."
        ) in said
        letter = page.locator("textarea").last.input_value()
        assert letter.startswith("Dear Members of the Council of the American Law Institute,")
        assert (
            "I am writing to thank you for reversing the change to the Model Penal Code" in letter
        )
        assert letter.rstrip().endswith(f"{VISITOR['name']}\n{visitor.city}, {visitor.state_name}")
    assert "Daily limit" not in said


def check_thanks_page(page: Page, slug: str, visitor: Visitor) -> None:
    expect(page).to_have_url(re.compile(r"/thanks/[A-Za-z0-9_-]+$"))
    said = text_of(page)
    assert_no_empty_values(said, f"thank-you page of {visitor.label}")
    assert "What happens to your messages" in said
    assert "did not go to" not in said and "on its way" not in said  # nothing held back
    lines = said.splitlines()
    legislators = legislators_for(visitor, slug)
    for name in legislators:
        assert f"{name}: your email is queued and will be sent soon." in lines
        assert f"I called {name}" in said
    if slug == LOWER:
        assert (
            "The American Law Institute: your letter is ready. Please print it and post it to "
            "4025 Chestnut Street, Philadelphia, PA 19104-3099. Print your letter to "
            "The American Law Institute."
        ) in lines
        # The institute's own script, not the one written for legislators.
        assert "I am calling to thank the American Law Institute for reversing" in said
        assert said.count("make sure our state's law treats any adult") == len(legislators)
    else:
        assert "letter" not in said.lower()
    assert "Make a call too" in said
    assert "doubles" not in said
    assert "Ask others to join" in said


def check_letter_page(page: Page, visitor: Visitor) -> None:
    page.get_by_role("link", name="Print your letter to The American Law Institute").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Your letter to The American Law Institute"
    )
    expect(page.get_by_role("button", name="Print this letter")).to_be_visible()
    letter = page.locator("article.letter").inner_text()
    assert_no_empty_values(letter, f"letter of {visitor.label}")
    today = date.today()
    expected_start = [
        VISITOR["name"],
        visitor.address,
        f"{today:%B} {today.day}, {today.year}",
        "The American Law Institute",
        "4025 Chestnut Street",
        "Philadelphia, PA 19104-3099",
        "Re: Thank you for keeping buyers of children within trafficking offenses",
        "Dear Members of the Council of the American Law Institute,",
    ]
    lines = [line.strip() for line in letter.splitlines() if line.strip()]
    assert lines[: len(expected_start)] == expected_start
    assert lines[-2:] == [VISITOR["name"], f"{visitor.city}, {visitor.state_name}"]
    # One US Letter page when printed.
    pdf = page.pdf(format="Letter")
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1


@pytest.mark.parametrize("slug", [LOWER, BOTH])
def test_sample_visitors_read_true_and_complete_pages(
    page: Page, live_server: LiveServer, upstream: FakeUpstreams, slug: str
) -> None:
    for n, visitor in enumerate(VISITORS):
        act(page, slug, visitor, upstream, n)
        check_write_page(page, slug, visitor)
        page.get_by_role("button", name=re.compile(r"^Send my message")).click()
        check_thanks_page(page, slug, visitor)
        if slug == LOWER:
            check_letter_page(page, visitor)
