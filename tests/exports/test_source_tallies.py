"""Tallies by source code (the link each visitor came by) in every form: the dashboard's "By
source" table, the CSV (web and command line, the same bytes), and the JSON API."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import update

from advocacy.actions.models import Action
from advocacy.campaigns.models import Campaign
from advocacy.exports import tokens
from advocacy.exports.cli import BY_HELP
from advocacy.extensions import db
from tests.exports.data import SLUG, make_campaign, utc
from tests.exports.test_api import API, bearer, user
from tests.text import visible_text

# The seeded actions (tests/exports/data.py) by UTC time, and the code each came by: a1 and
# a2 (4 contacts each) from partner-a, a3 (2) from a shared email, the other three (6) none.
SOURCES = {
    "2026-03-01 12:00": "partner-a",
    "2026-03-02 03:30": "partner-a",
    "2026-03-02 05:30": "share-email",
}
CSV = b"source,contacts\r\n,6\r\npartner-a,8\r\nshare-email,2\r\n"


@pytest.fixture
def with_sources(seeded: Campaign) -> Campaign:
    for when, code in SOURCES.items():
        db.session.execute(
            update(Action)
            .where(Action.campaign_id == seeded.id, Action.created_at == utc(when))
            .values(source=code)
        )
    db.session.commit()
    return seeded


def test_dashboard_shows_actions_and_contacts_by_source(with_sources: Campaign, as_role) -> None:  # type: ignore[no-untyped-def]
    page = as_role("organizer").get(f"/admin/c/{SLUG}/tallies")
    assert page.status_code == 200
    said = " ".join(visible_text(page.get_data(as_text=True)).split())
    assert (
        "By source The source code of the link each visitor came by (?source= or ?refcode= on a "
        "campaign link); codes starting with share- come from the share links on the thank-you "
        "page and in the receipt. Actions and contacts by source Source Actions Contacts "
        "no source 3 6 partner-a 2 8 share-email 1 2 "
    ) in said


def test_dashboard_by_source_follows_the_filters(with_sources: Campaign, as_role) -> None:  # type: ignore[no-untyped-def]
    page = as_role("organizer").get(f"/admin/c/{SLUG}/tallies?from=2026-03-02&to=2026-03-02")
    said = " ".join(visible_text(page.get_data(as_text=True)).split())
    assert "Source Actions Contacts partner-a 1 4 share-email 1 2 Did they reply?" in said


def test_dashboard_without_any_action_says_so(as_role, app: Flask) -> None:  # type: ignore[no-untyped-def]
    make_campaign("quiet")
    db.session.commit()
    page = as_role("organizer").get("/admin/c/quiet/tallies")
    said = " ".join(visible_text(page.get_data(as_text=True)).split())
    assert "Source Actions Contacts No actions." in said


def test_csv_by_source_on_the_web_and_the_command_line(
    app: Flask, with_sources: Campaign, as_role  # type: ignore[no-untyped-def]
) -> None:
    web = as_role("organizer").get(f"/campaigns/{SLUG}/export.csv?by=source")
    assert web.status_code == 200
    assert web.get_data() == CSV
    result = app.test_cli_runner().invoke(
        args=["export", "tallies", "--campaign", SLUG, "--by", "source"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == CSV
    # With other groupings: the code stays the action's, whichever contact is counted.
    both = as_role("organizer").get(f"/campaigns/{SLUG}/export.csv?by=state,source")
    assert both.get_data() == (
        b"state,source,contacts\r\n"
        b",partner-a,1\r\n,share-email,1\r\n"
        b"NE,share-email,1\r\n"
        b"NH,,2\r\nNH,partner-a,7\r\n"
        b"PA,,4\r\n"
    )


def test_api_by_source(app: Flask, with_sources: Campaign, staff: dict[str, str]) -> None:
    secret = tokens.create_token(user(staff["manager"]), "partner", None).secret
    response = app.test_client().get(f"{API}?by=source", headers=bearer(secret))
    assert response.status_code == 200
    body = response.json
    assert body["by"] == ["source"]
    assert body["rows"] == [
        {"source": None, "contacts": 6},
        {"source": "partner-a", "contacts": 8},
        {"source": "share-email", "contacts": 2},
    ]
    assert body["total"] == 16


def test_cli_help_lists_source() -> None:
    assert "source" in BY_HELP.split(": ")[1]
