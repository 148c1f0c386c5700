"""The whole action flow through the Flask test client: form -> messages -> send -> logged."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from advocacy.actions.models import Action, Constituent, Contact
from advocacy.delivery.models import OutboxMessage
from advocacy.extensions import db
from tests.actions.helpers import (
    FORM,
    count,
    field_names,
    start,
    submission_key,
)
from tests.fakes.upstream import FakeUpstreams
from tests.text import visible_text


def test_full_flow_both_chambers(ready: FlaskClient) -> None:
    page = start(ready, "every-exploited-child-is-a-victim")
    # Senator + both members of the base district + the 3 sitting members of the floterial.
    assert "12 MAIN ST, NASHUA, NH, 03060" in page
    for name in ("Sam Senator", "Ada Alder", "Ben Birch", "Cy Cedar", "Di Dogwood", "Ed Elm"):
        assert name in page
    assert "Dear Representative Alder," in page and "Dear Senator Senator," in page
    assert "I am your constituent in Nashua, and I am asking you" in visible_text(page)
    fields = field_names(page)
    assert len(fields) == 6
    key = submission_key(page)
    edited = {fields[0]: "My own words to you.\n\nAlex Rivera"}
    response = ready.post(
        "/c/every-exploited-child-is-a-victim/send", data={"submission_key": key, **edited}
    )
    assert response.status_code == 303
    thanks = response.headers["Location"]
    assert thanks == f"/c/every-exploited-child-is-a-victim/thanks/{key}"

    assert count(Action) == 1 and count(Constituent) == 1
    contacts = list(db.session.scalars(select(Contact).order_by(Contact.id)))
    assert len(contacts) == 6 and {c.channel for c in contacts} == {"email"}
    assert {c.status for c in contacts} == {"queued"}
    assert count(OutboxMessage) == 7
    personal = [c for c in contacts if c.personalised]
    assert len(personal) == 1 and personal[0].body == "My own words to you.\n\nAlex Rivera\n"
    action = db.session.scalar(select(Action))
    assert action is not None
    assert all(c.campaign_version_id == action.campaign_version_id for c in contacts)
    constituent = action.constituent
    assert (constituent.city, constituent.state, constituent.zip_code) == ("NASHUA", "NH", "03060")
    assert constituent.opt_in is True
    senator = next(c for c in contacts if c.target_chamber == "upper")
    assert senator.target_email == "sam@leg.example.gov" and senator.target_district == "15"
    assert senator.subject == "Protect every exploited child in New Hampshire"

    thank_page = ready.get(thanks).get_data(as_text=True)
    said = visible_text(thank_page)
    assert said.count("your email is queued and will be sent soon.") == 6
    assert "I called Ada Alder" in said and 'href="tel:5550100"' in thank_page
    assert "did not go to" not in said and "letter" not in said
    assert "x.com/intent/tweet" in thank_page and "bsky.app/intent/compose" in thank_page


def test_double_submit_and_back_button_make_one_action(ready: FlaskClient) -> None:
    page = start(ready, "every-exploited-child-is-a-victim")
    data = {"submission_key": submission_key(page)}
    first = ready.post("/c/every-exploited-child-is-a-victim/send", data=data)
    second = ready.post("/c/every-exploited-child-is-a-victim/send", data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert count(Action) == 1 and count(Contact) == 6 and count(OutboxMessage) == 7
    thanks = ready.get(second.headers["Location"]).get_data(as_text=True)
    assert "Thank you" in thanks and "was not sent" not in thanks
    # Back to the write page after sending: the draft is gone, the visitor starts over.
    back = ready.get("/c/every-exploited-child-is-a-victim/write")
    assert back.status_code == 303


def test_same_person_again_gets_a_friendly_message(ready: FlaskClient) -> None:
    page = start(ready, "every-exploited-child-is-a-victim")
    ready.post(
        "/c/every-exploited-child-is-a-victim/send", data={"submission_key": submission_key(page)}
    )
    again = ready.post(
        "/c/every-exploited-child-is-a-victim/act", data={**FORM, "email": "ALEX@example.org "}
    )
    assert again.status_code == 303
    assert again.headers["Location"] == "/c/every-exploited-child-is-a-victim/already"
    page = ready.get(again.headers["Location"])
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "already sent messages for this campaign on " in text
    assert count(Action) == 1


def test_lower_chamber_campaign_with_fixed_postal_target(ready: FlaskClient) -> None:
    page = start(ready, "oppose-buyer-immunity")
    assert "Sam Senator" not in page  # upper chamber is not asked for
    assert "Ada Alder" in page and "The American Law Institute" in page
    assert "4025 Chestnut Street" in page
    response = ready.post(
        "/c/oppose-buyer-immunity/send", data={"submission_key": submission_key(page)}
    )
    assert response.status_code == 303
    contacts = list(db.session.scalars(select(Contact)))
    ali = [c for c in contacts if c.target_kind == "fixed"]
    assert len(ali) == 1 and ali[0].channel == "postal" and ali[0].status == "logged"
    assert "Model Penal Code" in (ali[0].body or "")
    assert count(OutboxMessage) == len(contacts)  # the letter is not mailed; the receipt is
    thanks = ready.get(response.headers["Location"]).get_data(as_text=True)
    said = visible_text(thanks)
    assert (
        "The American Law Institute: your letter is ready. Please print it and post it to "
        "4025 Chestnut Street, Philadelphia, PA 19104-3099. Print your letter to "
        "The American Law Institute."
    ) in said
    assert "did not go to" not in said  # no cap: nothing was held back


def test_i_called_logs_one_call_contact(ready: FlaskClient) -> None:
    page = start(ready, "oppose-buyer-immunity")
    key = submission_key(page)
    thanks = ready.post("/c/oppose-buyer-immunity/send", data={"submission_key": key})
    location = thanks.headers["Location"]
    written = count(Contact)  # five representatives (base + floterial district) and ALI
    assert written == 6
    target = db.session.scalar(select(Contact).where(Contact.target_name == "Ada Alder"))
    assert target is not None
    for _ in range(2):
        response = ready.post(location + "/called", data={"target_id": target.target_id})
        assert response.status_code == 303
    calls = list(db.session.scalars(select(Contact).where(Contact.channel == "call")))
    assert len(calls) == 1 and calls[0].status == "called" and calls[0].target_name == "Ada Alder"
    page = ready.get(location).get_data(as_text=True)
    assert "Call logged" in page
    bad = ready.post(location + "/called", data={"target_id": "ocd-person/not-mine"})
    assert bad.status_code == 303
    assert count(Contact) == written + 1


def test_message_length_limit_is_explained(ready: FlaskClient) -> None:
    page = start(ready, "oppose-buyer-immunity")
    fields = field_names(page)
    response = ready.post(
        "/c/oppose-buyer-immunity/send",
        data={"submission_key": submission_key(page), fields[0]: "x" * 4500},
    )
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "4500 characters long; the limit is 4000" in text
    assert count(Action) == 0 and count(Contact) == 0


def test_empty_message_is_refused(ready: FlaskClient) -> None:
    page = start(ready, "oppose-buyer-immunity")
    fields = field_names(page)
    response = ready.post(
        "/c/oppose-buyer-immunity/send",
        data={"submission_key": submission_key(page), fields[0]: "   "},
    )
    assert response.status_code == 400 and "is empty" in response.get_data(as_text=True)


def test_form_errors_are_shown_beside_fields(ready: FlaskClient) -> None:
    response = ready.post(
        "/c/oppose-buyer-immunity/act",
        data={"name": "", "email": "not-an-email", "street_address": "x"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="name-error"' in page and "Please enter your name." in page
    assert 'id="email-error"' in page and 'id="street_address-error"' in page
    assert 'aria-invalid="true"' in page


def test_unknown_address_offers_the_manual_path(ready: FlaskClient) -> None:
    response = ready.post(
        "/c/oppose-buyer-immunity/act",
        data={**FORM, "street_address": "99 Nowhere Rd, Atlantis NH"},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "We could not find that address" in page
    assert 'href="/c/oppose-buyer-immunity/choose"' in page
    chooser = ready.get("/c/oppose-buyer-immunity/choose?state=nh").get_data(as_text=True)
    assert "Hillsborough 23: Ada Alder, Ben Birch" in chooser
    assert "Senate" not in chooser  # this campaign writes to the lower chamber only
    chosen = ready.post(
        "/c/oppose-buyer-immunity/choose", data={"state": "nh", "district": "lower|Hillsborough 23"}
    )
    assert chosen.status_code == 303 and chosen.headers["Location"].endswith("/write")
    page = ready.get("/c/oppose-buyer-immunity/write").get_data(as_text=True)
    assert "You chose your district yourself" in page
    assert "Ada Alder" in page and "Ben Birch" in page and "Cy Cedar" not in page


def test_census_down_goes_to_the_manual_path(ready: FlaskClient, upstream: FakeUpstreams) -> None:
    upstream.mode = "500"
    response = ready.post("/c/oppose-buyer-immunity/act", data=FORM)
    assert response.status_code == 303 and response.headers["Location"].endswith("/choose")
    page = ready.get("/c/oppose-buyer-immunity/choose").get_data(as_text=True)
    assert "The address service is not working right now." in visible_text(page)


def test_locked_campaign_ignores_edits(ready: FlaskClient, campaigns: Path, app: Flask) -> None:
    from advocacy.campaigns import service as campaign_service

    path = campaigns / "oppose-buyer-immunity.yaml"
    path.write_text(path.read_text().replace("mode: editable", "mode: locked"))
    campaign_service.sync_folder(campaigns)
    page = start(ready, "oppose-buyer-immunity")
    assert "<textarea" not in page
    ready.post(
        "/c/oppose-buyer-immunity/send",
        data={"submission_key": submission_key(page), "body-0000": "sneaky"},
    )
    assert all(not c.personalised for c in db.session.scalars(select(Contact)))


def test_send_without_a_draft_is_not_an_error(ready: FlaskClient) -> None:
    response = ready.post("/c/oppose-buyer-immunity/send", data={"submission_key": "nope"})
    assert response.status_code == 303
    assert count(Action) == 0


def test_a_call_to_a_fixed_target_logs_its_own_script(ready: FlaskClient) -> None:
    page = start(ready, "oppose-buyer-immunity")
    key = submission_key(page)
    location = ready.post("/c/oppose-buyer-immunity/send", data={"submission_key": key}).headers[
        "Location"
    ]
    ready.post(location + "/called", data={"target_id": "american-law-institute"})
    call = db.session.scalar(select(Contact).where(Contact.channel == "call"))
    assert call is not None and call.target_name == "The American Law Institute"
    assert "thank the American Law Institute" in " ".join((call.body or "").split())
    assert "our state's law" not in (call.body or "")
