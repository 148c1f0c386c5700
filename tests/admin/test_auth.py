"""Sign-in, sign-out, throttling, cookies, CSRF and safe redirects."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from advocacy.admin.auth import BAD_CREDENTIALS, MAX_FAILURES, safe_next
from advocacy.admin.models import AuditEntry, User
from advocacy.admin.users import set_active
from advocacy.extensions import db
from tests.admin.conftest import PASSWORD, sign_in


def post_sign_in(client: Any, email: str, password: str, ip: str = "203.0.113.5") -> Any:
    return client.post(
        "/admin/sign-in",
        data={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": ip},
    )


def test_good_credentials_sign_in_and_land_on_the_campaigns(
    app: Flask, staff: dict[str, str]
) -> None:
    client = app.test_client()
    response = post_sign_in(client, staff["manager"], PASSWORD)
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/campaigns"
    assert client.get("/admin/campaigns").status_code == 200


@pytest.mark.parametrize("case", ["unknown", "wrong-password", "disabled"])
def test_one_message_for_every_kind_of_failure(
    app: Flask, staff: dict[str, str], case: str
) -> None:
    email, password = staff["organizer"], PASSWORD
    if case == "unknown":
        email = "nobody@example.org"
    elif case == "wrong-password":
        password = "not the password at all"
    else:
        user = db.session.scalar(select(User).where(User.email == email))
        assert user is not None
        set_active(user, False)
    response = post_sign_in(app.test_client(), email, password)
    assert response.status_code == 401
    assert BAD_CREDENTIALS in response.get_data(as_text=True)


def test_a_disabled_account_loses_its_session_at_once(
    app: Flask, staff: dict[str, str]
) -> None:
    client = app.test_client()
    sign_in(client, staff["manager"])
    assert client.get("/admin/campaigns").status_code == 200
    user = db.session.scalar(select(User).where(User.email == staff["manager"]))
    assert user is not None
    set_active(user, False)
    response = client.get("/admin/campaigns")
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/admin/sign-in")


def test_account_is_throttled_after_repeated_failures_even_with_the_right_password(
    app: Flask, staff: dict[str, str]
) -> None:
    email = staff["admin"]
    for attempt in range(MAX_FAILURES):
        # A different IP each time: the per-account limit alone must stop this.
        response = post_sign_in(app.test_client(), email, "wrong guess", f"198.51.100.{attempt}")
        assert response.status_code == 401
    response = post_sign_in(app.test_client(), email, PASSWORD, "198.51.100.99")
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.get_data(as_text=True)
    # Other accounts are not affected.
    assert post_sign_in(app.test_client(), staff["manager"], PASSWORD).status_code == 303


def test_a_success_clears_earlier_failures_of_that_account(
    app: Flask, staff: dict[str, str]
) -> None:
    email = staff["manager"]
    for _ in range(MAX_FAILURES - 1):
        assert post_sign_in(app.test_client(), email, "typo", "192.0.2.1").status_code == 401
    assert post_sign_in(app.test_client(), email, PASSWORD, "192.0.2.1").status_code == 303
    for _ in range(MAX_FAILURES - 1):
        assert post_sign_in(app.test_client(), email, "typo", "192.0.2.1").status_code == 401
    assert post_sign_in(app.test_client(), email, PASSWORD, "192.0.2.1").status_code == 303


def test_sign_out_is_a_post_and_ends_the_session(app: Flask, staff: dict[str, str]) -> None:
    client = app.test_client()
    sign_in(client, staff["organizer"])
    assert client.get("/admin/sign-out").status_code == 405
    assert client.get("/admin/campaigns").status_code == 200
    assert client.post("/admin/sign-out").status_code == 303
    assert client.get("/admin/campaigns").status_code == 303


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/admin/audit", "/admin/audit"),
        ("/admin/c/x?y=1", "/admin/c/x?y=1"),
        ("https://evil.example/", "/home"),
        ("//evil.example/", "/home"),
        ("/\\evil.example", "/home"),
        ("javascript:alert(1)", "/home"),
        ("admin/audit", "/home"),
        ("/admin\r\nLocation: x", "/home"),
        ("", "/home"),
        (None, "/home"),
    ],
)
def test_next_only_follows_local_paths(target: str | None, expected: str) -> None:
    assert safe_next(target, "/home") == expected


def test_sign_in_follows_a_safe_next_and_ignores_an_unsafe_one(
    app: Flask, staff: dict[str, str]
) -> None:
    client = app.test_client()
    response = client.post(
        "/admin/sign-in?next=/admin/directory",
        data={"email": staff["organizer"], "password": PASSWORD},
    )
    assert response.headers["Location"] == "/admin/directory"
    client = app.test_client()
    response = client.post(
        "/admin/sign-in?next=https://evil.example/",
        data={"email": staff["organizer"], "password": PASSWORD},
    )
    assert response.headers["Location"] == "/admin/campaigns"


def test_session_cookie_is_httponly_lax_and_secure_on_https(
    other_app, staff: dict[str, str]  # type: ignore[no-untyped-def]
) -> None:
    with other_app(SITE_URL="https://act.example.org") as https_app:
        client = https_app.test_client()
        response = client.post(
            "/admin/sign-in", data={"email": staff["manager"], "password": PASSWORD}
        )
        assert response.status_code == 303
        cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    with other_app() as plain:
        assert plain.config["SESSION_COOKIE_SECURE"] is False
        assert plain.config["SESSION_COOKIE_HTTPONLY"] is True


def test_forms_without_a_csrf_token_are_refused(
    other_app, staff: dict[str, str], campaigns: object  # type: ignore[no-untyped-def]
) -> None:
    with other_app(WTF_CSRF_ENABLED=True) as guarded:
        client = guarded.test_client()
        response = client.post(
            "/admin/sign-in", data={"email": staff["manager"], "password": PASSWORD}
        )
        assert response.status_code == 400
        # Sign in properly (with the token from the page), then try an action without one.
        page = client.get("/admin/sign-in").get_data(as_text=True)
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        response = client.post(
            "/admin/sign-in",
            data={"email": staff["manager"], "password": PASSWORD, "csrf_token": token},
        )
        assert response.status_code == 303
        before = db.session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1))
        response = client.post("/admin/c/oppose-buyer-immunity/clone")
        assert response.status_code == 400
        response = client.post("/admin/sign-out")
        assert response.status_code == 400
        after = db.session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1))
        assert after == before  # nothing happened
