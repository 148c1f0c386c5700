"""Connection settings beyond the URL."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import event

from .extensions import db


def _sqlite_write_ahead_log(dbapi_connection: Any, _record: Any) -> None:
    # Write-ahead logging: readers never wait for the writer (synchronous stays FULL, so a
    # committed submission survives a power cut).
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
    finally:
        cursor.close()


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        event.listen(engine, "connect", _sqlite_write_ahead_log)
