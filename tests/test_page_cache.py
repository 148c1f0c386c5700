"""Kept public pages: within CHECK_SECONDS of the database's last word a kept page costs no
query; after that one query tells whether it still holds. Form posts always read afresh."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import update

from advocacy import pagecache
from advocacy.campaigns.models import Campaign
from advocacy.extensions import db
from tests.actions.helpers import FORM
from tests.queries import counted_statements

SLUG = "oppose-buyer-immunity"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(pagecache, "CHECK_SECONDS", 5.0)
    monkeypatch.setattr(pagecache, "clock", fake)
    return fake


def page(app: Flask) -> str:
    response = app.test_client().get(f"/c/{SLUG}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_within_the_interval_a_page_costs_no_query(
    app: Flask, campaigns: Path, clock: Clock
) -> None:
    page(app)
    with counted_statements() as statements:
        page(app)
    assert statements == []
    clock.now += 5.0
    with counted_statements() as statements:
        page(app)
    assert len(statements) == 1  # the interval is over: one query says it still holds


def test_a_pause_shows_after_the_interval_and_a_post_sees_it_at_once(
    app: Flask, campaigns: Path, clock: Clock
) -> None:
    assert 'id="street_address"' in page(app)
    db.session.execute(update(Campaign).where(Campaign.slug == SLUG).values(status="paused"))
    db.session.commit()
    clock.now += 4.0
    assert 'id="street_address"' in page(app)  # kept, a moment late
    refused = app.test_client().post(f"/c/{SLUG}/act", data=FORM)
    assert refused.status_code == 409 and "Nothing was sent" in refused.get_data(as_text=True)
    clock.now += 1.0
    paused = page(app)
    assert "paused" in paused and 'id="street_address"' not in paused


def test_unknown_campaigns_stay_404(app: Flask, campaigns: Path, clock: Clock) -> None:
    client = app.test_client()
    assert client.get("/c/no-such-campaign").status_code == 404
    assert client.get("/c/no-such-campaign").status_code == 404
    assert len(pagecache.rendered_pages()) == 0
