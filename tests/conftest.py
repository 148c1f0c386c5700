"""Shared fixtures: a migrated database (SQLite, or PostgreSQL when
ADVOCACY_TEST_DATABASE_URL is set), an app wired to fake upstream servers, and paths."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from advocacy import create_app
from advocacy.extensions import db
from tests.delivery.conftest import SMTPServer, free_port

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
SHARED_PEOPLE = SHARED / "data" / "openstates" / "people"
SHARED_DISTRICTS = SHARED / "data" / "openstates" / "districts.csv"
SHARED_PEOPLE_YAML = SHARED / "data" / "openstates" / "people-yaml-2026-08-05.tar.gz"
SHARED_FIXTURES = SHARED / "docs" / "upstream-fixtures"
POSTGRES_URL = os.environ.get("ADVOCACY_TEST_DATABASE_URL")


def need_shared(path: Path = SHARED) -> None:
    if not path.exists():
        pytest.skip(f"needs the reference data in {path} (../shared beside the repository)")


def _upgrade(url: str, instance: Path) -> None:
    from flask_migrate import upgrade

    app = create_app({"DATABASE_URL": url, "INSTANCE_DIR": str(instance), "TESTING": True})
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Run the migrations once per session; each test then gets a fresh copy or clean tables."""
    instance = tmp_path_factory.mktemp("template-instance")
    if POSTGRES_URL:
        engine = sa.create_engine(POSTGRES_URL)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        engine.dispose()
        _upgrade(POSTGRES_URL, instance)
        return POSTGRES_URL
    path = instance / "template.sqlite3"
    _upgrade(f"sqlite:///{path}", instance)
    return str(path)


def _empty_postgres_tables() -> None:
    engine = sa.create_engine(POSTGRES_URL or "")
    with engine.begin() as conn:
        tables = [
            row[0]
            for row in conn.execute(
                sa.text(
                    "SELECT tablename FROM pg_tables WHERE schemaname='public' "
                    "AND tablename <> 'alembic_version'"
                )
            )
        ]
        if tables:
            conn.execute(
                sa.text(
                    "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"
                )
            )
    engine.dispose()


@pytest.fixture
def database_url(migrated_template: str, tmp_path: Path) -> str:
    if POSTGRES_URL:
        _empty_postgres_tables()
        return POSTGRES_URL
    path = tmp_path / "test.sqlite3"
    shutil.copyfile(migrated_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def campaigns_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "campaigns"
    folder.mkdir()
    return folder


@pytest.fixture
def app_config(database_url: str, tmp_path: Path, campaigns_dir: Path) -> dict[str, object]:
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "INSTANCE_DIR": str(tmp_path / "instance"),
        "CAMPAIGNS_DIR": str(campaigns_dir),
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        # Every test client comes from 127.0.0.1; tests of the limits turn them on.
        "RATELIMIT_ENABLED": False,
        "CENSUS_GEOCODER_URL": "http://127.0.0.1:9/geocoder",  # closed port unless a test fakes it
        "CENSUS_RETRIES": 0,
        "CENSUS_TIMEOUT": 2.0,
    }


@pytest.fixture
def app(app_config: dict[str, object]) -> Iterator[Flask]:
    application = create_app(app_config)
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    """A real SMTP server (aiosmtpd) on a free port; ``smtp.received`` is what reached it."""
    server = SMTPServer(free_port()).start()
    yield server
    server.stop()


def copy_repo_campaigns(target: Path) -> None:
    for path in (REPO / "campaigns").glob("*.yaml"):
        shutil.copy(path, target / path.name)


@pytest.fixture
def campaigns(app: Flask, campaigns_dir: Path) -> Path:
    """The repository's campaigns, loaded."""
    from advocacy.campaigns import service

    copy_repo_campaigns(campaigns_dir)
    service.sync_folder(campaigns_dir)
    return campaigns_dir


@pytest.fixture(autouse=True)
def pages_checked_on_every_request(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kept pages are checked against the database on every request: tests change campaigns
    and rosters between requests (tests/test_page_cache.py sets its own interval)."""
    from advocacy import pagecache

    monkeypatch.setattr(pagecache, "CHECK_SECONDS", 0.0)
