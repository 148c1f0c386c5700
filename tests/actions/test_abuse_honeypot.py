"""Honeypot on the campaign form: a filled one looks like success and keeps nothing."""

from __future__ import annotations

import logging

import pytest
from flask.testing import FlaskClient

from advocacy.actions.models import Action, Constituent, Contact
from advocacy.delivery.models import OutboxMessage
from tests.actions.helpers import BOTH, FORM, count, start, submission_key


def test_the_honeypot_is_hidden_from_people(ready: FlaskClient) -> None:
    page = ready.get(f"/c/{BOTH}").get_data(as_text=True)
    hidden = page[page.index('<div class="visually-hidden" aria-hidden="true">') :]
    hidden = hidden[: hidden.index("</div>")]
    assert "Leave this field empty" in hidden
    assert 'name="website"' in hidden
    assert 'tabindex="-1"' in hidden and 'autocomplete="off"' in hidden


def test_a_filled_honeypot_records_and_sends_nothing(
    ready: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="advocacy.actions.views"):
        response = ready.post(f"/c/{BOTH}/act", data={**FORM, "website": "http://spam.example"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/c/{BOTH}/write"  # what a real visitor gets
    # No draft was kept: the next step leads back to the campaign page, and sending fails.
    assert ready.get(f"/c/{BOTH}/write").status_code == 303
    ready.post(f"/c/{BOTH}/send", data={"submission_key": "x" * 32})
    for model in (Constituent, Action, Contact, OutboxMessage):
        assert count(model) == 0
    messages = [r.getMessage() for r in caplog.records if "honeypot" in r.getMessage()]
    assert messages and all(FORM["email"] not in m and FORM["name"] not in m for m in messages)


def test_an_empty_honeypot_is_the_normal_flow(ready: FlaskClient) -> None:
    page = start(ready, BOTH, website="")
    response = ready.post(f"/c/{BOTH}/send", data={"submission_key": submission_key(page)})
    assert response.status_code == 303
    assert count(Action) == 1 and count(Contact) == 6 and count(OutboxMessage) == 7
