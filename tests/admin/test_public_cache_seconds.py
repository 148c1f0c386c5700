"""ADVOCACY_PUBLIC_CACHE_SECONDS: a campaign page may be served from memory for that long
without asking the database, so a change shows a moment late on the page (and on the
address step, which writes nothing); the send is always checked against the database
(tests/actions/test_submission_writes.py)."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import update

from advocacy.campaigns.models import Campaign
from advocacy.extensions import db
from tests.actions.helpers import FORM
from tests.conftest import Clock
from tests.queries import counted_statements

SLUG = "oppose-buyer-immunity"


def page(app: Flask) -> str:
    response = app.test_client().get(f"/c/{SLUG}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_within_the_window_a_page_costs_no_query(app: Flask, campaigns: Path, clock: Clock) -> None:
    page(app)
    with counted_statements() as statements:
        page(app)
    assert statements == []
    clock.now += 5.0
    with counted_statements() as statements:
        page(app)
    assert len(statements) == 1  # the window is over: the database is asked again


def test_a_pause_shows_after_the_window(app: Flask, campaigns: Path, clock: Clock) -> None:
    assert 'id="street_address"' in page(app)
    db.session.execute(update(Campaign).where(Campaign.slug == SLUG).values(status="paused"))
    db.session.commit()
    clock.now += 4.0
    assert 'id="street_address"' in page(app)  # from memory, a moment late
    clock.now += 1.0
    paused = page(app)
    assert "paused" in paused and 'id="street_address"' not in paused
    refused = app.test_client().post(f"/c/{SLUG}/act", data=FORM)
    assert refused.status_code == 409 and "Nothing was sent" in refused.get_data(as_text=True)


def test_unknown_campaigns_are_remembered_too_and_stay_404(
    app: Flask, campaigns: Path, clock: Clock
) -> None:
    client = app.test_client()
    assert client.get("/c/no-such-campaign").status_code == 404
    with counted_statements() as statements:
        assert client.get("/c/no-such-campaign").status_code == 404
    assert statements == []
