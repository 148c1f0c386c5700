"""A pooled PostgreSQL connection is tested before use: one the server dropped (a restart) is
replaced without the request noticing."""

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


def _app(tmp_path: Path) -> Flask:
    return create_app({"DATABASE_URL": POSTGRES_URL, "INSTANCE_DIR": str(tmp_path)})


def _backend_pid() -> int:
    with db.engine.connect() as connection:  # back into the pool at the end
        return int(connection.scalar(sa.text("SELECT pg_backend_pid()")))


def _kill(pid: int) -> None:
    other = sa.create_engine(POSTGRES_URL or "", poolclass=sa.pool.NullPool)
    with other.connect() as connection:
        assert connection.scalar(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    other.dispose()
    time.sleep(0.1)  # the backend is gone once the signal is handled


def test_a_dead_pooled_connection_is_replaced_unseen(tmp_path: Path) -> None:
    app = _app(tmp_path)
    with app.app_context():
        first = _backend_pid()
        _kill(first)
        assert _backend_pid() != first  # no error: the test found it dead
        db.engine.dispose()
