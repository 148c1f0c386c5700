"""A campaign that writes to a committee's chair and vice chair and to the visitor's governor,
through the test client: its page names the committee's leaders before any address, the write
page, the send (each contact's snapshot), the thank-you page, calls and tallies; a committee
that writes only to the visitor's own members; an office with no holder on record; a kept
campaign page that follows a roster refresh."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from advocacy.actions.models import Contact
from advocacy.campaigns.service import get_campaign, sync_folder
from advocacy.exports.tallies import tally_dicts, tally_request
from advocacy.extensions import db
from tests.actions.helpers import ADDRESS, FORM, count, field_names, nh, start, submission_key
from tests.admin.conftest import as_role, password_hash, staff  # noqa: F401
from tests.fakes.upstream import FakeUpstreams, Match
from tests.lookup.offices_world import (
    CAMPAIGN,
    GOVERNOR,
    HOUSE_JUDICIARY,
    SENATE_JUDICIARY,
    sync_nh,
    write_campaign,
)
from tests.lookup.yaml_people import official
from tests.text import visible_text

SLUG = "judiciary-and-governor"


@pytest.fixture
def world(
    client: FlaskClient, upstream: FakeUpstreams, campaigns_dir: Path, tmp_path: Path
) -> Path:
    """New Hampshire from YAML with its committees and officials, the campaign, the address."""
    root = tmp_path / "repo"
    sync_nh(root)
    write_campaign(campaigns_dir)
    assert not sync_folder(campaigns_dir).problems
    upstream.add_address(ADDRESS, nh())
    return root


def test_the_campaign_page_names_the_committee_leaders_before_any_address(
    client: FlaskClient, world: Path
) -> None:
    said = visible_text(client.get(f"/c/{SLUG}"))
    assert "Who receives your message" in said
    assert "Ben Birch (Independent), Chair, House Judiciary Committee" in said
    assert "Cy Cedar (Independent), Vice chair, House Judiciary Committee" in said
    assert "Di Dogwood" not in said  # a member, and the campaign writes to its leaders
    assert "Your message also goes to your state's Governor, found from your address." in said
    assert "Your address tells us who your state's Governor is." in said
    assert "your own state legislators" not in said and "Find my legislators" not in said
    assert "We use your street address to find your city and state." in said


def test_write_send_and_thank_you_for_committee_leaders_and_the_governor(
    client: FlaskClient, world: Path
) -> None:
    page = start(client, SLUG)
    said = visible_text(page)
    assert "To Representative Birch" in said and "To Representative Cedar" in said
    assert "Ben Birch (Independent), Chair, House Judiciary Committee. Sent by email." in said
    assert "Kelly Ayres (Independent), Governor of New Hampshire. Sent by email." in said
    assert "To Governor Ayres" in said
    assert "A request to the Governor from Nashua" in said  # its own message
    assert "As House Judiciary Committee's leadership, please schedule a hearing." in said
    assert "Sam Senator" not in said and "Di Dogwood" not in said
    assert "These are not my legislators" not in said  # none of the visitor's own are shown
    assert len(field_names(page)) == 3
    key = submission_key(page)
    response = client.post(f"/c/{SLUG}/send", data={"submission_key": key})
    assert response.status_code == 303

    contacts = list(db.session.scalars(select(Contact).order_by(Contact.id)))
    snapshot = [
        (c.target_kind, c.target_name, c.target_title, c.target_state, c.target_chamber,
         c.target_district, c.target_email)
        for c in contacts
    ]  # fmt: skip
    assert snapshot == [
        ("committee", "Ben Birch", "Representative", "NH", "lower", "Judiciary",
         "ben@leg.example.gov"),
        ("committee", "Cy Cedar", "Representative", "NH", "lower", "Judiciary",
         "cy@leg.example.gov"),
        ("executive", "Kelly Ayres", "Governor", "NH", "executive", "Governor",
         "governor@nh.example.gov"),
    ]  # fmt: skip
    assert contacts[2].subject == "A request to the Governor from Nashua"

    thanks = client.get(response.headers["Location"])
    said = visible_text(thanks)
    assert said.count("your email is queued and will be sent soon.") == 3
    for name in ("Ben Birch", "Cy Cedar", "Kelly Ayres"):
        assert f"I called {name}" in said
    assert "Governor of New Hampshire" in said and "Chair, House Judiciary Committee" in said
    assert (
        "Hello, my name is Alex Rivera. I am calling Representative Birch about the bill "
        "before the Judiciary committee." in said
    )
    assert 'href="tel:5550150"' in thanks.get_data(as_text=True)  # the governor's office

    # A call to the governor is logged like one to a legislator.
    governor_id = contacts[2].target_id
    called = client.post(
        f"/c/{SLUG}/thanks/{key}/called", data={"target_id": governor_id}, follow_redirects=True
    )
    assert "Thank you for calling Kelly Ayres. We have logged your call." in visible_text(called)
    campaign = get_campaign(SLUG)
    assert campaign is not None
    rows = tally_dicts(tally_request(campaign, by="district,channel"))
    assert {
        (r["state"], r["chamber"], r["district"], r["channel"], r["contacts"]) for r in rows
    } == {
        ("NH", "lower", "Judiciary", "email", 2),
        ("NH", "executive", "Governor", "email", 1),
        ("NH", "executive", "Governor", "call", 1),
    }


REPRESENTING = CAMPAIGN.replace(
    "    roles: [chair, vice chair]\n", "    members: representing_visitor\n"
).replace(
    "  - type: executive\n    office: governor\n",
    "  - type: executive\n    office: secretary of state\n",
)


def test_a_committee_of_the_visitors_own_members_and_an_office_no_one_holds(
    client: FlaskClient, world: Path, campaigns_dir: Path, upstream: FakeUpstreams
) -> None:
    write_campaign(campaigns_dir, REPRESENTING)
    assert not sync_folder(campaigns_dir).problems
    home = visible_text(client.get(f"/c/{SLUG}"))
    assert "Who receives your message" not in home  # everyone depends on the address
    assert "Find my legislators" in home
    said = visible_text(start(client, SLUG))
    # Of the committee, only the visitor's own: Ben Birch (Hillsborough 23), Cy Cedar and
    # Di Dogwood (the floterial over it). Pat Nobody has no person id.
    for name in ("Ben Birch", "Cy Cedar", "Di Dogwood"):
        assert f"{name} (Independent), " in said
    assert "Member, House Judiciary Committee" in said
    assert "Ada Alder" not in said and "Sam Senator" not in said
    assert (
        "We have no record of who is Secretary of State of New Hampshire right now, so no "
        "message goes to that office." in said
    )
    assert "These are not my legislators: tell us." in said

    # A visitor none of whose legislators is on it is told so, and has no one to write to.
    other = "9 Elm St, Concord, NH 03301"
    upstream.add_address(other, Match("9 ELM ST, CONCORD, NH, 03301", "33", upper=nh().upper))
    second = client.application.test_client()
    page = start(second, SLUG, street_address=other, email="other@example.org")
    said = visible_text(page)
    assert "None of your own legislators sits on the House Judiciary Committee." in said
    assert "We found no one to write to for this campaign at your address." in said


def test_a_kept_campaign_page_follows_a_roster_refresh(
    app: Flask, client: FlaskClient, world: Path
) -> None:
    first = visible_text(client.get(f"/c/{SLUG}"))
    assert "Ben Birch (Independent), Chair" in first
    # Ben Birch gives up the chair to Di Dogwood at the next refresh.
    reshuffled = dict(HOUSE_JUDICIARY)
    members = [dict(m) for m in HOUSE_JUDICIARY["members"]]  # type: ignore[union-attr]
    members[0]["role"], members[2]["role"] = "member", "chair"
    reshuffled["members"] = members
    sync_nh(world, committees=[reshuffled, SENATE_JUDICIARY])
    again = visible_text(client.get(f"/c/{SLUG}"))
    assert "Di Dogwood (Independent), Chair, House Judiciary Committee" in again
    assert "Ben Birch" not in again


def test_the_governor_of_the_visitors_state_on_the_day_they_write(
    client: FlaskClient, world: Path
) -> None:
    # The governor elected in November takes office in January: loaded, not yet written to.
    outgoing = {**GOVERNOR, "roles": [{**GOVERNOR["roles"][0], "end_date": "2027-01-07"}]}
    incoming = official("nh", "Rowan", "Reyes", start="2027-01-07", end="2031-01-02")
    sync_nh(world, executives=[outgoing, incoming], today=date(2026, 12, 20))
    said = visible_text(start(client, SLUG))
    assert "To Governor Ayres" in said and "Rowan Reyes" not in said
    assert count(Contact) == 0


GOVERNOR_ONLY = """\
slug: write-the-governor
title: Write to your governor
summary: Words.
status: live
targets:
  - type: executive
    office: governor
message:
  subject: Please sign the bill
  mode: locked
  body: |
    Dear {{ target.salutation }},

    Please sign the bill.

    {{ constituent.name }}, {{ constituent.city }}
"""


def test_with_the_census_down_a_governor_campaign_asks_only_for_the_state_and_city(
    client: FlaskClient, world: Path, campaigns_dir: Path, upstream: FakeUpstreams
) -> None:
    write_campaign(campaigns_dir, GOVERNOR_ONLY, "write-the-governor")
    assert not sync_folder(campaigns_dir).problems
    upstream.mode = "500"
    slug = "write-the-governor"
    answer = client.post(f"/c/{slug}/act", data={**FORM, "street_address": "12 Main St Nashua"})
    assert answer.headers["Location"] == f"/c/{slug}/choose"
    said = visible_text(client.get(f"/c/{slug}/choose?state=nh"))
    assert "Choose your state" in said and "Choose your district" not in said
    assert "It goes in your message, so its recipients know where you live." in said
    chosen = client.post(f"/c/{slug}/choose", data={"state": "nh", "city": "Nashua"})
    assert chosen.headers["Location"] == f"/c/{slug}/write"
    page = visible_text(client.get(f"/c/{slug}/write"))
    assert "Kelly Ayres (Independent), Governor of New Hampshire. Sent by email." in page
    assert "Alex Rivera, Nashua" in page


def test_staff_are_told_of_a_committee_the_directory_cannot_find(
    world: Path, campaigns_dir: Path, as_role  # noqa: F811
) -> None:
    organizer = as_role("organizer")
    assert "Visitors write to no one" not in visible_text(organizer.get(f"/admin/c/{SLUG}"))
    write_campaign(campaigns_dir, CAMPAIGN.replace("committee: judiciary", "committee: Judicary"))
    assert not sync_folder(campaigns_dir).problems
    said = visible_text(organizer.get(f"/admin/c/{SLUG}"))
    assert (
        "Visitors write to no one through these committee targets: the directory cannot find "
        "them today." in said
    )
    assert "NH lower: no committee named 'Judicary' in the directory" in said
    # The visitor sees the governor only.
    assert "Who receives your message" not in visible_text(organizer.get(f"/c/{SLUG}"))
