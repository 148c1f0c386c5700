"""Staff accounts of every role, a signed-in client per role, and the repo's campaigns."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest
from flask import Flask
from flask.testing import FlaskClient

from advocacy import create_app
from advocacy.admin.auth import hash_password
from advocacy.admin.models import User
from advocacy.extensions import db
from tests.lookup.conftest import app_config, directory, people_dir, upstream  # noqa: F401

PASSWORD = "correct horse battery staple"
EMAILS = {role: f"{role}@example.org" for role in ("organizer", "manager", "admin")}


@pytest.fixture(scope="session")
def password_hash() -> str:
    return hash_password(PASSWORD)  # argon2 is slow on purpose: hash once per session


@pytest.fixture
def staff(app: Flask, password_hash: str) -> dict[str, str]:
    for role, email in EMAILS.items():
        db.session.add(User(email=email, role=role, password_hash=password_hash, active=True))
    db.session.commit()
    return dict(EMAILS)


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD) -> None:
    response = client.post("/admin/sign-in", data={"email": email, "password": password})
    assert response.status_code == 303, response.get_data(as_text=True)


@pytest.fixture
def as_role(app: Flask, staff: dict[str, str]):  # type: ignore[no-untyped-def]
    """``as_role("manager")`` gives a test client signed in with that role."""

    def make(role: str) -> FlaskClient:
        client = app.test_client()
        sign_in(client, staff[role])
        return client

    return make


@pytest.fixture
def other_app(
    app_config: dict[str, object],  # noqa: F811 - the fixture imported above
) -> Callable[..., AbstractContextManager[Flask]]:
    """``with other_app(SETTING=value) as app:`` a second app on the same database, whose
    connections are closed afterwards (PostgreSQL warns about connections left open)."""

    @contextmanager
    def make(**overrides: object) -> Iterator[Flask]:
        application = create_app({**app_config, **overrides})
        with application.app_context():
            try:
                yield application
            finally:
                db.session.remove()
                db.engine.dispose()

    return make
