"""The dashboard and the CSV exports over HTTP: who may see them, what they contain, streaming,
formula-safe cells, the audit log, and charts that load nothing from elsewhere."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import select

from advocacy.admin.models import ROLES, AuditEntry
from advocacy.campaigns.models import Campaign
from advocacy.exports import charts
from advocacy.extensions import db
from tests.exports.conftest import parse_csv
from tests.exports.data import (
    ALICE,
    BOB,
    DAN,
    ORG,
    SLUG,
    Person,
    Target,
    add_action,
    make_campaign,
    utc,
)

# (path, the least role allowed)
PAGES = [
    (f"/admin/c/{SLUG}/tallies", "organizer"),
    (f"/admin/c/{SLUG}/tallies?from=2026-03-01&to=2026-03-09&state=NH", "organizer"),
    (f"/campaigns/{SLUG}/export.csv?by=state", "organizer"),
    (f"/admin/c/{SLUG}/supporters.csv", "admin"),
    ("/admin/tokens", "organizer"),
]
URL = re.compile(r"https?://[^\s\"'<>)]+")


def audit_actions() -> list[tuple[str, str | None]]:
    db.session.expire_all()
    return [(e.action, e.subject) for e in db.session.scalars(select(AuditEntry))]


@pytest.mark.parametrize(("path", "least"), PAGES)
@pytest.mark.parametrize("who", ["anonymous", *ROLES])
def test_who_may_see_tallies_and_exports(
    app: Flask, seeded: Campaign, as_role, who: str, path: str, least: str  # type: ignore[no-untyped-def]
) -> None:
    client = app.test_client() if who == "anonymous" else as_role(who)
    response = client.get(path)
    if who == "anonymous":
        assert response.status_code == 303
        assert response.headers["Location"].startswith("/admin/sign-in?next=")
    elif ROLES.index(who) < ROLES.index(least):
        assert response.status_code == 403
    else:
        assert response.status_code == 200, response.get_data(as_text=True)[:500]


def test_unknown_campaign_is_404(seeded: Campaign, as_role) -> None:  # type: ignore[no-untyped-def]
    client = as_role("admin")
    assert client.get("/campaigns/nope/export.csv").status_code == 404
    assert client.get("/admin/c/nope/tallies").status_code == 404
    assert client.get("/admin/c/nope/supporters.csv").status_code == 404


def test_export_csv_is_streamed_exact_and_audited(seeded: Campaign, as_role) -> None:  # type: ignore[no-untyped-def]
    client = as_role("organizer")
    response = client.get(f"/campaigns/{SLUG}/export.csv?by=district")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="{SLUG}_tallies_district.csv"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_data()
    assert body == (
        b"state,chamber,district,contacts\r\n"
        b",,,2\r\n"
        b"NE,legislature,12,1\r\n"
        b"NH,lower,Hillsborough 23,5\r\n"
        b"NH,upper,15,4\r\n"
        b"PA,lower,12,2\r\n"
        b"PA,upper,3,2\r\n"
    )
    assert ("tallies.exported", SLUG) in audit_actions()


def test_export_accepts_repeated_by_and_filters(app: Flask, seeded: Campaign, as_role) -> None:  # type: ignore[no-untyped-def]
    app.config["TIMEZONE"] = "America/New_York"
    client = as_role("organizer")
    query = "by=day&by=state&from=2026-03-01&to=2026-03-02&state=NH"
    response = client.get(f"/campaigns/{SLUG}/export.csv?{query}")
    assert parse_csv(response.get_data()) == [
        ["day", "state", "contacts"], ["2026-03-01", "NH", "7"],
    ]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("by=galaxy", "unknown grouping"),
        ("from=yesterday", "from must be a date written YYYY-MM-DD"),
        ("from=2026-02-30", "from is not a real date"),
        ("from=2026-03-05&to=2026-03-01", "is after to"),
        ("state=Narnia", "state must be a two-letter"),
    ],
)
def test_bad_export_queries_are_400_with_the_reason(
    seeded: Campaign, as_role, query: str, message: str  # type: ignore[no-untyped-def]
) -> None:
    client = as_role("organizer")
    response = client.get(f"/campaigns/{SLUG}/export.csv?{query}")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    dashboard = client.get(f"/admin/c/{SLUG}/tallies?{query}")
    if query.startswith("by="):  # the dashboard has no grouping parameter: ignored
        assert dashboard.status_code == 200
    else:
        assert dashboard.status_code == 400
        assert message in dashboard.get_data(as_text=True)


def test_formula_cells_are_neutralised(app: Flask, as_role) -> None:  # type: ignore[no-untyped-def]
    campaign = make_campaign("formulas")
    nasty = [
        Target("=HYPERLINK(\"http://x\")", "=1+2", "+Party", "PA", "lower", "-5"),
        Target("@id", "@SUM(A1)", "\tTabbed", "PA", "lower", "\rCR"),
        Target("ok-id", "Plain -name", "", "PA", "upper", "7"),
    ]
    add_action(campaign, DAN, utc("2026-03-05 12:00"), [(t, "email", "sent", False) for t in nasty])
    db.session.commit()
    response = as_role("organizer").get("/campaigns/formulas/export.csv?by=legislator")
    rows = parse_csv(response.get_data())
    assert rows[1:] == [
        ["PA", "lower", "'\rCR", "'@id", "'@SUM(A1)", "'\tTabbed", "1"],
        ["PA", "lower", "'-5", "'=HYPERLINK(\"http://x\")", "'=1+2", "'+Party", "1"],
        ["PA", "upper", "7", "ok-id", "Plain -name", "", "1"],
    ]
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


def test_tallies_carry_no_personal_data(seeded: Campaign, as_role) -> None:  # type: ignore[no-untyped-def]
    client = as_role("organizer")
    everything = "by=day,state,chamber,district,legislator,channel,status"
    text = client.get(f"/campaigns/{SLUG}/export.csv?{everything}").get_data(as_text=True)
    for person in (ALICE, BOB, DAN):
        for value in (person.name, person.email, person.street, person.city, person.zip_code):
            assert value not in text


def test_supporters_are_only_those_who_opted_in(seeded: Campaign, as_role) -> None:  # type: ignore[no-untyped-def]
    response = as_role("admin").get(f"/admin/c/{SLUG}/supporters.csv")
    assert response.status_code == 200
    assert response.is_streamed
    rows = parse_csv(response.get_data())
    assert rows[0] == [
        "name", "email", "phone", "street_address", "city", "state", "zip_code", "last_action_at",
    ]
    # alice acted twice (one row, her latest details); carol's name and phone start with
    # formula characters; bob and dan did not opt in.
    assert rows[1:] == [
        ["Alice Voter", "Alice@Example.org", "", "9 Oak St", "Concord", "NH", "03301",
         "2026-03-10T15:00:00+00:00"],
        ["'@Carol Formula", "carol@example.org", "'+1 402 555 0100", "3 Main St", "Lincoln",
         "NE", "68508", "2026-03-02T05:30:00+00:00"],
        ["Erin Voter", "erin@example.org", "", "5 Elm Ave", "Erie", "PA", "16501",
         "2026-03-09T04:30:00+00:00"],
    ]
    assert ("supporters.exported", SLUG) in audit_actions()


def test_supporters_leave_out_anonymised_people(seeded: Campaign, as_role) -> None:  # type: ignore[no-untyped-def]
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == SLUG))
    assert campaign is not None
    gone = Person("Zed Gone", "zed@example.org", "8 Way", "Erie", "PA", "16501", None, True)
    action = add_action(campaign, gone, utc("2026-03-03 10:00"), [(ORG, "postal", "logged", False)])
    action.constituent.anonymised_at = utc("2026-03-04 00:00")
    db.session.commit()
    text = as_role("admin").get(f"/admin/c/{SLUG}/supporters.csv").get_data(as_text=True)
    assert "zed@example.org" not in text


def test_dashboard_shows_figures_charts_and_tables(app: Flask, seeded: Campaign, as_role) -> None:  # type: ignore[no-untyped-def]
    app.config["TIMEZONE"] = "America/New_York"
    page = as_role("organizer").get(f"/admin/c/{SLUG}/tallies").get_data(as_text=True)
    assert "America/New_York" in page
    for figure in ("<th scope=\"row\">Actions</th><td>6</td>",
                   "Unique constituents (one per email address)</th><td>5</td>",
                   "<th scope=\"row\">Contacts</th><td>16</td>",
                   "33.3% (5 of 15)"):
        assert figure in page, figure
    assert page.count("<svg ") == 3
    assert page.count('role="img"') == 3
    # every chart's figures are in a table: per day (New York days), by state, by status
    assert '<tr><th scope="row">2026-03-01</th><td>8</td></tr>' in page
    assert '<tr><th scope="row">NH</th><td>9</td></tr>' in page
    assert '<tr><th scope="row">sent</th><td>9</td></tr>' in page
    assert "Blake Okafor" in page and "Hillsborough 23" in page
    # the supporter download is offered to admins only
    assert "supporters.csv" not in page
    assert "supporters.csv" in as_role("admin").get(f"/admin/c/{SLUG}/tallies").get_data(
        as_text=True
    )


def test_charts_load_nothing_from_elsewhere(seeded: Campaign, as_role) -> None:  # type: ignore[no-untyped-def]
    page = as_role("organizer").get(f"/admin/c/{SLUG}/tallies").get_data(as_text=True)
    svgs = re.findall(r"<svg .*?</svg>", page, re.DOTALL)
    assert len(svgs) == 3
    for svg in svgs:
        assert set(URL.findall(svg)) == {"http://www.w3.org/2000/svg"}
        assert "<script" not in svg
        assert "<!--" not in svg
    for svg in (charts.daily_chart([]), charts.bar_chart([("NH", 1)], "x")):
        assert set(URL.findall(str(svg))) == {"http://www.w3.org/2000/svg"}


def test_chart_labels_are_escaped() -> None:
    svg = str(charts.bar_chart([("<script>alert(1)</script>", 3)], 'a "label" <b>'))
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert 'aria-label="a &#34;label&#34; &lt;b&gt;"' in svg


def test_campaign_page_links_to_the_dashboard(app: Flask, seeded: Campaign, as_role) -> None:  # type: ignore[no-untyped-def]
    page = as_role("organizer").get(f"/admin/c/{SLUG}").get_data(as_text=True)
    assert f'href="/admin/c/{SLUG}/tallies"' in page
    assert 'href="/admin/tokens"' in page


def test_empty_campaign_dashboard_and_export(as_role) -> None:  # type: ignore[no-untyped-def]
    make_campaign("empty")
    db.session.commit()
    client = as_role("organizer")
    page = client.get("/admin/c/empty/tallies")
    assert page.status_code == 200
    assert "no written messages" in page.get_data(as_text=True)
    assert client.get("/campaigns/empty/export.csv?by=legislator,day").get_data() == (
        b"day,state,chamber,district,target_id,target_name,party,contacts\r\n"
    )


def test_other_campaigns_are_never_counted(seeded: Campaign, as_role) -> None:  # type: ignore[no-untyped-def]
    rows = parse_csv(as_role("organizer").get("/campaigns/other-campaign/export.csv").get_data())
    assert rows == [["state", "contacts"], ["PA", "1"]]
