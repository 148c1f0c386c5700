"""Security headers on every kind of response, HSTS, session cookies, trusted hosts, proxies."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask, request
from flask.testing import FlaskClient

from advocacy.config import ConfigError
from advocacy.security import CSP_DIRECTIVES, content_security_policy
from tests.actions.helpers import ADDRESS, LOWER, nh
from tests.fakes.upstream import FakeUpstreams

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)
EXPECTED = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
PUBLIC_PATHS = [
    "/",
    f"/c/{LOWER}",
    "/find",
    "/find?address=" + ADDRESS,
    "/find/nh",
    "/api/lookup?address=" + ADDRESS,
    "/api/lookup",
    "/admin/sign-in",
    "/admin/campaigns",  # a redirect to sign-in
    "/no-such-page",
    "/c/no-such-campaign",
    "/static/site.css",
    "/healthz",
]




def assert_security_headers(response) -> None:  # type: ignore[no-untyped-def]
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (name, response.headers.get(name))
    policy = response.headers["Permissions-Policy"]
    assert "camera=()" in policy and "geolocation=()" in policy and "microphone=()" in policy


def test_the_policy_has_no_unsafe_source() -> None:
    assert content_security_policy() == CSP
    assert "unsafe" not in CSP
    assert dict(CSP_DIRECTIVES)["script-src"] == "'self'"
    with_nonce = content_security_policy("abc")
    assert "style-src 'self' 'nonce-abc';" in with_nonce
    assert "script-src 'self';" in with_nonce


@pytest.mark.parametrize("path", PUBLIC_PATHS)
def test_every_public_response_carries_the_headers(
    ready: FlaskClient, upstream: FakeUpstreams, path: str
) -> None:
    upstream.add_address(ADDRESS, nh())
    with ready.get(path) as response:  # closes the static file's handle
        assert response.status_code < 500
        assert_security_headers(response)
        assert "Strict-Transport-Security" not in response.headers  # http://127.0.0.1


def test_posts_errors_and_the_action_flow_carry_the_headers(
    ready: FlaskClient, upstream: FakeUpstreams
) -> None:
    upstream.add_address(ADDRESS, nh())
    form = {"name": "Alex Rivera", "email": "alex@example.org", "street_address": ADDRESS}
    for response in (
        ready.post(f"/c/{LOWER}/act", data={}),  # 400 form errors
        ready.post(f"/c/{LOWER}/act", data=form),  # 303
        ready.get(f"/c/{LOWER}/write"),
        ready.get(f"/c/{LOWER}/choose"),
        ready.post("/admin/sign-in", data={"email": "x@example.org", "password": "wrong"}),
        ready.delete("/"),  # 405
    ):
        assert_security_headers(response)


def test_a_server_error_page_carries_the_headers_and_no_traceback(make_app) -> None:  # type: ignore[no-untyped-def]
    broken = make_app()

    def explode() -> str:
        raise RuntimeError("secret internals")

    broken.add_url_rule("/explode", view_func=explode)
    response = broken.test_client().get("/explode")
    assert response.status_code == 500
    assert_security_headers(response)
    body = response.get_data(as_text=True)
    assert "secret internals" not in body and "Traceback" not in body


def test_staff_pages_are_never_cached(as_role, campaigns: Path) -> None:  # type: ignore[no-untyped-def]
    client = as_role("admin")
    for path in ("/admin/campaigns", "/admin/users", "/admin/audit", f"/admin/c/{LOWER}"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store", path


# -- HSTS ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("site", "expected"),
    [("https://act.example.org", "max-age=31536000"), ("http://act.example.org", None)],
)
def test_hsts_when_the_site_is_https(make_app, site: str, expected: str | None) -> None:  # type: ignore[no-untyped-def]
    response = make_app(SITE_URL=site).test_client().get("/healthz")
    assert response.headers.get("Strict-Transport-Security") == expected


# -- session cookies ---------------------------------------------------------------------------


def _cookie_attributes(response, name: str) -> set[str]:  # type: ignore[no-untyped-def]
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(name + "="):
            return {part.strip().split("=")[0].lower() for part in header.split(";")[1:]} | {
                part.strip().lower() for part in header.split(";")[1:] if "samesite" in part.lower()
            }
    raise AssertionError(f"no {name} cookie in {response.headers.getlist('Set-Cookie')}")


@pytest.mark.parametrize(("site", "secure"), [("https://act.example.org", True),
                                              ("http://127.0.0.1:5000", False)])
def test_session_and_remember_cookies(
    make_app, staff: dict[str, str], site: str, secure: bool  # type: ignore[no-untyped-def]
) -> None:
    from tests.admin.conftest import PASSWORD

    client = make_app(SITE_URL=site).test_client()
    response = client.post(
        "/admin/sign-in",
        data={"email": staff["manager"], "password": PASSWORD, "remember": "y"},
        base_url="https://localhost" if secure else "http://localhost",
    )
    assert response.status_code == 303
    for name in ("session", "remember_token"):
        attributes = _cookie_attributes(response, name)
        assert "httponly" in attributes, (name, attributes)
        assert "samesite=lax" in attributes, (name, attributes)
        assert ("secure" in attributes) is secure, (name, attributes)


def test_a_visitors_draft_cookie_is_httponly_and_lax(ready: FlaskClient, upstream) -> None:  # type: ignore[no-untyped-def]
    upstream.add_address(ADDRESS, nh())
    form = {"name": "Alex Rivera", "email": "alex@example.org", "street_address": ADDRESS}
    response = ready.post(f"/c/{LOWER}/act", data=form)
    attributes = _cookie_attributes(response, "session")
    assert {"httponly", "samesite=lax"} <= attributes


# -- trusted hosts -----------------------------------------------------------------------------


@pytest.fixture
def guarded(make_app, campaigns: Path) -> FlaskClient:  # type: ignore[no-untyped-def]
    return make_app(TRUSTED_HOSTS="act.example.org, .example.net").test_client()


@pytest.mark.parametrize("host", ["act.example.org", "act.example.org:8443", "www.example.net",
                                  "example.net"])
def test_trusted_hosts_are_served(guarded: FlaskClient, host: str) -> None:
    response = guarded.get(f"/c/{LOWER}", headers={"Host": host})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/"), ("get", f"/c/{LOWER}"), ("post", f"/c/{LOWER}/act"), ("get", "/find"),
     ("get", "/admin/sign-in"), ("post", "/admin/sign-in"), ("get", "/no-such-page"),
     ("get", "/static/site.css")],
)
@pytest.mark.parametrize("host", ["evil.example", "act.example.org.evil.example",
                                  "<script>alert(1)</script>", "example.org"])
def test_other_hosts_get_a_400_page_not_a_500(
    guarded: FlaskClient, method: str, path: str, host: str
) -> None:
    with getattr(guarded, method)(path, headers={"Host": host}) as response:
        assert response.status_code == 400
        body = response.get_data(as_text=True)
        assert "<html" in body and "does not answer to the host name" in body
        assert "<script>" not in body and "Traceback" not in body
        assert_security_headers(response)


def test_other_hosts_get_json_from_the_api(guarded: FlaskClient) -> None:
    response = guarded.get("/api/lookup?address=x", headers={"Host": "evil.example"})
    assert response.status_code == 400
    assert response.get_json() == {"error": "This site does not answer to that host name."}


def test_trusted_hosts_come_from_the_environment(
    make_app, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("ADVOCACY_TRUSTED_HOSTS", " act.example.org ,,localhost ")
    application = make_app()
    assert application.config["TRUSTED_HOSTS"] == ["act.example.org", "localhost"]
    assert application.test_client().get("/healthz").status_code == 200  # Host: localhost
    monkeypatch.setenv("ADVOCACY_TRUSTED_HOSTS", "")
    assert make_app().config["TRUSTED_HOSTS"] is None  # every host


# -- proxies -----------------------------------------------------------------------------------


def _probe(application: Flask) -> FlaskClient:
    def probe() -> str:
        return f"{request.remote_addr} {request.scheme} {request.host}"

    application.add_url_rule("/_probe", view_func=probe)
    return application.test_client()


@pytest.mark.parametrize(
    ("proxies", "expected"),
    [
        (0, "127.0.0.1 http localhost"),
        (1, "203.0.113.9 https act.example.org:8443"),
        # Two proxies: the second address from the right; one Proto/Host/Port value is too few.
        (2, "198.51.100.7 http localhost"),
    ],
)
def test_trusted_proxies_headers(make_app, proxies: int, expected: str) -> None:  # type: ignore[no-untyped-def]
    client = _probe(make_app(TRUSTED_PROXIES=proxies))
    response = client.get(
        "/_probe",
        headers={
            "X-Forwarded-For": "198.51.100.7, 203.0.113.9",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "act.example.org",
            "X-Forwarded-Port": "8443",
        },
    )
    assert response.get_data(as_text=True) == expected


def test_a_negative_number_of_proxies_is_refused(make_app) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        make_app(TRUSTED_PROXIES=-1)


def test_forwarded_requests_without_a_trusted_proxy_are_logged_once(
    make_app, caplog: pytest.LogCaptureFixture  # type: ignore[no-untyped-def]
) -> None:
    client = make_app().test_client()
    with caplog.at_level("WARNING", logger="advocacy.security"):
        for _ in range(3):
            client.get("/healthz", headers={"X-Forwarded-For": "203.0.113.9"})
    warnings = [r for r in caplog.records if "no proxy is trusted" in r.getMessage()]
    assert len(warnings) == 1


# -- the dashboard's charts under the policy ----------------------------------------------------


def _has_rule(application: Flask, rule: str) -> bool:
    return any(r.rule == rule for r in application.url_map.iter_rules())


def test_the_dashboard_carries_the_policy(app: Flask, as_role) -> None:  # type: ignore[no-untyped-def]
    if not _has_rule(app, "/admin/c/<slug>/tallies"):
        pytest.skip("no dashboard route yet (advocacy/exports)")
    from tests.exports.data import SLUG, seed

    seed()
    response = as_role("organizer").get(f"/admin/c/{SLUG}/tallies")
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    assert policy.startswith(CSP.split("; style-src")[0])
    assert "unsafe-inline" not in policy and "script-src 'self';" in policy
    body = response.get_data(as_text=True)
    # No script but the site's own file (no inline code, nothing from elsewhere).
    assert body.lower().count("<script") == 1
    assert '<script src="/static/site.js" defer></script>' in body


def test_inline_styles_of_the_dashboard_are_allowed_by_its_policy(app: Flask, as_role) -> None:  # type: ignore[no-untyped-def]
    if not _has_rule(app, "/admin/c/<slug>/tallies"):
        pytest.skip("no dashboard route yet (advocacy/exports)")
    from tests.exports.data import SLUG, seed

    seed()
    response = as_role("organizer").get(f"/admin/c/{SLUG}/tallies")
    policy = response.headers["Content-Security-Policy"]
    body = response.get_data(as_text=True)
    nonces = re.findall(r"<style\b[^>]*\bnonce=\"([^\"]+)\"", body)
    styles = re.findall(r"<style\b", body)
    assert styles, "the dashboard has no inline style any more: remove this test"
    assert len(nonces) == len(styles)
    assert all(f"'nonce-{nonce}'" in policy for nonce in nonces)
