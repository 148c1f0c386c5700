"""The embedded action (/c/<slug>/embed...): the same flow, framed only by the campaign's
partners, in the compact layout, with a session cookie a frame can keep on https."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from advocacy import create_app
from advocacy.campaigns import service
from advocacy.extensions import db
from tests.actions.helpers import BOTH, FORM, LOWER, submission_key
from tests.text import visible_text

PARTNER = "https://partner.example.org"


def allow_embedding(campaigns: Path, slug: str = BOTH, origins: str = PARTNER) -> None:
    path = campaigns / f"{slug}.yaml"
    path.write_text(
        path.read_text() + f"embed:\n  allowed_origins: [{origins}]\n", encoding="utf-8"
    )
    report = service.sync_folder(campaigns)
    assert slug in report.updated, report.problems


@pytest.fixture
def embeddable(ready: FlaskClient, campaigns: Path) -> FlaskClient:
    allow_embedding(campaigns)
    return ready


def test_the_embed_page_is_framed_only_by_the_partners(embeddable: FlaskClient) -> None:
    response = embeddable.get(f"/c/{BOTH}/embed")
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    assert f"frame-ancestors {PARTNER};" in policy
    assert "X-Frame-Options" not in response.headers
    page = response.get_data(as_text=True)
    text = visible_text(page)
    assert "Add your voice" in text and "Find my legislators" in text
    assert "Find your legislators" not in text and "Staff" not in text  # no header or footer
    assert f'action="/c/{BOTH}/embed/act"' in page
    # The full page, and any other page, still refuse every frame.
    full = embeddable.get(f"/c/{BOTH}")
    assert "frame-ancestors 'none'" in full.headers["Content-Security-Policy"]
    assert full.headers["X-Frame-Options"] == "DENY"
    assert "Find your legislators" in visible_text(full.get_data(as_text=True))


def test_a_campaign_without_partners_has_no_embed(ready: FlaskClient) -> None:
    response = ready.get(f"/c/{LOWER}/embed")
    assert response.status_code == 404
    assert response.headers["X-Frame-Options"] == "DENY"
    assert ready.post(f"/c/{LOWER}/embed/act", data=FORM).status_code == 404


def test_the_flow_stays_in_the_frame_to_the_thank_you_page(embeddable: FlaskClient) -> None:
    response = embeddable.post(f"/c/{BOTH}/embed/act", data=FORM)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/c/{BOTH}/embed/write"
    write = embeddable.get(f"/c/{BOTH}/embed/write")
    assert write.headers["Content-Security-Policy"].count(PARTNER) == 1
    page = write.get_data(as_text=True)
    assert f'action="/c/{BOTH}/embed/send"' in page
    assert f'href="/c/{BOTH}/embed/choose"' in page
    sent = embeddable.post(f"/c/{BOTH}/embed/send", data={"submission_key": submission_key(page)})
    key = submission_key(page)
    assert sent.headers["Location"] == f"/c/{BOTH}/embed/thanks/{key}"
    thanks = embeddable.get(sent.headers["Location"])
    text = visible_text(thanks.get_data(as_text=True))
    assert "Thank you" in text
    assert "Open the full page (in a new tab) to keep this page and share the campaign." in text
    body = thanks.get_data(as_text=True)
    assert (
        f'<a href="/c/{BOTH}/thanks/{key}" target="_blank" rel="noopener">Open the full page</a>'
        in body
    )
    # The share links lead to the full campaign page, in a new tab.
    assert f'href="http://127.0.0.1:5000/c/{BOTH}?source=share-link" target="_blank"' in body
    # The full thank-you page says nothing about frames.
    full = visible_text(embeddable.get(f"/c/{BOTH}/thanks/{key}").get_data(as_text=True))
    assert "Thank you" in full and "Open the full page" not in full


def test_letters_to_print_open_in_a_new_tab(ready: FlaskClient, campaigns: Path) -> None:
    allow_embedding(campaigns, LOWER)
    ready.post(f"/c/{LOWER}/embed/act", data=FORM)
    page = ready.get(f"/c/{LOWER}/embed/write").get_data(as_text=True)
    key = submission_key(page)
    sent = ready.post(f"/c/{LOWER}/embed/send", data={"submission_key": key})
    thanks = ready.get(sent.headers["Location"]).get_data(as_text=True)
    assert (
        "Open the full page (in a new tab) to keep this page, print your letters and share "
        "the campaign." in visible_text(thanks)
    )
    letter = re.search(r'<a href="(/c/[^"]+/letter/[^"]+)"([^>]*)>Print your letter', thanks)
    assert letter is not None
    assert letter.group(1).startswith(f"/c/{LOWER}/thanks/{key}/letter/")  # the full site's
    assert letter.group(2) == ' target="_blank" rel="noopener"'


def test_the_district_picker_and_its_errors_stay_in_the_frame(embeddable: FlaskClient) -> None:
    embeddable.post(f"/c/{BOTH}/embed/act", data=FORM)
    picker = embeddable.get(f"/c/{BOTH}/embed/choose?state=nh")
    assert picker.status_code == 200
    assert f'action="/c/{BOTH}/embed/choose"' in picker.get_data(as_text=True)
    refused = embeddable.post(f"/c/{BOTH}/embed/choose", data={"state": "nh", "city": ""})
    assert refused.status_code == 303
    assert refused.headers["Location"].startswith(f"/c/{BOTH}/embed/choose?")
    again = embeddable.get(refused.headers["Location"])
    assert "Please tell us your city or town: it goes in your message." in visible_text(
        again.get_data(as_text=True)
    )
    assert "X-Frame-Options" not in again.headers


def test_the_session_cookie_of_the_frame(
    app: Flask, app_config: dict[str, object], embeddable: FlaskClient
) -> None:
    # Over plain http to a host other than localhost: the site's Lax cookie.
    plain = embeddable.post(f"/c/{BOTH}/embed/act", data=FORM, base_url="http://act.example.org")
    assert "SameSite=Lax" in plain.headers["Set-Cookie"]
    assert "Secure" not in plain.headers["Set-Cookie"]
    # On the developer's own machine, which browsers treat as secure, the frame's cookie.
    local = app.test_client().post(f"/c/{BOTH}/embed/act", data=FORM)
    assert "SameSite=None" in local.headers["Set-Cookie"]
    # Over https: a cookie a partner's frame can keep, for that partner's page alone.
    secure = app.test_client().post(
        f"/c/{BOTH}/embed/act", data=FORM, base_url="https://127.0.0.1:5000"
    )
    cookie = secure.headers["Set-Cookie"]
    assert "SameSite=None" in cookie and "Secure" in cookie and "Partitioned" in cookie
    # Behind a proxy that ends TLS (the request looks like http), an https site address.
    behind_proxy = create_app({**app_config, "SITE_URL": "https://act.example.org"})
    try:
        answer = behind_proxy.test_client().post(
            f"/c/{BOTH}/embed/act", data=FORM, base_url="http://act.example.org"
        )
        assert "SameSite=None" in answer.headers["Set-Cookie"]
    finally:
        with behind_proxy.app_context():
            db.engine.dispose()
    # The full flow keeps Lax, on https too.
    full = app.test_client().post(f"/c/{BOTH}/act", data=FORM, base_url="https://127.0.0.1:5000")
    assert "SameSite=Lax" in full.headers["Set-Cookie"]
    assert "Partitioned" not in full.headers["Set-Cookie"]


def test_csrf_on_https_inside_the_frame(
    app_config: dict[str, object], embeddable: FlaskClient
) -> None:
    """Flask-WTF's strict referrer check on https: a form inside the frame is our own page, so
    its posts pass; the same post from the partner's page does not."""
    app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    site = "https://127.0.0.1:5000"
    try:
        client = app.test_client()
        client.post(f"/c/{BOTH}/embed/act", data=FORM, base_url=site)
        page = client.get(f"/c/{BOTH}/embed/write", base_url=site).get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token is not None
        form = {"csrf_token": token.group(1), "submission_key": submission_key(page)}
        refused = client.post(
            f"/c/{BOTH}/embed/send",
            data=form,
            base_url=site,
            headers={"Referer": f"{PARTNER}/take-action"},
        )
        assert refused.status_code == 400
        assert "The form expired" in visible_text(refused.get_data(as_text=True))
        # The answer is framed like the step, so the visitor reads it in the frame.
        assert f"frame-ancestors {PARTNER};" in refused.headers["Content-Security-Policy"]
        without = client.post(
            f"/c/{BOTH}/embed/send",
            data={"submission_key": form["submission_key"]},
            base_url=site,
            headers={"Referer": f"{site}/c/{BOTH}/embed/write"},
        )
        assert without.status_code == 400
        sent = client.post(
            f"/c/{BOTH}/embed/send",
            data=form,
            base_url=site,
            headers={"Referer": f"{site}/c/{BOTH}/embed/write"},
        )
        assert sent.status_code == 303
        assert sent.headers["Location"].startswith(f"/c/{BOTH}/embed/thanks/")
    finally:
        with app.app_context():
            db.engine.dispose()
