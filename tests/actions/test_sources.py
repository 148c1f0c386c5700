"""Source codes: ``?source=`` (or ``?refcode=``) on a campaign link is kept through the flow
and stored on the action; an invalid code is dropped without a word and the flow goes on; the
campaign page everyone shares never carries one visitor's code to another."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from advocacy.actions.models import Action
from advocacy.actions.sources import source_from_args
from advocacy.extensions import db
from tests.actions.helpers import BOTH, FORM, LOWER, start, submission_key


def send(client: FlaskClient, slug: str = LOWER, **form: str) -> Action:
    """Fill in the campaign form, send the messages as written; the action made."""
    page = start(client, slug, **form)
    response = client.post(f"/c/{slug}/send", data={"submission_key": submission_key(page)})
    assert response.status_code == 303, response.get_data(as_text=True)
    assert "/thanks/" in response.headers["Location"]
    db.session.expire_all()
    action = db.session.scalar(
        select(Action).where(Action.submission_key == submission_key(page))
    )
    assert action is not None
    return action


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("source=partner-a", "partner-a"),
        ("refcode=an_list.2026", "an_list.2026"),  # Action Network's name for it
        ("source=partner-a&refcode=other", "partner-a"),  # source wins
        ("refcode=other&source=partner-a", "partner-a"),
        ("source=" + "x" * 64, "x" * 64),
        ("utm_source=news&source=News_Letter-3", "News_Letter-3"),
    ],
)
def test_a_source_goes_from_the_link_to_the_action(
    ready: FlaskClient, query: str, code: str
) -> None:
    page = ready.get(f"/c/{LOWER}?{query}")
    assert page.status_code == 200
    assert send(ready).source == code


INVALID = [
    "x" * 65,  # too long
    "partner a",
    "partner%2Fa",  # "/"
    "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "x%27%3B+DROP+TABLE+action%3B--",
    "caf%C3%A9",  # not ASCII
    "a%00b",
    "",
]


@pytest.mark.parametrize("value", INVALID)
def test_an_invalid_source_is_dropped_and_the_flow_goes_on(
    ready: FlaskClient, value: str
) -> None:
    page = ready.get(f"/c/{LOWER}?source={value}")
    assert page.status_code == 200
    assert "DROP" not in page.get_data(as_text=True)
    assert "<script>alert" not in page.get_data(as_text=True)
    assert send(ready).source is None


def test_an_invalid_source_does_not_fall_back_to_the_refcode(ready: FlaskClient) -> None:
    ready.get(f"/c/{LOWER}?source=not+valid&refcode=partner-b")
    assert send(ready).source is None


def test_without_a_source_the_action_has_none(ready: FlaskClient) -> None:
    ready.get(f"/c/{LOWER}")
    assert send(ready).source is None


def test_a_later_step_opened_with_a_source_is_credited(ready: FlaskClient) -> None:
    page = start(ready, LOWER)
    assert ready.get(f"/c/{LOWER}/write?refcode=late-link").status_code == 200
    response = ready.post(f"/c/{LOWER}/send", data={"submission_key": submission_key(page)})
    assert response.status_code == 303
    action = db.session.scalar(select(Action))
    assert action is not None and action.source == "late-link"


def test_the_latest_link_wins_and_a_link_without_a_code_keeps_it(ready: FlaskClient) -> None:
    ready.get(f"/c/{LOWER}?source=first")
    ready.get(f"/c/{LOWER}?source=second")
    ready.get(f"/c/{LOWER}")  # e.g. "start again": the credit stays
    assert send(ready).source == "second"


def test_a_source_belongs_to_its_own_campaign(ready: FlaskClient) -> None:
    ready.get(f"/c/{BOTH}?source=partner-a")
    assert send(ready, LOWER).source is None


def test_a_sent_action_uses_its_source_up(app: Flask, ready: FlaskClient) -> None:
    ready.get(f"/c/{LOWER}?source=partner-a")
    assert send(ready).source == "partner-a"
    with ready.session_transaction() as session:
        assert "source" not in session


def test_the_shared_campaign_page_never_carries_a_visitors_source(
    app: Flask, ready: FlaskClient
) -> None:
    """The first visitor came by a partner's link, so the page kept for everyone was built
    while answering them; the second came by a plain link and must not be credited to it."""
    partner = ready
    plain = app.test_client()
    with_code = partner.get(f"/c/{LOWER}?source=partner-a")
    without = plain.get(f"/c/{LOWER}")
    assert with_code.get_data() == without.get_data()
    assert b"partner-a" not in without.get_data()
    assert send(plain, email="other@example.org").source is None
    assert send(partner, **FORM).source == "partner-a"


def test_source_from_args_reads_source_then_refcode() -> None:
    assert source_from_args({"source": "a", "refcode": "b"}) == "a"
    assert source_from_args({"refcode": "b"}) == "b"
    assert source_from_args({"source": "", "refcode": "b"}) == "b"
    assert source_from_args({"source": "a b", "refcode": "b"}) is None
    assert source_from_args({}) is None
