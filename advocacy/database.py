"""How the app uses its database: connection settings beyond the URL, reads outside a
transaction for the steps that only read, and the queue of SQLite writers."""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, g
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import InvalidatePoolError

from .extensions import READS_WITHOUT_TRANSACTION, autocommit_view, db


def _sqlite_write_ahead_log(dbapi_connection: Any, _record: Any) -> None:
    # Write-ahead logging: readers never wait for the writer, and a commit is one append
    # and one fsync of the log instead of a rollback journal's several (synchronous stays
    # FULL: a committed submission survives a power cut).
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
    finally:
        cursor.close()


_LAST_USED = "advocacy_last_used"


def _ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Test a pooled connection before a checkout only if it sat unused in the pool for
    ``idle_seconds`` or more (pool_pre_ping tests every checkout: under load, a round trip
    per request to learn what the previous request, a moment ago, already showed)."""

    def used_now(_dbapi_connection: Any, record: Any, *_: Any) -> None:
        record.info[_LAST_USED] = time.monotonic()

    def test_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        last_used = record.info.get(_LAST_USED)
        if last_used is not None and time.monotonic() - last_used < idle_seconds:
            return
        dialect = engine.dialect
        try:
            alive = dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            raise InvalidatePoolError(f"a pooled connection is gone: {exc}") from exc
        if not alive:
            raise InvalidatePoolError("a pooled connection is gone")

    event.listen(engine, "connect", used_now)
    event.listen(engine, "checkin", used_now)
    # InvalidatePoolError makes the pool drop this connection and every one as old (the
    # server went away under all of them), and check out a new one.
    event.listen(engine, "checkout", test_if_idle)


def init_app(app: Flask) -> None:
    app.teardown_request(_end_reads_without_transaction)
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        if engine.url.database not in (None, "", ":memory:"):
            event.listen(engine, "connect", _sqlite_write_ahead_log)
    elif (idle_seconds := float(app.config["DATABASE_PING_IDLE_SECONDS"])) > 0:
        _ping_when_idle(engine, idle_seconds)  # 0: pool_pre_ping tests every checkout


def reads_without_transaction() -> None:
    """Let this request's statements each run on their own, outside a transaction.

    For a request that only reads (a form step before the send): on PostgreSQL this saves a
    BEGIN and a ROLLBACK round trip. SQLite's driver starts no transaction for a read anyway.
    It acts only before the request's first statement (otherwise the transaction already
    begun goes on); a write made after it is committed at once.
    """
    if db.engine.dialect.name != "sqlite" and not db.session().in_transaction():
        # The session connects through an AUTOCOMMIT view of the engine from now on (see
        # extensions.Session): a step that finds everything in memory takes no connection.
        g.setdefault(READS_WITHOUT_TRANSACTION, True)


@contextmanager
def read_connection() -> Iterator[Connection]:
    """A connection to read with: the session's, or, in a request reading without a
    transaction that has not begun one, an autocommit connection for this block only (the
    session's bookkeeping around taking and handing back a connection cost about as much as
    the one statement of a form step)."""
    if g.get(READS_WITHOUT_TRANSACTION) and not db.session().in_transaction():
        with autocommit_view(db.engine).connect() as connection:
            yield connection
    else:
        yield db.session.connection()


def _end_reads_without_transaction(_exc: BaseException | None) -> None:
    # Hand the connection back now, so nothing after this request (a session that outlives
    # it, as in tests) goes on writing without a transaction. Every statement is committed
    # already: the rollback only ends the session's hold on the connection, and leaves the
    # objects it loaded attached (to be read again on their next use).
    if g.pop(READS_WITHOUT_TRANSACTION, False) and db.session().in_transaction():
        db.session.rollback()


@contextmanager
def writers_queue() -> Iterator[None]:
    """Queue this request's write transaction behind the others of the site (SQLite only).

    SQLite lets one writer in at a time and makes the others poll with growing sleeps (1,
    2, 5, 10 ... ms), so under load a submission could wait 100 ms for a lock held for one.
    A blocking ``flock`` on a file beside the database wakes the next writer the moment the
    previous one is done, across threads and processes (each call opens its own handle).
    Writers that do not queue (the outbox worker, the admin) still meet SQLite's own lock.
    Wrap the whole transaction: take the turn before its first statement, keep it until after
    its commit or rollback. Elsewhere than SQLite this does nothing.
    """
    engine = db.engine
    path = engine.url.database
    if engine.dialect.name != "sqlite" or path in (None, "", ":memory:"):
        yield
        return
    with open(f"{path}-writers", "a+b") as handle:  # noqa: PTH123 - a plain lock file
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
