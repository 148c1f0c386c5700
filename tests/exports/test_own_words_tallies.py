"""The coach's figures in the tallies: the distribution of the share of own words, and each
legislator's average similarity, in the query, the dashboard, the CSV and the API."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import select

from advocacy.actions.models import Contact
from advocacy.campaigns.models import Campaign
from advocacy.exports import tallies
from advocacy.extensions import db
from tests.exports.conftest import parse_csv
from tests.exports.data import SLUG
from tests.exports.test_api import bearer, create_in_admin
from tests.text import visible_text

SHARES = (0.0, 0.05, 0.3, 0.9)  # one in each bucket, in turn


@pytest.fixture
def measured(seeded: Campaign) -> Campaign:
    """The seeded campaign's 15 written messages: the first unmeasured (sent before the
    coach), then the shares in turn; similarity for two legislators."""
    written = list(
        db.session.scalars(
            select(Contact)
            .where(Contact.campaign_id == seeded.id, Contact.channel.in_(("email", "postal")))
            .order_by(Contact.id)
        )
    )
    assert len(written) == 15
    for index, contact in enumerate(written[1:], start=1):
        contact.own_words = SHARES[index % 4]
    similarities = {"ocd-person/nh-a": [0.2, 0.4, None], "ocd-person/nh-c": [None, 1.0, 1.0]}
    for target, values in similarities.items():
        contacts = [c for c in written if c.target_id == target]
        assert len(contacts) == len(values)
        for contact, value in zip(contacts, values, strict=True):
            contact.similarity = value
    db.session.commit()
    return seeded


def test_the_distribution_of_own_words(measured: Campaign) -> None:
    request = tallies.tally_request(measured)
    assert tallies.own_words_distribution(request) == (
        [("0%", 3), ("1-10%", 4), ("11-50%", 4), ("51-100%", 3)],
        1,
    )
    assert list(tallies.iter_rows(tallies.tally_request(measured, by="own_words"))) == [
        ("", 2),  # the call and the unmeasured message
        ("0%", 3),
        ("1-10%", 4),
        ("11-50%", 4),
        ("51-100%", 3),
    ]


def test_average_similarity_per_legislator(measured: Campaign) -> None:
    request = tallies.tally_request(measured, by="legislator,similarity")
    assert request.header[-2:] == ("contacts", "average_similarity")
    found = {row[3]: row[-2:] for row in tallies.iter_rows(request)}
    assert found["ocd-person/nh-a"] == (3, 0.3)
    assert found["ocd-person/nh-c"] == (4, 1.0)
    assert found["ocd-person/nh-b"] == (2, "")  # none had an earlier message that day


def test_dashboard_csv_and_api_show_them(  # type: ignore[no-untyped-def]
    app: Flask, measured: Campaign, as_role
) -> None:
    client = as_role("organizer")
    dashboard = client.get(f"/admin/c/{SLUG}/tallies").get_data(as_text=True)
    page = " ".join(visible_text(dashboard).split())
    assert "Messages in the sender's own words" in page
    assert "0% 3 1-10% 4 11-50% 4 51-100% 3" in page
    assert "not measured (sent before the site measured it) 1" in page
    assert "Average similarity" in page
    assert re.search(r"Avery Lindqvist Democratic NH [^%]* 3 30%", page)
    assert re.search(r"Casey Castellanos Democratic NH [^%]* 4 100%", page)
    assert re.search(r"Blake Okafor Republican NH [^%—]* 2 —", page)

    csv = parse_csv(client.get(f"/campaigns/{SLUG}/export.csv?by=own_words").get_data())
    assert csv == [
        ["own_words", "contacts"], ["", "2"], ["0%", "3"], ["1-10%", "4"], ["11-50%", "4"],
        ["51-100%", "3"],
    ]
    csv = parse_csv(
        client.get(f"/campaigns/{SLUG}/export.csv?by=legislator&by=similarity").get_data()
    )
    assert csv[0][-2:] == ["contacts", "average_similarity"]
    assert [row[-2:] for row in csv if row[3] == "ocd-person/nh-a"] == [["3", "0.3"]]

    secret = create_in_admin(client, "Coalition dashboard")
    answer = app.test_client().get(
        f"/api/campaigns/{SLUG}/tallies?by=own_words&by=legislator&by=similarity",
        headers=bearer(secret),
    ).get_json()
    assert answer["columns"][-3:] == ["own_words", "contacts", "average_similarity"]
    answer = app.test_client().get(
        f"/api/campaigns/{SLUG}/tallies?by=legislator,similarity", headers=bearer(secret)
    ).get_json()
    rows = {row["target_id"]: row for row in answer["rows"]}
    assert rows["ocd-person/nh-c"]["average_similarity"] == 1.0
    assert rows["ocd-person/nh-b"]["average_similarity"] is None


def test_messages_not_measured_yet_are_said_so(  # type: ignore[no-untyped-def]
    measured: Campaign, as_role
) -> None:
    """Until the measure-similarity job has run, a message has no similarity: the dashboard
    says "not measured yet", not "—" (no earlier message) and not an average without saying."""
    written = list(
        db.session.scalars(
            select(Contact)
            .where(Contact.campaign_id == measured.id, Contact.channel.in_(("email", "postal")))
            .order_by(Contact.id)
        )
    )
    waiting = [c for c in written if c.target_id == "ocd-person/nh-b"]
    waiting += [c for c in written if c.target_id == "ocd-person/nh-a" and c.similarity is None]
    assert len(waiting) == 3
    for contact in waiting:
        contact.similarity_pending = True
    db.session.commit()
    assert tallies.similarity_pending(tallies.tally_request(measured)) == {
        "ocd-person/nh-a": 1,
        "ocd-person/nh-b": 2,
    }
    page = " ".join(
        visible_text(as_role("organizer").get(f"/admin/c/{SLUG}/tallies").get_data(as_text=True))
        .split()
    )
    assert re.search(r"Avery Lindqvist Democratic NH [^%]* 3 30% \(1 not measured yet\)", page)
    assert re.search(r"Blake Okafor Republican NH [^%—]* 2 not measured yet", page)
    assert re.search(r"Casey Castellanos Democratic NH [^%]* 4 100% [A-Z]", page)
    assert "until then it is \"not measured yet\" and not in the average" in page
