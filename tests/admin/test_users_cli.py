"""`advocacy users ...` through the real command group, and the users page."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from advocacy.admin.auth import sign_in
from advocacy.admin.models import User
from advocacy.extensions import db


def run(app: Flask, *args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(args=["users", *args], input=stdin)


def user(email: str) -> User:
    db.session.expire_all()
    found = db.session.scalar(select(User).where(User.email == email))
    assert found is not None
    return found


def test_create_list_set_role_disable(app: Flask) -> None:
    result = run(app, "create", "Lead@Example.org", "--role", "admin", "--password-stdin",
                 stdin="a strong password here\n")
    assert result.exit_code == 0, result.output
    assert "created lead@example.org (admin)" in result.output
    stored = user("lead@example.org")
    assert stored.password_hash.startswith("$argon2id$")
    assert "a strong password here" not in stored.password_hash
    with app.test_request_context():
        signed_in, problem = sign_in("lead@example.org", "a strong password here")
        assert signed_in is not None and problem is None

    result = run(app, "create", "helper@example.org", "--role", "organizer",
                 stdin="another good password\nanother good password\n")
    assert result.exit_code == 0, result.output  # prompted twice (with confirmation)
    listing = run(app, "list").output
    assert "helper@example.org" in listing and "organizer" in listing and "active" in listing

    assert run(app, "set-role", "helper@example.org", "manager").exit_code == 0
    assert user("helper@example.org").role == "manager"
    assert run(app, "disable", "helper@example.org").exit_code == 0
    assert user("helper@example.org").active is False
    assert "disabled" in run(app, "list").output
    assert run(app, "enable", "helper@example.org").exit_code == 0
    assert user("helper@example.org").active is True


def test_refusals_are_clear(app: Flask) -> None:
    short = run(app, "create", "a@example.org", "--role", "admin", "--password-stdin",
                stdin="short\n")
    assert short.exit_code == 1 and "at least 12 characters" in short.output
    bad = run(app, "create", "not-an-email", "--role", "admin", "--password-stdin",
              stdin="long enough password\n")
    assert bad.exit_code == 1 and "not a valid email" in bad.output
    role = run(app, "create", "a@example.org", "--role", "boss", "--password-stdin",
               stdin="long enough password\n")
    assert role.exit_code == 2
    run(app, "create", "a@example.org", "--role", "admin", "--password-stdin",
        stdin="long enough password\n")
    again = run(app, "create", "A@example.org", "--role", "admin", "--password-stdin",
                stdin="long enough password\n")
    assert again.exit_code == 1 and "already exists" in again.output
    missing = run(app, "disable", "ghost@example.org")
    assert missing.exit_code == 1 and "no user" in missing.output
    # The only admin can neither be demoted nor disabled.
    assert "last active admin" in run(app, "set-role", "a@example.org", "manager").output
    assert "last active admin" in run(app, "disable", "a@example.org").output
    assert user("a@example.org").role == "admin" and user("a@example.org").active


def test_admin_manages_users_on_the_page(as_role, staff: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    client = as_role("admin")
    response = client.post("/admin/users", data={"email": "x@example.org", "role": "organizer",
                                                 "password": "short"})
    assert response.status_code == 400
    assert "at least 12 characters" in response.get_data(as_text=True)
    response = client.post("/admin/users", data={"email": "x@example.org", "role": "organizer",
                                                  "password": "a good long password"})
    assert response.status_code == 303
    created = user("x@example.org")
    client.post(f"/admin/users/{created.id}", data={"role": "manager"})
    assert user("x@example.org").role == "manager"
    client.post(f"/admin/users/{created.id}", data={"active": "0"})
    assert user("x@example.org").active is False
    assert client.post("/admin/users/9999", data={"role": "admin"}).status_code == 404
