"""No open redirects: every redirect that carries user input stays on this site.

The only redirect target taken from a request is sign-in's ``next=`` (``safe_next``); every
other redirect is built with ``url_for``. The last test walks the public routes with hostile
values and checks every Location the site answers with.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import pytest
from flask.testing import FlaskClient

from advocacy.admin.auth import safe_next
from tests.actions.helpers import ADDRESS, FORM, LOWER, nh
from tests.admin.conftest import PASSWORD
from tests.fakes.upstream import FakeUpstreams

HOSTILE_NEXT = [
    "https://evil.example/",
    "http://evil.example",
    "//evil.example",
    "///evil.example",
    "////evil.example/",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    " //evil.example",
    "\t//evil.example",
    "\x00//evil.example",
    "https:evil.example",
    "http:/evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(1)//",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    "@evil.example",
    "/@evil.example",
    "%2F%2Fevil.example",
    "/%0d%0aSet-Cookie:pwned=1",
    "/\r\nSet-Cookie: pwned=1",
    "https://localhost@evil.example/",
    "//localhost@evil.example",
    "/\u3002evil.example",
    "\uff0f\uff0fevil.example",
    "/" + "a" * 5000,
]


def is_local(location: str) -> bool:
    """Where a browser would go stays on this origin: a path, nothing a browser reads as a
    host (``//``, ``/\\``, control characters it strips)."""
    if any(ord(ch) < 33 for ch in location) or "\\" in location:
        return False
    parts = urlsplit(location)
    if parts.scheme or parts.netloc:
        return parts.scheme in ("http", "https") and parts.netloc == "localhost"
    return location.startswith("/") and not location.startswith("//")


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_safe_next_keeps_only_local_paths(target: str) -> None:
    result = safe_next(target, "/admin/campaigns")
    assert is_local(result), result
    assert result in ("/admin/campaigns", target)


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_sign_in_never_redirects_elsewhere(
    client: FlaskClient, staff: dict[str, str], target: str
) -> None:
    response = client.post(
        "/admin/sign-in?next=" + quote(target, safe=""),
        data={"email": staff["organizer"], "password": PASSWORD},
    )
    assert response.status_code == 303
    location = response.headers["Location"]
    assert is_local(location), location
    assert "Set-Cookie: pwned" not in str(response.headers)
    # Signed in already: the sign-in page redirects at once, to the same safe place.
    again = client.get("/admin/sign-in?next=" + quote(target, safe=""))
    assert again.status_code == 303
    assert is_local(again.headers["Location"]), again.headers["Location"]


def test_a_local_next_is_followed(client: FlaskClient, staff: dict[str, str]) -> None:
    response = client.post(
        "/admin/sign-in?next=" + quote("/admin/audit?action=sign_in", safe=""),
        data={"email": staff["admin"], "password": PASSWORD},
    )
    assert response.headers["Location"] == "/admin/audit?action=sign_in"


def test_the_sign_in_redirect_keeps_the_page_asked_for(client: FlaskClient) -> None:
    response = client.get("/admin/c/x/edit?a=%2F%2Fevil.example")
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith("/admin/sign-in?next=")
    assert is_local(location)


@pytest.mark.parametrize("value", ["//evil.example", "https://evil.example", "/\\evil.example",
                                   "\r\nLocation: https://evil.example"])
def test_no_public_route_redirects_elsewhere(
    ready: FlaskClient, upstream: FakeUpstreams, value: str
) -> None:
    """Every redirect of the public flow, with hostile values in every query and form field."""
    upstream.add_address(ADDRESS, nh())
    hostile = {"next": value, "url": value, "redirect": value, "return_to": value}
    requests = [
        ("get", "/", hostile),
        ("get", f"/c/{LOWER}", hostile),
        ("post", f"/c/{LOWER}/act", {**FORM, **hostile}),
        ("get", f"/c/{LOWER}/write", hostile),
        ("get", f"/c/{LOWER}/choose", {**hostile, "state": value}),
        ("post", f"/c/{LOWER}/choose", {**hostile, "state": value}),
        ("post", f"/c/{LOWER}/choose", {**hostile, "state": "nh", "district-lower": value}),
        ("post", f"/c/{LOWER}/send", {**hostile, "submission_key": value}),
        ("get", f"/c/{LOWER}/thanks/{quote(value, safe='')}", hostile),
        ("post", f"/c/{LOWER}/thanks/abcdefghijklmnopqrstuvwx/called", hostile),
        ("get", f"/c/{LOWER}/already", hostile),
        ("get", "/find", {**hostile, "address": value}),
        ("get", "/admin/sign-in", hostile),
        ("post", "/admin/sign-out", hostile),
    ]
    for method, path, data in requests:
        if method == "get":
            response = ready.get(path, query_string=data)
        else:
            response = ready.post(path, data=data, query_string=hostile)
        assert response.status_code < 500, (method, path)
        location = response.headers.get("Location")
        if location is not None:
            assert is_local(location), (method, path, location)
