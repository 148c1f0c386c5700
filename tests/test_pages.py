"""Public pages render, say what state a campaign is in, and never show a traceback."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from advocacy.campaigns import service
from advocacy.dbtypes import utcnow
from advocacy.extensions import db
from tests.conftest import REPO, copy_repo_campaigns


@pytest.fixture
def synced(app: Flask, campaigns_dir: Path) -> Path:
    copy_repo_campaigns(campaigns_dir)
    service.sync_folder(campaigns_dir)
    return campaigns_dir


def set_status(campaigns_dir: Path, slug: str, status: str) -> None:
    path = campaigns_dir / f"{slug}.yaml"
    text = path.read_text()
    path.write_text(text.replace("status: live", f"status: {status}", 1))
    service.sync_folder(campaigns_dir)


def test_home_lists_live_campaigns(client: FlaskClient, synced: Path) -> None:
    page = client.get("/").get_data(as_text=True)
    assert "Keep buyers of children accountable in every state" in page
    assert "Every exploited child is a victim" in page
    assert '<html lang="en">' in page and 'name="viewport"' in page


def test_campaign_page_has_summary_and_form(client: FlaskClient, synced: Path) -> None:
    response = client.get("/c/oppose-buyer-immunity")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<strong>Model Penal Code</strong>" in page
    for field in ("name", "email", "street_address", "phone", "opt_in"):
        assert f'id="{field}"' in page and f'for="{field}"' in page
    assert 'action="/c/oppose-buyer-immunity/act"' in page


def test_paused_campaign_says_so_and_has_no_form(client: FlaskClient, synced: Path) -> None:
    set_status(synced, "oppose-buyer-immunity", "paused")
    page = client.get("/c/oppose-buyer-immunity").get_data(as_text=True)
    assert "paused" in page and 'id="street_address"' not in page
    assert "paused" in client.get("/").get_data(as_text=True)


def test_closed_campaign_is_not_actionable(client: FlaskClient, synced: Path) -> None:
    set_status(synced, "oppose-buyer-immunity", "closed")
    page = client.get("/c/oppose-buyer-immunity").get_data(as_text=True)
    assert "closed" in page and 'id="street_address"' not in page
    response = client.post("/c/oppose-buyer-immunity/act", data={"name": "A"})
    assert response.status_code == 409
    assert "Oppose buyer immunity" not in client.get("/").get_data(as_text=True)


def test_draft_campaign_is_hidden(client: FlaskClient, synced: Path) -> None:
    set_status(synced, "oppose-buyer-immunity", "draft")
    assert client.get("/c/oppose-buyer-immunity").status_code == 404


def test_scheduled_and_ended_campaigns(client: FlaskClient, synced: Path) -> None:
    campaign = service.get_campaign("every-exploited-child-is-a-victim")
    assert campaign is not None
    campaign.starts_at = utcnow() + timedelta(days=2)
    db.session.commit()
    page = client.get("/c/every-exploited-child-is-a-victim").get_data(as_text=True)
    assert "opens on" in page and 'id="street_address"' not in page
    campaign.starts_at = None
    campaign.ends_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    page = client.get("/c/every-exploited-child-is-a-victim").get_data(as_text=True)
    assert "has ended" in page and 'id="street_address"' not in page


def test_unknown_page_is_a_friendly_404(client: FlaskClient, synced: Path) -> None:
    response = client.get("/c/no-such-campaign")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)
    assert client.get("/nothing/here").status_code == 404


def test_api_errors_are_json(client: FlaskClient) -> None:
    response = client.get("/api/nothing")
    assert response.status_code == 404 and response.is_json


def test_markdown_is_sanitised() -> None:
    html = str(
        service.render_markdown(
            "Hi <script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)>"
        )
    )
    assert "<script" not in html and "javascript:" not in html and "onerror" not in html


def test_no_external_assets(client: FlaskClient, synced: Path) -> None:
    for url in ("/", "/c/oppose-buyer-immunity", "/find"):
        page = client.get(url).get_data(as_text=True)
        assert "http://cdn" not in page and '<script src="http' not in page
        assert '<link rel="stylesheet" href="/static/site.css">' in page
    css = (REPO / "static" / "site.css").read_text()
    assert ":focus-visible" in css and "@media" in css
