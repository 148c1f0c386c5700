"""The call list says which office each number reaches, the capitol office first, on the
thank-you page and in the receipt (numbers from Open States' YAML offices)."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from advocacy.delivery.worker import Worker
from advocacy.lookup.directory import sync_states
from advocacy.lookup.openstates import people_source
from tests.actions.helpers import BOTH, start, submission_key
from tests.lookup.people import ROSTERS
from tests.lookup.yaml_people import person, write_repo
from tests.text import visible_text


def test_each_number_names_its_office_with_the_capitol_first(
    app: Flask, ready: FlaskClient, tmp_path: Path
) -> None:
    sam, ada, ben, *others = ROSTERS["nh"]
    district = {"classification": "district", "address": "1 Elm St", "voice": "603-555-0101"}
    capitol = {"classification": "capitol", "address": "107 N Main St", "voice": "603-271-3661"}
    docs = [
        person("nh", sam),
        person(
            "nh",
            ada,
            offices=[district, capitol],
            extras={"extra phone": "800-555-0100"},
        ),
        person("nh", ben, offices=[{"classification": "district", "voice": "603-555-0102"}]),
        *(person("nh", row) for row in others),
    ]  # fmt: skip
    root = write_repo(tmp_path / "yaml", {"nh": docs})
    assert sync_states(people_source(str(root)), ["nh"])[0].ok

    page = start(ready, BOTH)
    response = ready.post(f"/c/{BOTH}/send", data={"submission_key": submission_key(page)})
    assert response.status_code == 303
    thanks = visible_text(ready.get(response.headers["Location"]))
    calls = thanks.split("Make a call too", 1)[1]
    assert (
        "Ada Alder\nCapitol office: 603-271-3661\nDistrict office: 603-555-0101\n"
        "Other office line: 800-555-0100\n"
    ) in calls
    assert "Ben Birch: 603-555-0102 (district office)\n" in calls
    assert "Sam Senator: 555-0100 (capitol office)\n" in calls
    assert "I called Ada Alder" in calls and "I called Ben Birch" in calls

    Worker("receipt").run_batch()
    [receipt] = Path(app.config["MAIL_LOG_DIR"]).glob("receipt-*.eml")
    mail = message_from_bytes(receipt.read_bytes(), policy=policy.default)
    body = mail.get_content().replace("\r\n", "\n")
    assert (
        "\nAda Alder: 603-271-3661 (capitol office), or 603-555-0101 (district office), or "
        "800-555-0100 (other office line)\n"
    ) in body
    assert "\nBen Birch: 603-555-0102 (district office)\n" in body
