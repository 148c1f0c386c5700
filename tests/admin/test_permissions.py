"""Every staff URL against every role and anonymous visitors: allowed, 403, or sign-in."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from advocacy.admin.models import ROLES

SLUG = "oppose-buyer-immunity"
# (method, path, form data, the least role allowed)
MATRIX: list[tuple[str, str, dict[str, str], str]] = [
    ("GET", "/admin/", {}, "organizer"),
    ("GET", "/admin/campaigns", {}, "organizer"),
    ("GET", "/admin/campaigns?archived=1", {}, "organizer"),
    ("GET", f"/admin/c/{SLUG}", {}, "organizer"),
    ("GET", "/admin/directory", {}, "organizer"),
    ("GET", "/admin/directory/nh", {}, "organizer"),
    ("GET", "/admin/campaigns/new", {}, "manager"),
    ("POST", "/admin/campaigns/new", {"slug": "x"}, "manager"),
    ("GET", f"/admin/c/{SLUG}/edit", {}, "manager"),
    ("POST", f"/admin/c/{SLUG}/edit", {"preview": "1"}, "manager"),
    ("POST", f"/admin/c/{SLUG}/status", {"verb": "pause"}, "manager"),
    ("POST", f"/admin/c/{SLUG}/clone", {}, "manager"),
    ("POST", f"/admin/c/{SLUG}/archive", {}, "manager"),
    ("POST", f"/admin/c/{SLUG}/restore", {}, "manager"),
    ("POST", f"/admin/c/{SLUG}/take-over", {}, "manager"),
    ("POST", f"/admin/c/{SLUG}/retry", {}, "manager"),
    ("POST", f"/admin/c/{SLUG}/held", {"target_id": "x", "decision": "discard"}, "manager"),
    ("GET", "/admin/district-reports", {}, "organizer"),
    ("POST", "/admin/district-reports/1", {"decision": "dismiss"}, "manager"),
    ("POST", "/admin/district-reports/overrides/remove", {"address": "1 a st"}, "manager"),
    ("GET", f"/admin/c/{SLUG}/export.yaml", {}, "manager"),
    ("GET", "/admin/campaigns/import", {}, "manager"),
    ("POST", "/admin/campaigns/import", {"yaml_text": "slug: x"}, "manager"),
    ("POST", "/admin/directory/refresh", {"state": "NH"}, "manager"),
    ("GET", "/admin/users", {}, "admin"),
    ("POST", "/admin/users", {"email": "new@example.org", "role": "organizer"}, "admin"),
    ("POST", "/admin/users/1", {"role": "organizer"}, "admin"),
    ("GET", "/admin/audit", {}, "admin"),
    ("GET", f"/admin/c/{SLUG}/tallies", {}, "organizer"),
    ("GET", f"/admin/c/{SLUG}/supporters.csv", {}, "admin"),
    ("GET", "/admin/tokens", {}, "organizer"),
    ("POST", "/admin/tokens", {"name": "x"}, "organizer"),
    ("POST", "/admin/tokens/1/revoke", {}, "organizer"),  # someone else's or missing: 404
    ("GET", "/admin/webhooks", {}, "admin"),
    ("POST", "/admin/webhooks", {"name": "x"}, "admin"),
    ("GET", "/admin/webhooks/1", {}, "admin"),  # missing: 404
    ("POST", "/admin/webhooks/1", {"name": "x"}, "admin"),
    ("POST", "/admin/webhooks/1/disable", {}, "admin"),
]


@pytest.mark.parametrize(("method", "path", "data", "least"), MATRIX)
@pytest.mark.parametrize("who", ["anonymous", *ROLES])
def test_every_admin_url_for_every_role(
    app: Flask,
    staff: dict[str, str],
    campaigns: Path,
    as_role,  # type: ignore[no-untyped-def]
    who: str,
    method: str,
    path: str,
    data: dict[str, str],
    least: str,
) -> None:
    client = app.test_client() if who == "anonymous" else as_role(who)
    response = client.open(path, method=method, data=data)
    if who == "anonymous":
        assert response.status_code == 303
        assert response.headers["Location"].startswith("/admin/sign-in?next=")
    elif ROLES.index(who) < ROLES.index(least):
        assert response.status_code == 403
    else:
        assert response.status_code < 500
        assert response.status_code != 403
        assert "/admin/sign-in" not in response.headers.get("Location", "")


def test_matrix_covers_every_admin_route(app: Flask) -> None:
    """A new staff page without a row above fails here, so nothing escapes the matrix."""
    covered = {path.split("?")[0].replace(SLUG, "<slug>").replace("/users/1", "/users/<id>")
               .replace("/tokens/1/", "/tokens/<int:token_id>/")
               .replace("/directory/nh", "/directory/<state>")
               .replace("/district-reports/1", "/district-reports/<int:report_id>")
               .replace("/webhooks/1/disable", "/webhooks/<int:endpoint_id>/<operation>")
               .replace("/webhooks/1", "/webhooks/<int:endpoint_id>")
               for _method, path, _data, _least in MATRIX}
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or rule.endpoint in ("admin.sign_in",
                                                                   "admin.sign_out"):
            continue
        text = rule.rule.replace("<int:user_id>", "<id>")
        if "<any(" in text:
            for name in ("status", "clone", "archive", "restore", "take-over"):
                routes.add(text.split("<any(")[0] + name)
        else:
            routes.add(text)
    assert routes <= covered, sorted(routes - covered)
