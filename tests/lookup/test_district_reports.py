""" "These are not my legislators": a visitor of /find or of a campaign reports the districts
shown for their address (the address and districts only), staff approve or dismiss it, and an
approved report makes the lookup answer that address with the visitor's districts before the
Census is asked; the report is kept, every decision audited."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote_plus

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, inspect, select

from advocacy.admin.models import AuditEntry
from advocacy.extensions import db
from advocacy.lookup.models import AddressOverride, DistrictReport, LookupCacheEntry
from advocacy.lookup.service import lookup_address
from tests.actions.helpers import ADDRESS, nh, start
from tests.admin.conftest import as_role, password_hash, staff  # noqa: F401
from tests.fakes.upstream import FakeUpstreams
from tests.text import visible_text

FIND = f"/find?address={quote_plus(ADDRESS)}"
REPORT = f"/find/report?address={quote_plus(ADDRESS)}"
# The Census places the address in Hillsborough 23 (and its floterial, 40) and Senate 15; the
# visitor says they live in Hillsborough 24 and Senate 16.
RIGHT = {"district-lower": "lower|Hillsborough 24", "district-upper": "upper|16"}


def reports() -> list[DistrictReport]:
    db.session.expire_all()
    return list(db.session.scalars(select(DistrictReport).order_by(DistrictReport.id)))


def test_a_visitor_of_find_reports_the_districts_shown_for_their_address(
    client: FlaskClient, upstream: FakeUpstreams, directory: Path
) -> None:
    upstream.add_address(ADDRESS, nh())
    found = client.get(FIND)
    assert "These are not my legislators: tell us which districts are yours." in (
        visible_text(found)
    )
    form = visible_text(client.get(REPORT))
    assert "Your address: 12 Main St, Nashua, NH 03060" in form
    assert (
        "We showed you:\nSenate district 15\nHouse district Hillsborough 23\n"
        "House district Hillsborough 40" in form
    )
    assert "Your House district" in form and "Your Senate district" in form
    assert "Hillsborough 24" in form  # every district of the state is offered
    assert "We keep only the address and the districts, not your name or email." in form

    sent = client.post("/find/report", data={"address": ADDRESS, **RIGHT})
    assert sent.status_code == 303
    assert sent.headers["Location"] == "/find?address=12+Main+St,+Nashua,+NH+03060"
    assert "Thank you. Our staff will check the districts for your address." in visible_text(
        client.get(sent.headers["Location"])
    )
    [report] = reports()
    assert (report.address, report.state, report.status) == ("12 main st nashua nh 03060", "nh",
                                                              "open")  # fmt: skip
    assert report.shown == ["upper|15", "lower|Hillsborough 23", "lower|Hillsborough 40"]
    assert report.proposed == ["upper|16", "lower|Hillsborough 24"]
    # No personal data beyond the address: no name, email, phone or network address.
    columns = {column.key for column in inspect(DistrictReport).columns}
    assert columns == {"id", "address", "state", "shown", "proposed", "created_at", "status",
                       "reviewed_at", "reviewed_by"}  # fmt: skip


def test_a_report_must_choose_districts_of_the_state_other_than_those_shown(
    client: FlaskClient, upstream: FakeUpstreams, directory: Path
) -> None:
    upstream.add_address(ADDRESS, nh())
    cases = [
        ({}, "Please choose the district you believe is yours."),
        ({"district-lower": "lower|Hillsborough 99"}, "That district is not one of your state's."),
        ({"district-lower": "lower|Hillsborough 23"}, "You chose the districts we showed."),
    ]
    for data, problem in cases:
        response = client.post("/find/report", data={"address": ADDRESS, **data})
        assert response.status_code == 400
        assert problem in visible_text(response)
    assert reports() == []
    # An address the Census cannot find has nothing to report on.
    missing = client.get("/find/report?address=" + quote_plus("1 Nowhere Rd, Nashua, NH"))
    assert missing.status_code == 303 and missing.headers["Location"] == "/find"
    assert "We could not find that address, so there are no districts to report." in (
        visible_text(client.get("/find"))
    )


def test_staff_approve_a_report_and_the_lookup_answers_with_it_before_the_census(
    app: Flask,
    client: FlaskClient,
    upstream: FakeUpstreams,
    directory: Path,
    as_role,  # noqa: F811
) -> None:
    upstream.add_address(ADDRESS, nh())
    client.get(FIND)
    client.post(
        "/find/report", data={"address": ADDRESS, "district-lower": "lower|Hillsborough 25"}
    )
    client.post("/find/report", data={"address": ADDRESS, **RIGHT})
    first, second = reports()
    assert cached_answers() == 1  # the Census answer kept

    organizer = visible_text(as_role("organizer").get("/admin/district-reports"))
    assert organizer.index("House district Hillsborough 24") < organizer.index(
        "House district Hillsborough 25\nOpen"
    )  # newest first
    assert "12 main st nashua nh 03060 (NH)" in organizer
    assert "Approve report" not in organizer  # organizers look; managers decide

    manager = as_role("manager")
    page = visible_text(manager.get("/admin/district-reports"))
    assert f"Approve report {second.id}" in page and f"Dismiss report {first.id}" in page
    assert "None: every address is looked up with the Census." in page
    done = manager.post(
        f"/admin/district-reports/{second.id}", data={"decision": "approve"}, follow_redirects=True
    )
    said = visible_text(done)
    assert "Approved: 12 main st nashua nh 03060 now gets the districts the visitor chose." in said
    assert "Approved by manager@example.org" in said and "(in force)" in said
    assert (
        "12 main st nashua nh 03060 (NH)\nSenate district 16, House district Hillsborough 24"
        in said
    )
    manager.post(f"/admin/district-reports/{first.id}", data={"decision": "dismiss"})
    again = manager.post(
        f"/admin/district-reports/{first.id}", data={"decision": "approve"}, follow_redirects=True
    )
    assert "That report was dismissed already." in visible_text(again)
    assert [r.status for r in reports()] == ["dismissed", "approved"]  # both kept
    assert cached_answers() == 0  # the Census answer dropped

    # The same address, typed another way: the override, and the Census is not asked.
    asked = upstream.geocoder_calls()
    result = lookup_address("12 Main St., Nashua NH 03060")
    assert upstream.geocoder_calls() == asked
    assert [(g.chamber, g.district) for g in result.districts] == [
        ("upper", "16"),
        ("lower", "Hillsborough 24"),
    ]
    assert result.notes == [
        "The districts for this address were set by our staff after a visitor told us the "
        "district map gave the wrong ones."
    ]
    shown = visible_text(client.get(FIND))
    assert "Hillsborough 24" in shown and "Hillsborough 23" not in shown

    actions = [
        (e.action, e.subject, e.detail)
        for e in db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action.like("district_report.%"))
            .order_by(AuditEntry.id)
        )
    ]
    assert actions == [
        (
            "district_report.approved",
            f"report {second.id}",
            {
                "address": "12 main st nashua nh 03060",
                "state": "nh",
                "districts": ["upper|16", "lower|Hillsborough 24"],
            },
        ),
        ("district_report.dismissed", f"report {first.id}", {"state": "nh"}),
    ]

    # Stopping the override: the Census answers again.
    stopped = manager.post(
        "/admin/district-reports/overrides/remove",
        data={"address": "12 main st nashua nh 03060"},
        follow_redirects=True,
    )
    assert "12 main st nashua nh 03060 is looked up with the Census again." in (
        visible_text(stopped)
    )
    assert db.session.scalar(select(AddressOverride)) is None
    assert [g.district for g in lookup_address(ADDRESS).districts] == [
        "15",
        "Hillsborough 23",
        "Hillsborough 40",
    ]
    assert upstream.geocoder_calls() == asked + 1
    assert db.session.scalar(
        select(AuditEntry.action).where(AuditEntry.action == "address_override.removed")
    )


def cached_answers() -> int:
    return db.session.scalar(select(func.count()).select_from(LookupCacheEntry)) or 0


def test_a_campaign_visitor_reports_their_districts_then_chooses_them(
    client: FlaskClient, upstream: FakeUpstreams, directory: Path, campaigns: Path
) -> None:
    upstream.add_address(ADDRESS, nh())
    slug = "every-exploited-child-is-a-victim"
    page = visible_text(start(client, slug))
    assert "These are not my legislators: tell us." in page
    form = visible_text(client.get(f"/c/{slug}/report"))
    assert (
        "We showed you:\nSenate district 15\nHouse district Hillsborough 23\n"
        "House district Hillsborough 40" in form
    )
    sent = client.post(f"/c/{slug}/report", data=RIGHT)
    assert sent.status_code == 303
    assert sent.headers["Location"] == f"/c/{slug}/choose?state=nh"
    chooser = visible_text(client.get(sent.headers["Location"]))
    assert (
        "Thank you. Our staff will check the districts for your address. To write now, choose "
        "your district below." in chooser
    )
    [report] = reports()
    assert report.address == "12 main st nashua nh 03060"
    assert report.proposed == ["upper|16", "lower|Hillsborough 24"]
    # Without a draft (a new visitor), the report page sends them to the campaign.
    other = client.application.test_client()
    assert other.get(f"/c/{slug}/report").headers["Location"] == f"/c/{slug}"
