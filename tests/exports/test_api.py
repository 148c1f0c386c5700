"""The tallies JSON API and its tokens: created and revoked in the admin (audited, shown once,
stored hashed), 401 without a live token, 403 outside the token's campaign."""

from __future__ import annotations

import hashlib
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from advocacy.admin.models import AuditEntry, User
from advocacy.campaigns.models import Campaign
from advocacy.exports import tokens
from advocacy.exports.models import ApiToken
from advocacy.extensions import db
from tests.exports.data import OTHER_SLUG, SLUG

API = f"/api/campaigns/{SLUG}/tallies"


def user(email: str) -> User:
    found = db.session.scalar(select(User).where(User.email == email))
    assert found is not None
    return found


def campaign(slug: str) -> Campaign:
    found = db.session.scalar(select(Campaign).where(Campaign.slug == slug))
    assert found is not None
    return found


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def create_in_admin(client: FlaskClient, name: str, scope: str = "") -> str:
    response = client.post("/admin/tokens", data={"name": name, "campaign": scope})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    found = re.search(r'id="new-token-secret" value="(adv_[^"]+)"', response.get_data(as_text=True))
    assert found
    return found.group(1)


def test_token_made_in_the_admin_reads_tallies(
    app: Flask, seeded: Campaign, staff: dict[str, str], as_role  # type: ignore[no-untyped-def]
) -> None:
    client = as_role("organizer")
    secret = create_in_admin(client, "Coalition dashboard")
    stored = db.session.scalar(select(ApiToken))
    assert stored is not None
    assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret.startswith(stored.prefix) and len(stored.prefix) == 12
    # The secret is shown once: the list shows only its first characters.
    listing = client.get("/admin/tokens").get_data(as_text=True)
    assert secret not in listing and stored.prefix in listing

    api = app.test_client()
    response = api.get(f"{API}?by=state", headers=bearer(secret))
    assert response.status_code == 200
    assert response.json == {
        "campaign": SLUG,
        "by": ["state"],
        "from": None,
        "to": None,
        "state": None,
        "timezone": "UTC",
        "columns": ["state", "contacts"],
        "rows": [
            {"state": None, "contacts": 2},
            {"state": "NE", "contacts": 1},
            {"state": "NH", "contacts": 9},
            {"state": "PA", "contacts": 4},
        ],
        "total": 16,
        "digests": {"sent": 0, "messages": 0, "average_messages": None, "largest": 0},
    }
    db.session.expire_all()
    assert db.session.get(ApiToken, stored.id).last_used_at is not None  # type: ignore[union-attr]
    assert "api_token.created" in set(db.session.scalars(select(AuditEntry.action)))


def test_api_filters_and_groupings(app: Flask, seeded: Campaign, staff: dict[str, str]) -> None:
    app.config["TIMEZONE"] = "America/New_York"
    secret = tokens.create_token(user(staff["manager"]), "partner", None).secret
    response = app.test_client().get(
        f"{API}?by=legislator&from=2026-03-01&to=2026-03-01&state=NH", headers=bearer(secret)
    )
    assert response.status_code == 200
    body = response.json
    assert body["timezone"] == "America/New_York"
    assert [(r["target_name"], r["contacts"]) for r in body["rows"]] == [
        ("Avery Lindqvist", 2), ("Blake Okafor", 2), ("Casey Castellanos", 3),
    ]
    bad = app.test_client().get(f"{API}?from=March", headers=bearer(secret))
    assert bad.status_code == 400
    assert "YYYY-MM-DD" in bad.json["error"]


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer adv_not-a-real-token", "Bearer x"],
)
def test_missing_or_unknown_tokens_are_401(
    app: Flask, seeded: Campaign, header: str | None
) -> None:
    headers = {"Authorization": header} if header is not None else {}
    response = app.test_client().get(API, headers=headers)
    assert response.status_code == 401
    assert response.is_json and "error" in response.json
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_token_is_401_and_revoking_is_audited(
    app: Flask, seeded: Campaign, staff: dict[str, str], as_role  # type: ignore[no-untyped-def]
) -> None:
    client = as_role("organizer")
    secret = create_in_admin(client, "short-lived")
    token = db.session.scalar(select(ApiToken))
    assert token is not None
    assert app.test_client().get(API, headers=bearer(secret)).status_code == 200
    response = client.post(f"/admin/tokens/{token.id}/revoke")
    assert response.status_code == 303
    assert app.test_client().get(API, headers=bearer(secret)).status_code == 401
    db.session.expire_all()
    assert "api_token.revoked" in set(db.session.scalars(select(AuditEntry.action)))
    assert "revoked" in client.get("/admin/tokens").get_data(as_text=True)


def test_token_scoped_to_one_campaign(app: Flask, seeded: Campaign, staff: dict[str, str]) -> None:
    secret = tokens.create_token(user(staff["organizer"]), "one", campaign(SLUG)).secret
    api = app.test_client()
    assert api.get(API, headers=bearer(secret)).status_code == 200
    other = api.get(f"/api/campaigns/{OTHER_SLUG}/tallies", headers=bearer(secret))
    assert other.status_code == 403
    assert other.json == {"error": "this API token is for another campaign"}
    # an unknown slug tells a scoped token nothing more than "not yours"
    assert api.get("/api/campaigns/nope/tallies", headers=bearer(secret)).status_code == 403
    unscoped = tokens.create_token(user(staff["organizer"]), "all", None).secret
    other = api.get(f"/api/campaigns/{OTHER_SLUG}/tallies", headers=bearer(unscoped))
    assert other.status_code == 200
    assert api.get("/api/campaigns/nope/tallies", headers=bearer(unscoped)).status_code == 404


def test_token_of_a_disabled_user_stops_working(
    app: Flask, seeded: Campaign, staff: dict[str, str]
) -> None:
    owner = user(staff["organizer"])
    secret = tokens.create_token(owner, "partner", None).secret
    owner.active = False
    db.session.commit()
    assert app.test_client().get(API, headers=bearer(secret)).status_code == 401


def test_a_session_cookie_is_not_an_api_credential(seeded: Campaign, as_role) -> None:  # type: ignore[no-untyped-def]
    assert as_role("admin").get(API).status_code == 401


def test_api_is_csrf_exempt_and_get_only(
    app: Flask, seeded: Campaign, staff: dict[str, str]
) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    secret = tokens.create_token(user(staff["organizer"]), "partner", None).secret
    assert app.test_client().get(API, headers=bearer(secret)).status_code == 200
    assert app.test_client().post(API, headers=bearer(secret)).status_code == 405


def test_users_manage_their_own_tokens_and_admins_all(
    app: Flask, seeded: Campaign, staff: dict[str, str], as_role  # type: ignore[no-untyped-def]
) -> None:
    mine = tokens.create_token(user(staff["organizer"]), "organizer's", None).token
    theirs = tokens.create_token(user(staff["manager"]), "manager's", None).token
    organizer = as_role("organizer")
    page = organizer.get("/admin/tokens").get_data(as_text=True)
    assert "organizer&#39;s" in page and "manager&#39;s" not in page
    assert organizer.post(f"/admin/tokens/{theirs.id}/revoke").status_code == 404
    assert organizer.post(f"/admin/tokens/{mine.id}/revoke").status_code == 303
    admin = as_role("admin")
    page = admin.get("/admin/tokens").get_data(as_text=True)
    assert "manager&#39;s" in page and staff["manager"] in page
    assert admin.post(f"/admin/tokens/{theirs.id}/revoke").status_code == 303
    db.session.expire_all()
    assert all(t.revoked_at is not None for t in db.session.scalars(select(ApiToken)))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "campaign": ""}, "Please fill this in."),
        ({"name": "x" * 101, "campaign": ""}, "Field cannot be longer than 100 characters."),
        ({"name": "ok", "campaign": "no-such-campaign"}, "Not a valid choice."),
    ],
)
def test_token_form_problems(
    seeded: Campaign, as_role, data: dict[str, str], message: str  # type: ignore[no-untyped-def]
) -> None:
    response = as_role("organizer").post("/admin/tokens", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(ApiToken)) is None


def test_token_pages_need_csrf(app: Flask, seeded: Campaign, as_role) -> None:  # type: ignore[no-untyped-def]
    client = as_role("organizer")
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post("/admin/tokens", data={"name": "x"}).status_code == 400
    assert db.session.scalar(select(ApiToken)) is None


@pytest.mark.parametrize("name", ["a\x00b", "tab\there", "bell\x07"])
def test_token_names_with_control_characters_are_refused(
    seeded: Campaign, as_role, name: str  # type: ignore[no-untyped-def]
) -> None:
    response = as_role("organizer").post("/admin/tokens", data={"name": name, "campaign": ""})
    assert response.status_code == 400
    assert "control characters" in response.get_data(as_text=True)
    assert db.session.scalar(select(ApiToken)) is None


@pytest.mark.parametrize("value", ["\x00", "NH\x00", "2026-03-01\x00"])
def test_nul_bytes_in_queries_are_400_not_500(
    app: Flask, seeded: Campaign, staff: dict[str, str], as_role, value: str  # type: ignore[no-untyped-def]
) -> None:
    secret = tokens.create_token(user(staff["organizer"]), "partner", None).secret
    client = as_role("organizer")
    for key in ("state", "from", "to", "by"):
        export = client.get(f"/campaigns/{SLUG}/export.csv", query_string={key: value})
        assert export.status_code == 400
        assert client.get(f"/admin/c/{SLUG}/tallies", query_string={key: value}).status_code in (
            200, 400,  # the dashboard has no "by"
        )
        assert app.test_client().get(
            API, query_string={key: value}, headers=bearer(secret)
        ).status_code == 400
    assert app.test_client().get(API, headers=bearer("adv_" + value)).status_code == 401
