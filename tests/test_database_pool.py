"""A pooled PostgreSQL connection is tested before use only after it sat idle
(ADVOCACY_DATABASE_PING_IDLE_SECONDS): a dead one is then replaced unseen; one used a moment
ago is trusted, and if it died meanwhile one statement fails and the pool recovers."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from advocacy import create_app
from advocacy.extensions import db
from tests.conftest import POSTGRES_URL

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="needs PostgreSQL (a server to lose)")


def _app(tmp_path: Path, idle_seconds: float) -> Flask:
    return create_app(
        {
            "DATABASE_URL": POSTGRES_URL,
            "INSTANCE_DIR": str(tmp_path),
            "DATABASE_PING_IDLE_SECONDS": idle_seconds,
        }
    )


def _backend_pid() -> int:
    with db.engine.connect() as connection:  # back into the pool at the end
        return int(connection.scalar(sa.text("SELECT pg_backend_pid()")))


def _kill(pid: int) -> None:
    other = sa.create_engine(POSTGRES_URL or "", poolclass=sa.pool.NullPool)
    with other.connect() as connection:
        assert connection.scalar(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    other.dispose()
    time.sleep(0.1)  # the backend is gone once the signal is handled


def test_a_connection_that_sat_idle_is_tested_and_a_dead_one_replaced(tmp_path: Path) -> None:
    app = _app(tmp_path, idle_seconds=0.05)
    with app.app_context():
        first = _backend_pid()
        _kill(first)  # also lets it sit idle for longer than 0.05 s
        assert _backend_pid() != first  # no error: the test found it dead
        db.engine.dispose()


def test_a_connection_used_a_moment_ago_is_not_tested(tmp_path: Path) -> None:
    app = _app(tmp_path, idle_seconds=3600)
    with app.app_context():
        first = _backend_pid()
        _kill(first)
        with pytest.raises(sa.exc.OperationalError) as failed:
            _backend_pid()  # untested: the statement meets the dead connection
        assert failed.value.connection_invalidated
        assert _backend_pid() != first  # and the pool has recovered
        db.engine.dispose()
