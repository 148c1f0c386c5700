"""Messages to someone who left office before they were sent: the worker holds them (never
sends them), the visitor's thank-you page says so, staff see them on the campaign page and
send them anyway or discard them (audited), and tallies keep them. Through real worker runs,
on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from advocacy.actions.models import Contact
from advocacy.admin.models import AuditEntry
from advocacy.campaigns.service import get_campaign, sync_folder
from advocacy.delivery.models import OutboxMessage
from advocacy.delivery.worker import run_workers
from advocacy.exports.tallies import tally_dicts, tally_request
from advocacy.extensions import db
from advocacy.lookup.directory import site_today
from tests.actions.helpers import ADDRESS, nh, start, submission_key
from tests.admin.conftest import as_role, password_hash, staff  # noqa: F401
from tests.conftest import copy_repo_campaigns
from tests.fakes.upstream import FakeUpstreams
from tests.lookup.offices_world import ADA, GOVERNOR, nh_people, sync_nh, write_campaign
from tests.lookup.yaml_people import after_the_election, person, role
from tests.text import visible_text


def days_ago(days: int) -> date:
    return site_today() - timedelta(days=days)


BOTH = "every-exploited-child-is-a-victim"
JUDICIARY = "judiciary-and-governor"


@pytest.fixture
def world(
    client: FlaskClient, upstream: FakeUpstreams, campaigns_dir: Path, tmp_path: Path
) -> Path:
    root = tmp_path / "repo"
    sync_nh(root)
    copy_repo_campaigns(campaigns_dir)
    write_campaign(campaigns_dir)
    assert not sync_folder(campaigns_dir).problems
    upstream.add_address(ADDRESS, nh())
    return root


def send(client: FlaskClient, slug: str) -> str:
    """Write to everyone the campaign gives the visitor; the thank-you page's path."""
    page = start(client, slug)
    response = client.post(f"/c/{slug}/send", data={"submission_key": submission_key(page)})
    assert response.status_code == 303
    return response.headers["Location"]


def statuses(slug: str) -> dict[str, tuple[str, str | None]]:
    """Each contact's status and its outbox row's, by recipient name."""
    campaign = get_campaign(slug)
    assert campaign is not None
    rows = db.session.execute(
        select(Contact.target_name, Contact.status, OutboxMessage.status)
        .outerjoin(OutboxMessage, OutboxMessage.contact_id == Contact.id)
        .where(Contact.campaign_id == campaign.id, Contact.channel == "email")
    ).all()
    db.session.remove()
    return {name: (contact, outbox) for name, contact, outbox in rows}


def test_a_member_who_left_at_a_refresh_is_held_and_staff_send_it_anyway(
    app: Flask,
    client: FlaskClient,
    world: Path,
    as_role,  # noqa: F811
) -> None:
    thanks = send(client, BOTH)
    # The refresh after the election: Ada Alder is gone (Gil Gale has her seat), Ben Birch
    # moved district. Nothing was delivered before it.
    sync_nh(world, people=after_the_election(date(2027, 1, 7)))
    db.session.remove()
    report = run_workers(1)
    assert (report.held, report.logged) == (1, 6)  # five messages and the visitor's receipt
    found = statuses(BOTH)
    assert found["Ada Alder"] == ("recipient_left", "held")
    assert found["Ben Birch"] == ("logged", "sent")  # still in office, in another district
    assert {status for name, status in found.items() if name != "Ada Alder"} == {("logged", "sent")}
    held = db.session.scalar(select(Contact).where(Contact.target_name == "Ada Alder"))
    assert held is not None and held.last_error == (
        "not sent: the recipient no longer holds the seat or office it was written to"
    )
    db.session.remove()

    said = visible_text(client.get(thanks))
    assert (
        "Ada Alder: they left office before your email could be sent, so it is held while "
        "the campaign's staff decide whether to send it." in said
    )
    assert said.count("your email has been recorded.") == 5

    # Another run does not touch it: held rows are not claimed.
    assert run_workers(1).claimed == 0

    manager = as_role("manager")
    page = visible_text(manager.get(f"/admin/c/{BOTH}"))
    assert "Held: the recipient left office" in page
    assert "Ada Alder\nNH, House, Hillsborough 23\n1\n" in page
    assert "Last failure" not in page  # held is a decision to make, not a failure
    assert "Send anyway to Ada Alder" in page and "Discard messages to Ada Alder" in page
    assert "recipient_left\n1\n" in page and "held\n1\n" in page

    done = manager.post(
        f"/admin/c/{BOTH}/held",
        data={"target_id": held.target_id, "decision": "send"},
        follow_redirects=True,
    )
    assert "1 held message(s) to Ada Alder are back in the queue and will be sent." in (
        visible_text(done)
    )
    assert "Held: the recipient left office" not in visible_text(done)
    again = run_workers(1)
    assert (again.logged, again.held) == (1, 0)  # sent anyway: not held a second time
    assert statuses(BOTH)["Ada Alder"] == ("logged", "sent")
    assert "Ada Alder: your email has been recorded." in visible_text(client.get(thanks))
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "delivery.sent_anyway"))
    assert entry is not None and entry.actor == "manager@example.org"
    assert entry.subject == BOTH and entry.detail == {
        "target_id": held.target_id,
        "target_name": "Ada Alder",
        "messages": 1,
    }


def test_a_governor_whose_term_ended_is_held_and_staff_discard_it(
    app: Flask,
    client: FlaskClient,
    world: Path,
    as_role,  # noqa: F811
) -> None:
    thanks = send(client, JUDICIARY)
    assert statuses(JUDICIARY)["Kelly Ayres"] == ("queued", "pending")
    # A refresh (a month ago, as far as it knew) loaded the last day of the governor's term:
    # yesterday. No refresh since; the worker runs today.
    ending = {**GOVERNOR, "roles": [{**GOVERNOR["roles"][0], "end_date": str(days_ago(1))}]}
    sync_nh(world, executives=[ending], today=days_ago(30))
    db.session.remove()
    report = run_workers(1)
    assert report.held == 1
    found = statuses(JUDICIARY)
    assert found == {
        "Ben Birch": ("logged", "sent"),
        "Cy Cedar": ("logged", "sent"),
        "Kelly Ayres": ("recipient_left", "held"),
    }
    manager = as_role("manager")
    page = visible_text(manager.get(f"/admin/c/{JUDICIARY}"))
    assert "Kelly Ayres\nGovernor of New Hampshire\n1\n" in page
    governor_id = db.session.scalar(
        select(Contact.target_id).where(Contact.target_name == "Kelly Ayres")
    )
    db.session.remove()
    done = manager.post(
        f"/admin/c/{JUDICIARY}/held",
        data={"target_id": governor_id, "decision": "discard"},
        follow_redirects=True,
    )
    assert "1 held message(s) to Kelly Ayres were discarded and will not be sent." in (
        visible_text(done)
    )
    assert statuses(JUDICIARY)["Kelly Ayres"] == ("discarded", None)  # its outbox row is gone
    assert run_workers(1).claimed == 0
    said = visible_text(client.get(thanks))
    assert (
        "Kelly Ayres: they left office before your email could be sent, and the campaign's "
        "staff decided not to send it." in said
    )
    # Deciding twice finds nothing left to decide.
    twice = manager.post(
        f"/admin/c/{JUDICIARY}/held",
        data={"target_id": governor_id, "decision": "send"},
        follow_redirects=True,
    )
    assert "No held messages to that recipient: someone decided them already." in (
        visible_text(twice)
    )
    assert db.session.scalar(
        select(AuditEntry.detail).where(AuditEntry.action == "delivery.discarded")
    ) == {"target_id": governor_id, "target_name": "Kelly Ayres", "messages": 1}

    # Tallies count every contact, whatever became of it; the status says what.
    campaign = get_campaign(JUDICIARY)
    assert campaign is not None
    rows = tally_dicts(tally_request(campaign, by="district,status"))
    assert {(r["district"], r["status"], r["contacts"]) for r in rows} == {
        ("Judiciary", "logged", 2),
        ("Governor", "discarded", 1),
    }


def test_a_member_whose_term_ended_since_is_held_and_one_who_left_is_not_written_to(
    app: Flask, client: FlaskClient, world: Path
) -> None:
    send(client, BOTH)
    # Ada Alder's term ended yesterday; the directory has her (loaded a month ago) with it.
    ending = person("nh", ADA, roles=[role("nh", "lower", "Hillsborough 23", end=days_ago(1))])
    sync_nh(world, people=nh_people(Alder=ending), today=days_ago(30))
    db.session.remove()
    assert run_workers(1).held == 1
    assert statuses(BOTH)["Ada Alder"] == ("recipient_left", "held")
    # A visitor writing today is not given her at all.
    later = app.test_client()
    said = visible_text(start(later, BOTH, email="later@example.org"))
    assert "Ben Birch" in said and "Ada Alder" not in said


WITH_A_BOARD = """\
slug: board-and-house
title: Write to the board and your representatives
summary: Words.
status: live
targets:
  - type: state_legislators
    chambers: lower
  - type: fixed
    id: board
    name: The State Board
    email: board@example.org
message:
  subject: Please act
  mode: locked
  body: |
    Dear {{ target.salutation }},

    Please act.

    {{ constituent.name }}
"""


def test_a_fixed_recipient_is_never_held(
    app: Flask, client: FlaskClient, world: Path, campaigns_dir: Path
) -> None:
    write_campaign(campaigns_dir, WITH_A_BOARD, "board-and-house")
    assert not sync_folder(campaigns_dir).problems
    send(client, "board-and-house")
    sync_nh(world, people=after_the_election(date(2027, 1, 7)))
    db.session.remove()
    assert run_workers(1).held == 1
    found = statuses("board-and-house")
    assert found["Ada Alder"] == ("recipient_left", "held")
    assert found["The State Board"] == ("logged", "sent")


def test_an_organizer_sees_held_messages_but_cannot_decide(
    app: Flask,
    client: FlaskClient,
    world: Path,
    as_role,  # noqa: F811
) -> None:
    send(client, BOTH)
    sync_nh(world, people=after_the_election(date(2027, 1, 7)))
    db.session.remove()
    run_workers(1)
    organizer = as_role("organizer")
    said = visible_text(organizer.get(f"/admin/c/{BOTH}"))
    assert "Ada Alder\nNH, House, Hillsborough 23\n1\n" in said
    assert "Send anyway" not in said and "Discard" not in said
    target_id = db.session.scalar(
        select(Contact.target_id).where(Contact.target_name == "Ada Alder")
    )
    refused = organizer.post(
        f"/admin/c/{BOTH}/held", data={"target_id": target_id, "decision": "send"}
    )
    assert refused.status_code == 403
    assert statuses(BOTH)["Ada Alder"] == ("recipient_left", "held")
