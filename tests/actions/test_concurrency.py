"""Simultaneous requests (double clicks, two tabs, retried POSTs) on SQLite and PostgreSQL:
each makes at most one action, one call log, and every request gets a page, never a 500."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from advocacy.actions.models import Action, Contact
from advocacy.delivery.models import OutboxMessage
from advocacy.extensions import db
from tests.actions.helpers import (
    BOTH,
    LOWER,
    count,
    run_together,
    session_cookie,
    start,
    submission_key,
)


def test_four_simultaneous_sends_of_one_form_all_reach_the_thank_you_page(
    ready: FlaskClient, app: Flask
) -> None:
    key = submission_key(start(ready, BOTH))
    cookie = session_cookie(ready)
    send = lambda client: client.post(f"/c/{BOTH}/send", data={"submission_key": key})  # noqa: E731
    responses = run_together(app, [send] * 4, [cookie] * 4)
    assert [r.status_code for r in responses] == [303] * 4
    assert {r.headers["Location"] for r in responses} == {f"/c/{BOTH}/thanks/{key}"}
    db.session.expire_all()
    assert count(Action) == 1 and count(Contact) == 6 and count(OutboxMessage) == 7


def test_same_email_from_three_sessions_at_once_makes_one_action(
    ready: FlaskClient, app: Flask
) -> None:
    keys, cookies = [], []
    for _ in range(3):
        client = app.test_client()
        keys.append(submission_key(start(client, BOTH, email="Alex@Example.org")))
        cookies.append(session_cookie(client))
    assert len(set(keys)) == 3  # three separate drafts

    def sender(key: str):  # noqa: ANN202 - a request for run_together
        return lambda client: client.post(f"/c/{BOTH}/send", data={"submission_key": key})

    responses = run_together(app, [sender(k) for k in keys], cookies)
    assert [r.status_code for r in responses] == [303] * 3
    locations = sorted(r.headers["Location"] for r in responses)
    db.session.expire_all()
    actions = list(db.session.scalars(select(Action)))
    assert len(actions) == 1
    winner = actions[0].submission_key
    assert locations == sorted([f"/c/{BOTH}/already"] * 2 + [f"/c/{BOTH}/thanks/{winner}"])
    assert count(Contact) == 6 and count(OutboxMessage) == 7


def test_simultaneous_i_called_clicks_log_one_call(ready: FlaskClient, app: Flask) -> None:
    key = submission_key(start(ready, LOWER))
    thanks = ready.post(f"/c/{LOWER}/send", data={"submission_key": key}).headers["Location"]
    target = db.session.scalar(select(Contact).where(Contact.target_name == "Ada Alder"))
    assert target is not None
    target_id = target.target_id
    db.session.commit()
    click = lambda client: client.post(thanks + "/called", data={"target_id": target_id})  # noqa: E731
    responses = run_together(app, [click] * 4)
    assert [r.status_code for r in responses] == [303] * 4
    db.session.expire_all()
    calls = list(db.session.scalars(select(Contact).where(Contact.channel == "call")))
    assert [(c.target_name, c.status) for c in calls] == [("Ada Alder", "called")]
