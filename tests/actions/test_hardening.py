"""The action flow's edges: control characters, the manual district pick, phone-only
legislators, share links, POST/redirect/GET answers, true delivery states, Nebraska and DC."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from advocacy.actions.models import Action, Constituent, Contact
from advocacy.campaigns import service as campaign_service
from advocacy.delivery.models import OutboxMessage
from advocacy.extensions import db
from tests.actions.helpers import (
    BOTH,
    FORM,
    LOWER,
    count,
    field_names,
    session_cookie,
    start,
    submission_key,
    write_roster,
)
from tests.fakes.upstream import FakeUpstreams, Match, sld_object
from tests.lookup.people import ROSTERS
from tests.text import visible_text

# -- control characters --------------------------------------------------------------------


def test_nul_and_control_characters_are_removed_from_the_form_and_messages(
    ready: FlaskClient,
) -> None:
    page = start(
        ready,
        LOWER,
        name="Alex\x00 Rivera\x07",
        email="alex@example.org\x00",
        phone="555\x00-0199",
        street_address="12 Main St, Nashua, NH 03060\x00",
    )
    first = field_names(page)[0]
    response = ready.post(
        f"/c/{LOWER}/send",
        data={
            "submission_key": submission_key(page),
            first: "Dear Rep\x00resentative,\r\n\r\nPlease\x1b act.\tNow.\x00\r\nAlex",
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    constituent = db.session.scalar(select(Constituent))
    assert constituent is not None
    assert (constituent.name, constituent.email) == ("Alex Rivera", "alex@example.org")
    assert constituent.phone == "555-0199"
    assert constituent.street_address == "12 Main St, Nashua, NH 03060"
    personal = db.session.scalar(select(Contact).where(Contact.personalised.is_(True)))
    assert personal is not None
    assert personal.body == "Dear Representative,\n\nPlease act.\tNow.\nAlex\n"


def test_a_name_of_only_nul_is_a_missing_name(ready: FlaskClient) -> None:
    response = ready.post(f"/c/{LOWER}/act", data={**FORM, "name": "\x00\x00"})
    assert response.status_code == 400
    assert "Please enter your name." in response.get_data(as_text=True)
    assert count(Action) == 0


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("post", f"/c/{LOWER}/send", {"submission_key": "abc\x00def"}),
        ("get", "/c/oppose-buyer-immunity/thanks/abc%00defghijklmnopqrstu", None),
        ("get", "/c/oppose%00/write", None),
        ("post", "/c/oppose%00/act", FORM),
        ("get", f"/c/{LOWER}/choose?state=n%00h", None),
    ],
)
def test_nul_in_urls_and_keys_is_not_an_error(
    ready: FlaskClient, method: str, path: str, data: dict[str, str] | None
) -> None:
    start(ready, LOWER)
    response = getattr(ready, method)(path, data=data)
    assert response.status_code in (200, 303, 404)
    assert count(Action) == 0


# -- the manual district pick --------------------------------------------------------------


def chooser_values(page: str) -> list[tuple[str, str]]:
    return re.findall(r'name="(district-[a-z]+)" value="([^"]+)"', page)


def test_choosing_every_district_is_refused_and_the_session_stays_small(
    ready: FlaskClient,
) -> None:
    ready.post(f"/c/{BOTH}/act", data={**FORM, "street_address": "99 Nowhere Rd, Atlantis NH"})
    page = ready.get(f"/c/{BOTH}/choose?state=nh").get_data(as_text=True)
    values = chooser_values(page)
    assert len(values) > 200  # every NH district of both chambers is offered
    assert {name for name, _ in values} == {"district-upper", "district-lower"}
    data: dict[str, object] = {"state": "nh", "district": [value for _, value in values]}
    response = ready.post(f"/c/{BOTH}/choose", data=data)
    assert response.status_code == 303
    # The state and the city read from the address typed are kept for the next try.
    assert response.headers["Location"] == f"/c/{BOTH}/choose?state=nh&city=Atlantis"
    shown = ready.get(response.headers["Location"]).get_data(as_text=True)
    assert "Please choose only your own district: one per chamber." in shown
    assert len(session_cookie(ready)) < 1500
    assert ready.get(f"/c/{BOTH}/write").get_data(as_text=True).count("<textarea") == 0

    two_houses = {"district-lower": ["lower|Hillsborough 23", "lower|Hillsborough 40"]}
    response = ready.post(f"/c/{BOTH}/choose", data={"state": "nh", **two_houses})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("?state=nh&city=Atlantis")
    assert "one per chamber" in ready.get(response.headers["Location"]).get_data(as_text=True)

    forged = {"district-upper": "upper|999"}
    response = ready.post(f"/c/{BOTH}/choose", data={"state": "nh", **forged})
    assert "not one this campaign writes to" in ready.get(response.headers["Location"]).get_data(
        as_text=True
    )

    response = ready.post(
        f"/c/{BOTH}/choose",
        data={
            "state": "nh",
            "district-upper": "upper|15",
            "district-lower": "lower|Hillsborough 23",
        },
    )
    assert response.status_code == 303 and response.headers["Location"] == f"/c/{BOTH}/write"
    assert len(session_cookie(ready)) < 1500
    write = ready.get(f"/c/{BOTH}/write").get_data(as_text=True)
    assert "Sam Senator" in write and "Ada Alder" in write and "Ben Birch" in write
    assert "Cy Cedar" not in write
    assert len(field_names(write)) == 3


def test_lower_chamber_campaign_offers_no_senate_choice(ready: FlaskClient) -> None:
    ready.post(f"/c/{LOWER}/act", data={**FORM, "street_address": "99 Nowhere Rd, Atlantis NH"})
    page = ready.get(f"/c/{LOWER}/choose?state=nh").get_data(as_text=True)
    assert {name for name, _ in chooser_values(page)} == {"district-lower"}
    response = ready.post(f"/c/{LOWER}/choose", data={"state": "nh", "district-upper": "upper|15"})
    assert "not one this campaign writes to" in ready.get(response.headers["Location"]).get_data(
        as_text=True
    )
    response = ready.post(f"/c/{LOWER}/choose", data={"state": "nh"})
    assert "Please choose your district." in ready.get(response.headers["Location"]).get_data(
        as_text=True
    )


# -- phone-only legislators ----------------------------------------------------------------


def phone_only(tmp_path: Path, names: set[str]) -> None:
    rows = [replace(row, email="") if row.name in names else row for row in ROSTERS["nh"]]
    write_roster(tmp_path / "people-phone", "nh", rows, no_address=names)


def test_phone_only_legislators_get_an_i_called_button(ready: FlaskClient, tmp_path: Path) -> None:
    phone_only(tmp_path, {"Ada Alder"})
    page = start(ready, BOTH)
    assert "No written contact on record" in page
    assert "Ada Alder: call 555-0100 (capitol office)" in page
    assert len(field_names(page)) == 5
    response = ready.post(f"/c/{BOTH}/send", data={"submission_key": submission_key(page)})
    assert response.status_code == 303
    thanks = ready.get(response.headers["Location"]).get_data(as_text=True)
    assert "I called Ada Alder" in thanks  # not written to, but can be called
    action = db.session.scalar(select(Action))
    assert action is not None and action.legislator_ids is not None
    assert len(action.legislator_ids) == 6
    called = ready.post(
        response.headers["Location"] + "/called",
        data={"target_id": _id_of(thanks, "Ada Alder")},
    )
    assert called.status_code == 303
    calls = list(db.session.scalars(select(Contact).where(Contact.channel == "call")))
    assert [c.target_name for c in calls] == ["Ada Alder"]


def _id_of(page: str, name: str) -> str:
    found = re.search(
        r'name="target_id" value="([^"]+)">\s*<button[^>]*>I called ' + re.escape(name), page
    )
    assert found, name
    return found.group(1)


def test_when_every_recipient_is_phone_only_the_visitor_can_still_call(
    ready: FlaskClient, tmp_path: Path
) -> None:
    everyone = {row.name for row in ROSTERS["nh"]}
    phone_only(tmp_path, everyone)
    page = start(ready, BOTH)
    assert field_names(page) == []
    assert "Continue to the call script" in page
    response = ready.post(f"/c/{BOTH}/send", data={"submission_key": submission_key(page)})
    assert response.status_code == 303, response.get_data(as_text=True)
    assert "/thanks/" in response.headers["Location"]
    assert count(Action) == 1 and count(Contact) == 0
    assert [m.kind for m in db.session.scalars(select(OutboxMessage))] == ["receipt"]
    thanks = ready.get(response.headers["Location"]).get_data(as_text=True)
    said = visible_text(thanks)
    for name in ("Sam Senator", "Ada Alder", "Ben Birch", "Cy Cedar", "Di Dogwood", "Ed Elm"):
        assert f"I called {name}" in said
    assert "Call your recipients" in said and "Make a call too" not in said
    assert "Hello, my name is Alex Rivera, and I am a constituent from Nashua. I am" in said
    assert "What happens to your messages" not in said  # nothing was written
    ready.post(
        response.headers["Location"] + "/called", data={"target_id": _id_of(thanks, "Ed Elm")}
    )
    assert [c.target_name for c in db.session.scalars(select(Contact))] == ["Ed Elm"]


# -- the thank-you page --------------------------------------------------------------------


def test_share_links_use_the_public_site_url_and_the_call_script_is_shown(
    ready: FlaskClient, app: Flask
) -> None:
    app.config["SITE_URL"] = "https://act.example.org/"
    page = start(ready, LOWER)
    response = ready.post(f"/c/{LOWER}/send", data={"submission_key": submission_key(page)})
    thanks = ready.get(response.headers["Location"], base_url="http://10.0.0.7:8080")
    text = thanks.get_data(as_text=True)
    public = "https://act.example.org/c/oppose-buyer-immunity"
    # Each way of sharing carries its own source code (docs/campaigns.md, "Source codes").
    assert f"Or share this link: {public}?source=share-link" in visible_text(text)
    facebook = (
        f"https://www.facebook.com/sharer/sharer.php?u={quote(public + '?source=share-facebook')}"
    )
    assert f'href="{facebook}"' in text
    share_text = (
        "I asked my state representative to make sure every adult who buys a child for sex "
        "is prosecuted as a trafficker. Add your voice:"
    )
    mail = (
        f"mailto:?subject={quote('Keep buyers of children accountable in every state')}"
        f"&amp;body={quote(share_text + ' ' + public + '?source=share-email')}"
    )
    assert f'href="{mail}"' in text
    assert "10.0.0.7" not in text and "localhost" not in text
    said = visible_text(text)
    # Each recipient's own script, each on one line however the file wraps it.
    assert (
        "Hello, my name is Alex Rivera, and I am a constituent from Nashua. I am calling to ask "
        "Representative Alder to make sure our state's law treats any adult who buys a child "
        "for sex as a trafficker"
    ) in said
    assert (
        "I am calling to thank the American Law Institute for reversing the Model Penal Code change"
    ) in said
    assert "our state's trafficking law" not in said  # the legislators' script is not ALI's


def test_the_thank_you_page_shows_each_messages_true_state(ready: FlaskClient) -> None:
    page = start(ready, BOTH)
    response = ready.post(f"/c/{BOTH}/send", data={"submission_key": submission_key(page)})
    states = {
        "Sam Senator": ("sent", None, "your email has been sent."),
        "Ada Alder": ("failed", "451 try later", "your email is delayed; we will keep trying"),
        "Ben Birch": (
            "bounced",
            "550 no such user",
            "the recipient's mail server refused your email. You can still call 555-0100.",
        ),
        "Cy Cedar": ("dead", "gave up", "your email could not be delivered"),
        "Di Dogwood": (
            "dead",
            "delivery may have happened; check before retrying",
            "we could not confirm that your email arrived",
        ),
        "Ed Elm": ("queued", None, "your email is queued and will be sent soon."),
    }
    for name, (status, error, _text) in states.items():
        db.session.execute(
            update(Contact)
            .where(Contact.target_name == name)
            .values(status=status, last_error=error)
        )
    db.session.commit()
    lines = visible_text(ready.get(response.headers["Location"])).splitlines()
    for name, (_status, _error, text) in states.items():
        line = next((line for line in lines if line.startswith(f"{name}: ")), None)
        assert line is not None and text in line, (name, line)
    assert sum("queued" in line for line in lines) == 1


# -- every POST answers 303 ----------------------------------------------------------------


def test_already_acted_answers_303_from_send_too(ready: FlaskClient, app: Flask) -> None:
    other = app.test_client()
    first = start(other, LOWER)
    second = start(ready, LOWER)  # same email, before the first one sent
    other.post(f"/c/{LOWER}/send", data={"submission_key": submission_key(first)})
    response = ready.post(f"/c/{LOWER}/send", data={"submission_key": submission_key(second)})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/c/{LOWER}/already"
    page = ready.get(response.headers["Location"]).get_data(as_text=True)
    assert "You have already taken part" in page and "already sent messages" in page
    assert count(Action) == 1
    assert ready.get(f"/c/{LOWER}/write").status_code == 303  # the draft is gone


def test_a_campaign_updated_while_writing_redirects_to_the_new_text(
    ready: FlaskClient, campaigns: Path
) -> None:
    page = start(ready, LOWER)
    key = submission_key(page)
    path = campaigns / f"{LOWER}.yaml"
    path.write_text(
        path.read_text().replace("Could you let me know where you stand", "Thanks, truly,")
    )
    campaign_service.sync_folder(campaigns)
    response = ready.post(f"/c/{LOWER}/send", data={"submission_key": key})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/c/{LOWER}/write"
    assert count(Action) == 0
    page = ready.get(response.headers["Location"]).get_data(as_text=True)
    assert "this campaign&#39;s message was just updated" in page
    assert "Thanks, truly," in page
    response = ready.post(f"/c/{LOWER}/send", data={"submission_key": submission_key(page)})
    assert response.status_code == 303 and "/thanks/" in response.headers["Location"]
    assert count(Action) == 1


def test_a_paused_campaign_shows_its_page_with_409(ready: FlaskClient, campaigns: Path) -> None:
    page = start(ready, LOWER)
    path = campaigns / f"{LOWER}.yaml"
    path.write_text(path.read_text().replace("status: live", "status: paused"))
    campaign_service.sync_folder(campaigns)
    for response in (
        ready.post(f"/c/{LOWER}/send", data={"submission_key": submission_key(page)}),
        ready.post(f"/c/{LOWER}/act", data=FORM),
    ):
        assert response.status_code == 409
        shown = response.get_data(as_text=True)
        assert "Nothing was sent." in shown and "This campaign is paused for now." in shown
    assert count(Action) == 0


# -- Nebraska and DC: one unicameral chamber ------------------------------------------------


@pytest.mark.parametrize(
    ("address", "match", "expected"),
    [
        (
            "1 O St, Lincoln, NE 68508",
            Match(
                "1 O ST, LINCOLN, NE, 68508",
                "31",
                upper=[sld_object("upper", "31012", "12")],
                city="LINCOLN",
                zip_code="68508",
            ),
            {"Pat Pine": "Dear Senator Pine,"},
        ),
        (
            "3 Porter St NW, Washington, DC 20008",
            Match(
                "3 PORTER ST NW, WASHINGTON, DC, 20008",
                "11",
                upper=[sld_object("upper", "11003", "3")],
                city="WASHINGTON",
                zip_code="20008",
            ),
            {
                "Quinn Quince": "Dear Councilmember Quince,",
                "Rae Rowan": "Dear Councilmember Rowan,",
                "Sol Spruce": "Dear Councilmember Spruce,",
                "Tess Teak": "Dear Councilmember Teak,",
            },
        ),
    ],
)
def test_unicameral_members_answer_a_lower_chamber_campaign(
    ready: FlaskClient,
    upstream: FakeUpstreams,
    address: str,
    match: Match,
    expected: dict[str, str],
) -> None:
    upstream.add_address(address, match)
    page = start(ready, LOWER, street_address=address, email="ne-dc@example.org")
    for name, salutation in expected.items():
        assert name in page and salutation in page
    response = ready.post(f"/c/{LOWER}/send", data={"submission_key": submission_key(page)})
    assert response.status_code == 303
    contacts = list(db.session.scalars(select(Contact).order_by(Contact.id)))
    legislators = [c for c in contacts if c.target_kind == "legislator"]
    assert sorted(c.target_name for c in legislators) == sorted(expected)
    assert {(c.channel, c.target_chamber) for c in legislators} == {("email", "legislature")}
    for contact in legislators:
        assert contact.body is not None and contact.body.startswith(expected[contact.target_name])
    assert [c.target_name for c in contacts if c.target_kind == "fixed"] == [
        "The American Law Institute"
    ]
    thanks = ready.get(response.headers["Location"]).get_data(as_text=True)
    for name in expected:
        assert f"I called {name}" in thanks
