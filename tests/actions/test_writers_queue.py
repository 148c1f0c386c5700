"""On SQLite, submissions queue for the database's single write lock instead of polling it
with growing sleeps: the next one starts the moment the previous one is done."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from advocacy.actions.models import Action
from advocacy.database import writers_queue
from advocacy.extensions import db
from tests.actions.helpers import (
    LOWER,
    count,
    run_together,
    session_cookie,
    start,
    submission_key,
)
from tests.conftest import POSTGRES_URL

pytestmark = pytest.mark.skipif(bool(POSTGRES_URL), reason="SQLite's write lock only")


def test_a_writer_waits_until_the_one_before_is_done(app: Flask) -> None:
    first_in, release, second_waiting, second_in = (threading.Event() for _ in range(4))
    errors: list[BaseException] = []

    def first() -> None:
        with app.app_context(), writers_queue():
            first_in.set()
            release.wait(timeout=30)

    def second() -> None:
        try:
            with app.app_context():
                first_in.wait(timeout=30)
                second_waiting.set()
                with writers_queue():
                    second_in.set()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    assert second_waiting.wait(timeout=30)
    assert not second_in.wait(timeout=0.3)  # queued behind the first
    release.set()
    assert second_in.wait(timeout=30)  # and in as soon as it was done
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    database = Path(str(db.engine.url.database))
    assert Path(f"{database}-writers").exists()


def test_simultaneous_sends_all_get_through(ready: FlaskClient, app: Flask) -> None:
    visitors = [app.test_client() for _ in range(6)]
    keys = []
    for n, visitor in enumerate(visitors):
        keys.append(submission_key(start(visitor, LOWER, email=f"v{n}@example.org")))
    sent = run_together(
        app,
        [
            (lambda client, key=key: client.post(f"/c/{LOWER}/send", data={"submission_key": key}))
            for key in keys
        ],
        [session_cookie(visitor) for visitor in visitors],
    )
    assert [response.status_code for response in sent] == [303] * 6
    assert all("/thanks/" in response.headers["Location"] for response in sent)
    assert count(Action) == 6
