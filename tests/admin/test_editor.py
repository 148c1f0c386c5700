"""The campaign editor: one schema with the YAML files, errors beside fields, preview, versions,
status moves, schedule, clone, archive, and file-defined campaigns."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from advocacy.campaigns import service as campaign_service
from advocacy.campaigns.loader import content_hash
from advocacy.campaigns.models import Campaign
from advocacy.extensions import db
from tests.text import visible_text

NEW: dict[str, str] = {
    "slug": "fund-safe-homes",
    "title": "Fund safe homes",
    "summary": "Ask for **shelter beds** for survivors.",
    "status": "draft",
    "starts_at": "",
    "ends_at": "",
    "chambers": "both",
    "fixed-0-id": "",
    "fixed-0-name": "",
    "subject": "Shelter beds for {{ constituent.state_name }}",
    "body": "Dear {{ target.salutation }},\n\nPlease fund shelter beds.\n\n{{ constituent.name }}",
    "mode": "editable",
    "max_subject_length": "200",
    "max_body_length": "5000",
    "call_script": "",
    "thank_you": "",
    "share_text": "",
    "privacy_note": "",
    "goal": "",
    "receipt": "y",
    "preview_state": "NH",
    "preview_address": "",
}


def campaign(slug: str) -> Campaign:
    db.session.expire_all()
    found = db.session.scalar(select(Campaign).where(Campaign.slug == slug))
    assert found is not None
    return found


def error_beside(page: str, field_id: str) -> str:
    """The error text rendered right after the field with this id."""
    found = re.search(rf'<p class="error" id="{re.escape(field_id)}-error">([^<]*)</p>', page)
    assert found, f"no error beside {field_id}"
    return found.group(1)


def save(client: FlaskClient, path: str, **changes: str) -> Any:
    return client.post(path, data={**NEW, **changes, "save": "1"})


def test_create_makes_version_one_and_a_public_page(as_role) -> None:  # type: ignore[no-untyped-def]
    client = as_role("manager")
    form_page = client.get("/admin/campaigns/new")
    assert form_page.status_code == 200
    response = save(client, "/admin/campaigns/new", status="live")
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/c/fund-safe-homes"
    created = campaign("fund-safe-homes")
    assert created.source == "admin"
    assert created.current_version is not None and created.current_version.number == 1
    definition = campaign_service.definition_of(created.current_version)
    assert definition.legislator_chambers == "both"
    public = client.get("/c/fund-safe-homes").get_data(as_text=True)
    assert "<strong>shelter beds</strong>" in public


def test_errors_are_shown_beside_their_fields(as_role) -> None:  # type: ignore[no-untyped-def]
    client = as_role("manager")
    response = save(
        client,
        "/admin/campaigns/new",
        title="",
        body="Dear {{ target.nickname }},",
        starts_at="2027-02-01T09:00",
        ends_at="2027-01-01T09:00",
        **{"fixed-0-id": "state-board", "fixed-0-name": "State Board", "fixed-0-email": "nope"},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Please fill this in." in error_beside(page, "title")
    assert "nickname" in error_beside(page, "body")
    assert "after starts_at" in error_beside(page, "ends_at")
    assert "email" in error_beside(page, "fixed-0-email")
    assert db.session.scalar(select(Campaign).where(Campaign.slug == "fund-safe-homes")) is None


def test_a_fixed_recipient_needs_a_channel_and_a_campaign_needs_a_recipient(
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    client = as_role("manager")
    page = save(
        client,
        "/admin/campaigns/new",
        chambers="",
        **{"fixed-0-id": "board", "fixed-0-name": "The Board"},
    ).get_data(as_text=True)
    assert "contact channel" in error_beside(page, "fixed-0-email")
    page = save(client, "/admin/campaigns/new", chambers="").get_data(as_text=True)
    assert "at least one other recipient" in error_beside(page, "chambers")


def test_preview_fills_the_message_for_real_directory_members(
    as_role,
    directory: Path,  # type: ignore[no-untyped-def]
) -> None:
    client = as_role("manager")
    response = client.post("/admin/campaigns/new", data={**NEW, "preview": "1"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="preview"' in page
    # NH's first House district and first Senate district from the test rosters.
    assert re.search(r"Dear Representative \w+,", page)
    assert re.search(r"Dear Senator \w+,", page)
    assert "Shelter beds for New Hampshire" in page
    assert db.session.scalar(select(Campaign).where(Campaign.slug == "fund-safe-homes")) is None


def test_preview_without_directory_data_uses_a_sample_legislator(
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    client = as_role("manager")
    page = client.post(
        "/admin/campaigns/new", data={**NEW, "preview": "1", "preview_state": "NE"}
    ).get_data(as_text=True)
    assert "Dear Senator Example," in page  # Nebraska's one chamber, for "both"
    assert "Shelter beds for Nebraska" in page


def test_editing_makes_a_new_version_only_when_something_changed(
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    client = as_role("manager")
    save(client, "/admin/campaigns/new")
    assert save(client, "/admin/c/fund-safe-homes/edit").status_code == 303
    assert campaign("fund-safe-homes").current_version.number == 1  # type: ignore[union-attr]
    save(client, "/admin/c/fund-safe-homes/edit", title="Fund safe homes now")
    edited = campaign("fund-safe-homes")
    assert edited.current_version.number == 2  # type: ignore[union-attr]
    assert edited.title == "Fund safe homes now"
    response = save(client, "/admin/c/fund-safe-homes/edit", slug="another-slug")
    assert response.status_code == 409
    assert "cannot change" in response.get_data(as_text=True)


def test_edit_form_shows_the_current_content(as_role) -> None:  # type: ignore[no-untyped-def]
    client = as_role("manager")
    save(
        client,
        "/admin/campaigns/new",
        starts_at="2027-03-01T08:30",
        **{"fixed-0-id": "board", "fixed-0-name": "The Board", "fixed-0-phone": "555-0100"},
    )
    page = client.get("/admin/c/fund-safe-homes/edit").get_data(as_text=True)
    assert 'value="2027-03-01T08:30"' in page
    assert 'value="The Board"' in page
    assert 'id="fixed-1-name"' in page  # an empty row to add one more


def test_status_moves_follow_the_allowed_transitions(
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    client = as_role("manager")
    save(client, "/admin/campaigns/new")
    assert client.get("/c/fund-safe-homes").status_code == 404  # drafts are not public
    steps = [
        ("pause", "draft"),
        ("launch", "live"),
        ("launch", "live"),
        ("pause", "paused"),
        ("resume", "live"),
        ("close", "closed"),
        ("launch", "closed"),
    ]
    for verb, expected in steps:
        response = client.post("/admin/c/fund-safe-homes/status", data={"verb": verb})
        assert response.status_code == 303
        assert campaign("fund-safe-homes").status == expected, verb
    numbers = [v.number for v in campaign("fund-safe-homes").versions]
    assert numbers == [1, 2, 3, 4, 5]  # each real move is a new version
    assert "closed" in client.get("/c/fund-safe-homes").get_data(as_text=True)


def test_a_schedule_opens_and_closes_the_campaign_on_time(
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    client = as_role("manager")
    opens = datetime.now(UTC) + timedelta(days=2)
    save(
        client,
        "/admin/campaigns/new",
        status="live",
        starts_at=opens.strftime("%Y-%m-%dT%H:%M"),
        ends_at=(opens + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"),
    )
    scheduled = campaign("fund-safe-homes")
    assert "opens on" in client.get("/c/fund-safe-homes").get_data(as_text=True)
    assert campaign_service.public_state(scheduled).key == "scheduled"
    assert campaign_service.public_state(scheduled, opens + timedelta(minutes=1)).key == "live"
    assert campaign_service.public_state(scheduled, opens + timedelta(days=8)).key == "ended"


def test_times_are_read_in_the_site_time_zone(
    other_app,
    staff: dict[str, str],  # type: ignore[no-untyped-def]
) -> None:
    from tests.admin.conftest import sign_in

    with other_app(TIMEZONE="America/New_York") as eastern:
        client = eastern.test_client()
        sign_in(client, staff["manager"])
        save(client, "/admin/campaigns/new", starts_at="2027-01-15T09:00")
        assert campaign("fund-safe-homes").starts_at == datetime(2027, 1, 15, 14, 0, tzinfo=UTC)


def test_clone_and_archive(as_role) -> None:  # type: ignore[no-untyped-def]
    client = as_role("manager")
    save(client, "/admin/campaigns/new", status="live")
    response = client.post("/admin/c/fund-safe-homes/clone")
    assert response.headers["Location"] == "/admin/c/fund-safe-homes-copy/edit"
    copy = campaign("fund-safe-homes-copy")
    assert copy.status == "draft" and copy.source == "admin"
    client.post("/admin/c/fund-safe-homes/clone")
    assert campaign("fund-safe-homes-copy-2").status == "draft"
    client.post("/admin/c/fund-safe-homes/archive")
    archived = campaign("fund-safe-homes")
    assert archived.status == "closed" and archived.archived_at is not None
    assert "fund-safe-homes\n" not in client.get("/admin/campaigns").get_data(as_text=True)
    listing = client.get("/admin/campaigns?archived=1").get_data(as_text=True)
    assert '/admin/c/fund-safe-homes"' in listing


def test_a_file_defined_campaign_is_edited_by_its_file_until_taken_over(
    app: Flask,
    as_role,
    campaigns: Path,  # type: ignore[no-untyped-def]
) -> None:
    client = as_role("manager")
    slug = "oppose-buyer-immunity"
    page = client.get(f"/admin/c/{slug}/edit").get_data(as_text=True)
    assert "defined by the file" in page and 'name="save"' not in page
    form = client.get(f"/admin/c/{slug}/edit").get_data(as_text=True)
    title = re.search(r'id="title" name="title" type="text" value="([^"]+)"', form)
    assert title and title.group(1) == "Keep buyers of children accountable in every state"
    response = client.post(f"/admin/c/{slug}/edit", data={**NEW, "slug": slug, "save": "1"})
    assert response.status_code == 303
    assert campaign(slug).current_version.number == 1  # type: ignore[union-attr]
    response = client.post(f"/admin/c/{slug}/status", data={"verb": "pause"})
    assert campaign(slug).status == "live"
    client.post(f"/admin/c/{slug}/take-over")
    assert campaign(slug).source == "admin"
    client.post(f"/admin/c/{slug}/status", data={"verb": "pause"})
    assert campaign(slug).status == "paused"
    # The file no longer wins: a sync leaves the site's version alone.
    report = campaign_service.sync_folder(campaigns)
    assert any(slug in skipped for skipped in report.skipped)
    assert campaign(slug).status == "paused"


# -- warnings about how the filled message reads -------------------------------------------------

NO_CITY_BODY = (
    "Dear {{ target.salutation }},\n\n"
    "As your constituent in {{ constituent.city }}, please fund shelter beds.\n\n"
    "{{ constituent.name }}"
)


def test_preview_lists_the_warnings_with_the_sample_named(
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    client = as_role("manager")
    response = client.post("/admin/campaigns/new", data={**NEW, "body": NO_CITY_BODY,
                                                         "preview": "1"})  # fmt: skip
    assert response.status_code == 200
    text = visible_text(response)
    assert "1 warning: the message reads wrong for some visitors" in text
    assert (
        "Message body: {{ constituent.city }} is empty for this sample, leaving an empty "
        'interpolation: "in ,".'
    ) in text
    assert (
        "Sample visitor: district chosen by hand, no city (NH), writing to Representative "
        "Whitfield (House district Merrimack 18) (and 1 more sample)."
    ) in text
    assert "Filled in: As your constituent in , please fund shelter beds." in text
    assert "Shelter beds for New Hampshire" in text  # the preview is there too
    page = response.get_data(as_text=True)
    assert '<a href="#body">Message body</a>' in page
    assert db.session.scalar(select(Campaign).where(Campaign.slug == "fund-safe-homes")) is None


def test_a_message_that_reads_right_has_no_warnings(as_role) -> None:  # type: ignore[no-untyped-def]
    client = as_role("manager")
    guarded = NO_CITY_BODY.replace(
        "constituent in {{ constituent.city }},",
        "constituent{% if constituent.city %} in {{ constituent.city }}{% endif %},",
    )
    text = visible_text(client.post("/admin/campaigns/new", data={**NEW, "body": guarded,
                                                                  "preview": "1"}))  # fmt: skip
    assert "warning" not in text.lower()
    assert "As your constituent in Springfield, please fund shelter beds." in text


def test_saving_with_warnings_saves_and_lists_them(as_role) -> None:  # type: ignore[no-untyped-def]
    client = as_role("manager")
    response = save(client, "/admin/campaigns/new", body=NO_CITY_BODY)
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/c/fund-safe-homes/edit"
    assert campaign("fund-safe-homes").current_version.number == 1  # type: ignore[union-attr]
    text = visible_text(client.get(response.headers["Location"]))
    assert "Created fund-safe-homes (version 1)." in text
    assert "1 warning about how the message reads for some visitors: see the list below." in text
    assert "Sample visitor: district chosen by hand, no city (NH)" in text
    # Fixed: saved, and back to the campaign's page with no warnings.
    guarded = NO_CITY_BODY.replace("in {{ constituent.city }},", "in our state,")
    response = save(client, "/admin/c/fund-safe-homes/edit", body=guarded)
    assert response.headers["Location"] == "/admin/c/fund-safe-homes"
    assert "warning" not in visible_text(client.get("/admin/c/fund-safe-homes/edit")).lower()


def test_a_fixed_recipients_own_message_is_checked_and_named(
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    client = as_role("manager")
    response = client.post(
        "/admin/campaigns/new",
        data={
            **NEW,
            "preview": "1",
            "fixed-0-id": "board",
            "fixed-0-name": "The Board",
            "fixed-0-email": "board@example.org",
            "fixed-0-message_subject": "A letter",
            "fixed-0-message_body": "I write from {{ constituent.city }}, thank you.",
        },
    )
    text = visible_text(response)
    assert (
        "The Board: Own letter for this recipient (optional): {{ constituent.city }} is empty "
        'for this sample, leaving an empty interpolation: "from ,".'
    ) in text
    assert (
        "Sample visitor: district chosen by hand, no city (NH), writing to The Board "
        "(its own message)."
    ) in text
    assert '<a href="#fixed-0-message_body">' in response.get_data(as_text=True)


# -- the newer campaign fields ---------------------------------------------------------------------


def test_own_message_call_script_goal_and_receipt_are_saved_and_shown(
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    client = as_role("manager")
    board = {
        "fixed-0-id": "board",
        "fixed-0-name": "The Board",
        "fixed-0-phone": "555-0100",
        "fixed-0-message_subject": "Thank you, {{ target.name }}",
        "fixed-0-message_body": "Dear Board,\r\n\r\nThank you.\r\n\r\n{{ constituent.name }}",
        "fixed-0-call_script": "Hello, I am calling to thank the Board.",
    }
    response = save(client, "/admin/campaigns/new", goal="2500", receipt="", **board)
    assert response.status_code == 303, response.get_data(as_text=True)
    definition = campaign_service.definition_of(
        campaign("fund-safe-homes").current_version  # type: ignore[arg-type]
    )
    [target] = definition.fixed_targets
    assert target.message is not None
    assert target.message.subject == "Thank you, {{ target.name }}"
    assert target.message.body == "Dear Board,\n\nThank you.\n\n{{ constituent.name }}"
    assert target.call_script == "Hello, I am calling to thank the Board."
    assert (definition.goal, definition.receipt) == (2500, False)

    page = client.get("/admin/c/fund-safe-homes/edit").get_data(as_text=True)
    values = form_values(page)
    assert values["fixed-0-message_subject"] == "Thank you, {{ target.name }}"
    assert values["fixed-0-message_body"] == "Dear Board,\n\nThank you.\n\n{{ constituent.name }}"
    assert values["fixed-0-call_script"] == "Hello, I am calling to thank the Board."
    assert values["goal"] == "2500" and "receipt" not in values
    text = visible_text(page)
    assert "Own letter for this recipient (optional)" in text
    assert "Email each visitor a receipt of what was sent for them" in text


def test_a_half_written_own_message_and_a_bad_goal_are_shown_beside_their_fields(
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    client = as_role("manager")
    page = save(
        client,
        "/admin/campaigns/new",
        goal="lots",
        **{"fixed-0-id": "board", "fixed-0-name": "The Board", "fixed-0-phone": "555-0100",
           "fixed-0-message_subject": "Only a subject"},
    ).get_data(as_text=True)  # fmt: skip
    assert "Please fill this in." in error_beside(page, "fixed-0-message_body")
    assert "integer" in error_beside(page, "goal")
    assert db.session.scalar(select(Campaign).where(Campaign.slug == "fund-safe-homes")) is None


def test_a_new_campaign_sends_receipts_unless_told_not_to(
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    client = as_role("manager")
    assert form_values(client.get("/admin/campaigns/new").get_data(as_text=True))["receipt"] == "y"


class _FormReader(HTMLParser):
    """The values a browser would submit from the page's editor form, as it shows them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.values: dict[str, str] = {}
        self.textarea: str | None = None
        self.select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {key: value or "" for key, value in attrs}
        name = found.get("name", "")
        if tag == "input" and found.get("type") in ("checkbox", "radio"):
            if "checked" in found:
                self.values[name] = found.get("value") or "on"
        elif tag == "input" and found.get("type") not in ("submit", "button"):
            self.values[name] = found.get("value", "")
        elif tag == "textarea":
            self.textarea, self.values[name] = name, ""
        elif tag == "select":
            self.select = name
        elif (
            tag == "option"
            and self.select
            and ("selected" in found or self.select not in self.values)
        ):
            self.values[self.select] = found.get("value", "")  # fmt: skip

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self.textarea = None
        elif tag == "select":
            self.select = None

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.values[self.textarea] += data


def form_values(page: str) -> dict[str, str]:
    reader = _FormReader()
    reader.feed(page)
    # A browser drops the newline right after <textarea>, and sends lines ending in CR LF.
    return {
        name: (value[2:] if value.startswith("\r\n") else value).replace("\r\n", "\n")
        for name, value in reader.values.items()
        if name
    }


@pytest.mark.parametrize(
    ("slug", "added"),
    [
        ("oppose-buyer-immunity", ""),
        ("every-exploited-child-is-a-victim", ""),
        ("every-exploited-child-is-a-victim", "limits:\n  per_legislator_per_day: 40\ngoal: 900\n"),
        ("oppose-buyer-immunity", "follow_up:\n  days: 14\n  public_results: true\n"),
    ],
    ids=["oppose-buyer-immunity", "every-exploited-child", "with-a-cap-and-a-goal", "follow-up"],
)
def test_a_file_defined_campaign_round_trips_through_the_editor(
    as_role,
    campaigns: Path,
    slug: str,
    added: str,  # type: ignore[no-untyped-def]
) -> None:
    if added:
        path = campaigns / f"{slug}.yaml"
        path.write_text(path.read_text() + added)
        campaign_service.sync_folder(campaigns)
    client = as_role("manager")
    before = campaign(slug).current_version
    assert before is not None
    original = campaign_service.definition_of(before)
    values = form_values(client.get(f"/admin/c/{slug}/edit").get_data(as_text=True))
    client.post(f"/admin/c/{slug}/take-over")
    response = client.post(f"/admin/c/{slug}/edit", data={**values, "save": "1"})
    assert response.status_code == 303, visible_text(response)
    after = campaign(slug).current_version
    assert after is not None and after.number == before.number  # nothing changed
    assert content_hash(campaign_service.definition_of(after)) == content_hash(original)
    followed = visible_text(client.get(response.headers["Location"]))
    assert "Nothing changed, so no new version was made." in followed


# -- committee and executive targets ---------------------------------------------------------------

MIXED = """\
slug: mixed-targets
title: Mixed targets
summary: Every kind of recipient, in an order of its own.
status: live
targets:
  - type: fixed
    id: board
    name: The Board
    email: board@example.org
  - type: committee
    state: NH
    chamber: lower
    committee: Judiciary
    roles: [vice chair, chair]
    members: representing_visitor
    call_script: Hello, I am calling the committee.
  - type: state_legislators
    chambers: upper
  - type: executive
    office: attorney general
    message:
      subject: For the Attorney General
      body: |
        Dear {{ target.salutation }},

        Please act.

        {{ constituent.name }}
  - type: committee
    state: NE
    chamber: legislature
    committee: ocd-organization/7cd46649-f205-4598-9ee7-e55c93061e0c
message:
  subject: Please act
  mode: editable
  body: |
    Dear {{ target.salutation }},

    Please act.

    {{ constituent.name }}
"""


def test_committee_and_executive_targets_round_trip_through_the_editor_in_their_order(
    as_role,  # type: ignore[no-untyped-def]
    campaigns_dir: Path,
) -> None:
    (campaigns_dir / "mixed-targets.yaml").write_text(MIXED, encoding="utf-8")
    assert not campaign_service.sync_folder(campaigns_dir).problems
    client = as_role("manager")
    before = campaign("mixed-targets").current_version
    assert before is not None
    page = client.get("/admin/c/mixed-targets/edit").get_data(as_text=True)
    values = form_values(page)
    assert (values["committees-0-state"], values["committees-0-chamber"]) == ("NH", "lower")
    assert values["committees-0-roles"] == "chair,vice chair"
    assert values["committees-0-members"] == "representing_visitor"
    assert values["executives-0-office"] == "attorney general"
    assert values["executives-0-message_subject"] == "For the Attorney General"
    rows = ("fixed-0", "committees-0", "executives-0", "committees-1")
    assert [values[f"{row}-position"] for row in rows] == ["0", "1", "3", "4"]
    assert values["chambers_position"] == "2"
    text = visible_text(page)
    assert "Committee: NH Judiciary" in text
    assert "The visitor's state's attorney general" in text
    assert "Add a committee (its members, or only its chair)" in text
    client.post("/admin/c/mixed-targets/take-over")
    response = client.post("/admin/c/mixed-targets/edit", data={**values, "save": "1"})
    assert response.status_code == 303, visible_text(response)
    after = campaign("mixed-targets").current_version
    assert after is not None and after.number == before.number
    assert content_hash(campaign_service.definition_of(after)) == content_hash(
        campaign_service.definition_of(before)
    )


def test_a_committee_and_an_office_added_in_the_editor(
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    client = as_role("manager")
    added = {
        "chambers": "",
        "committees-0-state": "NH",
        "committees-0-chamber": "lower",
        "committees-0-committee": "",
        "committees-0-roles": "chair",
        "committees-0-members": "all",
        "executives-0-office": "governor",
        "executives-0-message_subject": "Only a subject",
    }
    page = save(client, "/admin/campaigns/new", **added).get_data(as_text=True)
    assert "Please fill this in." in error_beside(page, "committees-0-committee")
    assert "Please fill this in." in error_beside(page, "executives-0-message_body")
    fixed = {**added, "committees-0-committee": "Judiciary", "executives-0-message_subject": ""}
    response = save(client, "/admin/campaigns/new", **fixed)
    assert response.status_code == 303, visible_text(response)
    definition = campaign_service.definition_of(
        campaign("fund-safe-homes").current_version  # type: ignore[arg-type]
    )
    assert definition.model_dump(mode="json")["targets"] == [
        {"type": "committee", "state": "NH", "chamber": "lower", "committee": "Judiciary",
         "roles": ["chair"]},
        {"type": "executive", "office": "governor"},
    ]  # fmt: skip


def test_the_preview_writes_to_the_committee_and_the_office_as_the_directory_has_them(
    as_role,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    from tests.lookup.offices_world import sync_nh

    sync_nh(tmp_path / "repo")
    client = as_role("manager")
    data = {
        **NEW,
        "chambers": "",
        "preview": "1",
        "committees-0-state": "NH",
        "committees-0-chamber": "lower",
        "committees-0-committee": "Judiciary",
        "committees-0-roles": "chair",
        "committees-0-members": "all",
        "executives-0-office": "governor",
        "executives-1-office": "treasurer",
    }
    text = visible_text(client.post("/admin/campaigns/new", data=data))
    assert "To Representative Birch (Chair, House Judiciary Committee)" in text
    assert "To Governor Ayres (Governor of New Hampshire)" in text
    assert (
        "We have no record of who is Treasurer of New Hampshire right now, so no message goes "
        "to that office." in text
    )
    data["committees-0-committee"] = "Jurisprudence"
    text = visible_text(client.post("/admin/campaigns/new", data=data))
    assert "Not found: NH lower: no committee named 'Jurisprudence' in the directory" in text


def test_did_they_reply_is_saved_shown_and_checked_beside_its_fields(
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    client = as_role("manager")
    page = save(client, "/admin/campaigns/new", follow_up_days="91").get_data(as_text=True)
    assert "less than or equal to 90" in error_beside(page, "follow_up_days")
    page = save(
        client, "/admin/campaigns/new", follow_up_days="14", follow_up_min_answers="none"
    ).get_data(as_text=True)
    assert "integer" in error_beside(page, "follow_up_min_answers")
    page = save(client, "/admin/campaigns/new", follow_up_public="y").get_data(as_text=True)
    assert "Please fill this in." in error_beside(page, "follow_up_days")
    assert db.session.scalar(select(Campaign).where(Campaign.slug == "fund-safe-homes")) is None

    response = save(
        client,
        "/admin/campaigns/new",
        follow_up_days="14",
        follow_up_public="y",
        follow_up_min_answers="3",
    )
    assert response.status_code == 303
    version = campaign("fund-safe-homes").current_version
    assert version is not None
    assert version.definition["follow_up"] == {"days": 14, "public_results": True, "min_answers": 3}
    values = form_values(client.get("/admin/c/fund-safe-homes/edit").get_data(as_text=True))
    assert (values["follow_up_days"], values["follow_up_min_answers"]) == ("14", "3")
    assert values["follow_up_public"] == "y"
    text = visible_text(client.get("/admin/c/fund-safe-homes/edit"))
    assert "Did they reply?" in text
    assert 'Ask "did they reply?" after this many days (optional, 1 to 90)' in text


def test_the_daily_digest_is_chosen_in_the_editor_and_kept(
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    client = as_role("manager")
    new_page = client.get("/admin/campaigns/new").get_data(as_text=True)
    assert form_values(new_page)["delivery"] == "each"
    text = visible_text(new_page)
    assert "How legislators and officials get the messages" in text
    assert "One daily digest per legislator or official, of all the day's messages" in text
    response = save(client, "/admin/campaigns/new", delivery="digest")
    assert response.status_code == 303, response.get_data(as_text=True)
    definition = campaign_service.definition_of(
        campaign("fund-safe-homes").current_version  # type: ignore[arg-type]
    )
    assert definition.digest
    page = client.get("/admin/c/fund-safe-homes/edit").get_data(as_text=True)
    assert form_values(page)["delivery"] == "digest"
    refused = save(client, "/admin/c/fund-safe-homes/edit", delivery="weekly")
    assert refused.status_code == 400
    assert "Not a valid choice" in error_beside(refused.get_data(as_text=True), "delivery")
