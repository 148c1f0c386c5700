"""The public campaign page: the same for every visitor (so it can be kept in memory), changes
shown at once, and nothing one visitor sees (flashed messages, the staff link) shown to
another."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from advocacy import create_app
from advocacy.campaigns import service as campaign_service
from advocacy.campaigns.models import Campaign
from advocacy.extensions import db
from tests.admin.conftest import sign_in

SLUG = "oppose-buyer-immunity"
PAGE = f"/c/{SLUG}"


def page(client: FlaskClient) -> str:
    response = client.get(PAGE)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_page_is_the_same_for_everyone_and_its_form_posts_from_it_only(
    app_config: dict[str, object], campaigns: Path
) -> None:
    # No app context around the requests: each gets its own ``g``, as under a server.
    app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    try:
        first, second = app.test_client(), app.test_client()
        responses = [first.get(PAGE), second.get(PAGE)]
        assert [r.status_code for r in responses] == [200, 200]
        assert responses[0].get_data() == responses[1].get_data()
        assert all("Set-Cookie" not in r.headers for r in responses)
        assert "csrf_token" not in responses[0].get_data(as_text=True)
        form = {"name": "", "street_address": ""}
        # From the page itself (a browser says same-origin; other clients say nothing).
        for headers in ({"Sec-Fetch-Site": "same-origin"}, {}):
            answer = second.post(f"{PAGE}/act", data=form, headers=headers)
            assert answer.status_code == 400
            assert "Please enter your name." in answer.get_data(as_text=True)
        # From another site's page: refused, and nothing kept in the session.
        forged = second.post(f"{PAGE}/act", data=form, headers={"Sec-Fetch-Site": "cross-site"})
        assert forged.status_code == 403 and "Set-Cookie" not in forged.headers
        # The step that sends still needs its token.
        refused = second.post(f"{PAGE}/send", data={"submission_key": "x" * 32})
        assert refused.status_code == 400
        assert "The form expired" in refused.get_data(as_text=True)
    finally:
        with app.app_context():
            db.engine.dispose()


def test_status_and_new_versions_show_at_once(
    app: Flask, client: FlaskClient, campaigns: Path
) -> None:
    assert 'id="street_address"' in page(client)
    # An admin (another process) pauses it: the next visitor sees it paused.
    db.session.execute(update(Campaign).where(Campaign.slug == SLUG).values(status="paused"))
    db.session.commit()
    paused = page(app.test_client())
    assert "paused" in paused and 'id="street_address"' not in paused
    db.session.execute(update(Campaign).where(Campaign.slug == SLUG).values(status="live"))
    db.session.commit()
    path = campaigns / f"{SLUG}.yaml"
    path.write_text(path.read_text().replace("**Model Penal Code**", "**Model Penal Code (MPC)**"))
    campaign_service.sync_folder(campaigns)
    assert "Model Penal Code (MPC)" in page(app.test_client())


def test_flashed_messages_are_never_shared(app: Flask, campaigns: Path) -> None:
    page(app.test_client())
    flashed = app.test_client()
    with flashed.session_transaction() as session:
        session["_flashes"] = [("info", "Only for this visitor")]
    assert "Only for this visitor" in page(flashed)
    assert "Only for this visitor" not in page(app.test_client())


def test_staff_footer_is_never_shared(
    app_config: dict[str, object], campaigns: Path, staff: dict[str, str]
) -> None:
    # Requests outside any app context, as under a server (Flask-Login keeps the user on g).
    served = create_app(app_config)
    try:
        visitor = served.test_client()
        assert 'href="/admin/sign-in"' in page(visitor)
        manager = served.test_client()
        sign_in(manager, staff["manager"])
        assert 'href="/admin/campaigns"' in page(manager)
        assert 'href="/admin/sign-in"' not in page(manager)
        assert 'href="/admin/campaigns"' not in page(served.test_client())
    finally:
        with served.app_context():
            db.engine.dispose()
