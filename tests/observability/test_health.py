"""/healthz (alive, no I/O) and /readyz (database, migrations, directory age, outbox)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from advocacy import create_app, health
from advocacy.dbtypes import utcnow
from advocacy.extensions import db
from advocacy.health import migration_heads
from advocacy.lookup.directory import sync_states
from advocacy.lookup.models import DirectoryState
from advocacy.lookup.openstates import BulkPeopleSource
from tests.delivery.factory import queue_contacts
from tests.lookup.people import write_all


def load_directory(tmp_path: Path, states: tuple[str, ...] = ("nh", "vt")) -> None:
    write_all(tmp_path / "people")
    results = sync_states(BulkPeopleSource(str(tmp_path / "people")), list(states))
    assert all(r.ok for r in results)


def test_healthz_answers_without_touching_the_database(tmp_path: Path) -> None:
    broken = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'missing-dir' / 'nope.sqlite3'}",
            "INSTANCE_DIR": str(tmp_path / "instance"),
            "SECRET_KEY": "x",
        }
    )
    client = broken.test_client()
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"
    ready = client.get("/readyz")
    assert ready.status_code == 503
    checks = ready.get_json()["checks"]
    assert checks["database"]["ok"] is False and checks["database"]["detail"] == "OperationalError"
    assert checks["migrations"] == {
        "ok": False,
        "detail": "skipped: the database is not reachable",
    }
    with broken.app_context():
        db.engine.dispose()


def test_ready_with_a_fresh_directory_and_a_short_queue(
    client: FlaskClient, tmp_path: Path
) -> None:
    load_directory(tmp_path)
    queue_contacts(3)
    response = client.get("/readyz")
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["ready"] is True
    checks = body["checks"]
    assert checks["database"] == {"ok": True}
    assert (
        checks["migrations"]["current"] == list(migration_heads()) == checks["migrations"]["head"]
    )
    assert checks["directory"]["ok"] and checks["directory"]["states"] == 2
    assert checks["directory"]["max_age_days"] == 14
    assert checks["outbox"]["ok"] and checks["outbox"]["waiting"] == 3
    assert checks["outbox"]["limit"] == 10000


def test_not_ready_without_a_directory(client: FlaskClient, app: Flask) -> None:
    response = client.get("/readyz")
    assert response.status_code == 503
    directory = response.get_json()["checks"]["directory"]
    assert directory["ok"] is False and "advocacy directory sync" in directory["detail"]


def test_not_ready_with_a_stale_directory(client: FlaskClient, tmp_path: Path) -> None:
    load_directory(tmp_path)
    db.session.execute(
        sa.update(DirectoryState)
        .where(DirectoryState.state == "vt")
        .values(synced_at=utcnow() - timedelta(days=15))
    )
    db.session.commit()
    response = client.get("/readyz")
    assert response.status_code == 503
    directory = response.get_json()["checks"]["directory"]
    assert directory["oldest"] == "VT" and directory["oldest_age_days"] >= 15
    assert "older than 14 days" in directory["detail"]


def test_not_ready_with_a_long_queue(
    client: FlaskClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_directory(tmp_path)
    queue_contacts(3)
    monkeypatch.setattr(health, "OUTBOX_BACKLOG_LIMIT", 2)  # rather than queueing 10,001
    response = client.get("/readyz")
    assert response.status_code == 503
    outbox = response.get_json()["checks"]["outbox"]
    assert outbox == {
        "ok": False,
        "waiting": 3,
        "limit": 2,
        "oldest_age_seconds": outbox["oldest_age_seconds"],
        "detail": "more messages are waiting than the limit: are the workers running?",
    }
    monkeypatch.setattr(health, "OUTBOX_BACKLOG_LIMIT", 3)
    assert client.get("/readyz").status_code == 200


def test_not_ready_before_migrations_reach_head(client: FlaskClient, tmp_path: Path) -> None:
    load_directory(tmp_path)
    db.session.execute(sa.text("UPDATE alembic_version SET version_num = '0001'"))
    db.session.commit()
    try:
        response = client.get("/readyz")
        assert response.status_code == 503
        migrations = response.get_json()["checks"]["migrations"]
        assert migrations["current"] == ["0001"] and "advocacy db upgrade" in migrations["detail"]
    finally:
        db.session.execute(
            sa.text("UPDATE alembic_version SET version_num = :head"),
            {"head": migration_heads()[0]},
        )
        db.session.commit()


def test_not_ready_on_a_database_without_tables(tmp_path: Path) -> None:
    empty = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
            "INSTANCE_DIR": str(tmp_path / "instance"),
            "SECRET_KEY": "x",
        }
    )
    response = empty.test_client().get("/readyz")
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert checks["database"] == {"ok": True}
    assert checks["migrations"]["detail"] == (
        "the database is not set up: run `advocacy db upgrade`"
    )
    assert checks["outbox"]["detail"] == "skipped: the database is not set up"
    with empty.app_context():
        db.engine.dispose()
