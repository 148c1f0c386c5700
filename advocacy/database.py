"""Connection settings the engine needs beyond its URL."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import event

from .extensions import db


def _sqlite_write_ahead_log(dbapi_connection: Any, _record: Any) -> None:
    # Write-ahead logging: readers never wait for the writer, and a commit is one append
    # and one fsync of the log instead of a rollback journal's several (synchronous stays
    # FULL: a committed submission survives a power cut).
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


def reads_without_transaction() -> None:
    """Let this request's statements each run on their own, outside a transaction.

    For a request that only reads (a form step before the send): on PostgreSQL this saves a
    BEGIN and a ROLLBACK round trip. SQLite's driver starts no transaction for a read anyway.
    Call it before the request's first statement; a write made after it is committed at once.
    """
    if db.engine.dialect.name != "sqlite":
        db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
