"""The staff directory pages as staff read them: each state's last refresh, recent roster
changes, a state's history and who takes office later; refreshing from the page."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from advocacy.delivery.bounces import Notice, record_bounce
from advocacy.delivery.models import OutboxMessage
from advocacy.extensions import db
from advocacy.lookup.directory import site_today
from advocacy.lookup.models import Legislator
from tests.delivery.factory import ContactSpec, queue_specs
from tests.lookup.people import ROSTERS, Row
from tests.lookup.yaml_people import after_the_election, person, write_nh
from tests.text import visible_text


def row_of(text: str, state: str) -> list[str]:
    """A state's cells in the directory table: legislators, loaded, last refresh."""
    return text.split(f"\n{state}\n", 1)[1].split("\n")[:3]


def test_the_page_shows_each_refresh_and_who_joined_left_or_changed(
    app: Flask,
    as_role,
    directory: Path,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    starts = site_today() + timedelta(days=30)
    root = write_nh(tmp_path / "yaml", after_the_election(starts))
    app.config.update(OPENSTATES_DATA_URL=str(root), ALERT_EMAIL="staff@example.org")
    manager = as_role("manager")
    response = manager.post("/admin/directory/refresh", data={"state": "NH"})
    assert response.status_code == 303
    page = visible_text(manager.get(response.headers["Location"]))
    assert "NH: 7 legislators loaded; 2 joined, 1 left, 4 changed." in page
    assert db.session.scalar(select(OutboxMessage.kind)) == "alert"

    # Five of the seven replaced: refused, and said so.
    sam, _, _, cy, *_ = ROSTERS["nh"]
    newcomers = [
        Row("lower", "Hillsborough 40", name, "New") for name in ("Ann", "Bea", "Cy", "Dot", "Eva")
    ]
    write_nh(root, [person("nh", row) for row in (sam, cy, *newcomers)])
    refused = manager.post("/admin/directory/refresh", data={"state": "NH"})
    page = visible_text(manager.get(refused.headers["Location"]))
    assert (
        "NH: the new roster would remove 5 of the 7 legislators loaded now (more than a fifth), "
        "so it was refused and the previous roster kept."
    ) in page
    assert (
        db.session.scalar(select(Legislator.name).where(Legislator.name == "Gil Gale"))
        == "Gil Gale"
    )

    text = visible_text(as_role("organizer").get("/admin/directory"))
    assert "A state not reloaded for 14 days is marked stale." in text
    legislators, loaded, last = row_of(text, "New Hampshire")
    assert legislators == "7" and loaded.endswith(" UTC")
    assert last.endswith(": refused, it would remove 5 of 7; previous roster kept. NH history")
    assert row_of(text, "Vermont")[2].endswith(": 3 joined, 0 left, 0 changed. VT history")
    assert row_of(text, "Texas") == ["0", "never (stale)", "none recorded"]
    assert "Recent roster changes" in text
    recent = text.split("Recent roster changes", 1)[1]
    assert "Quinn Quince" not in recent  # a state's first load is not a change
    assert "Who joined, left, or changed district, party, email or phone in the last 30" in text
    for change in (
        f"NH\njoined\nFay Fir\nHouse, Hillsborough 23, Democratic; takes office {starts}",
        "NH\nleft\nAda Alder\nHouse, Hillsborough 23, Independent",
        "NH\nchanged\nBen Birch\ndistrict from Hillsborough 23 to Hillsborough 40",
        "NH\nchanged\nDi Dogwood\ncapitol phone from 555-0100 to 603-271-3661",
    ):
        assert change in text, change

    state = visible_text(as_role("organizer").get("/admin/directory/nh"))
    assert "New Hampshire: roster history" in state
    assert (
        "Taking office later\nLoaded, but no visitor's target until their term starts.\n"
        f"Fay Fir (House, Hillsborough 23), from {starts.isoformat()}"
    ) in state
    history = state.split("Last refreshes", 1)[1].split("\nChanges\n", 1)[0].splitlines()
    starts_at = [i for i, line in enumerate(history) if line.endswith(" UTC")]
    rows = [" | ".join(history[i + 1 : i + 8]) for i in starts_at]
    assert len(rows) == 3  # refused, loaded from the YAML, the fixture's first load
    assert rows[0].startswith(
        "manager@example.org | Refused, previous roster kept | 7 | 0 | 5 (would have) | 0 | "
        "NH: the new roster would remove 5 of the 7"
    )
    assert rows[1].startswith("manager@example.org | Loaded | 7 | 2 | 1 | 4 |")
    assert rows[2].startswith("cli | Loaded | 6 | 6 | 0 | 0")
    assert (
        "changed\nSam Senator\nemail from sam@leg.example.gov to sam.senator@leg.example.gov"
    ) in state
    assert as_role("organizer").get("/admin/directory/zz").status_code == 404


def test_the_page_lists_the_addresses_that_bounce(
    app: Flask,
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    page = visible_text(as_role("organizer").get("/admin/directory"))
    section = page.split("\nAddresses that bounce\n", 1)[1]
    assert "No message has bounced after it was sent." in section
    assert "Bounce addresses are off (ADVOCACY_BOUNCE_ADDRESS_PREFIX is empty)" in section

    ortiz = "ortiz@legislature.example.gov"
    ids = queue_specs(
        [
            ContactSpec(target_email=ortiz, target_name="Representative Ortiz"),
            ContactSpec(target_email=ortiz, target_name="Representative Ortiz"),
            ContactSpec(target_email="lee@legislature.example.gov", target_name="Senator Lee"),
            ContactSpec(target_email="kim@legislature.example.gov", target_name="Senator Kim"),
        ]
    )
    outbox = dict(
        db.session.execute(
            select(OutboxMessage.contact_id, OutboxMessage.id).where(
                OutboxMessage.contact_id.in_(ids)
            )
        ).all()
    )
    db.session.commit()
    notices = [
        Notice("failed", "5.1.1", "550 5.1.1 User unknown", ortiz),
        Notice("failed", "5.2.2", "552 5.2.2 Mailbox full", ortiz),
        Notice("failed", None, "Recipient address rejected: Access denied"),
        Notice("delayed", "4.4.1", "Connection timed out"),
    ]
    for contact_id, notice in zip(ids, notices, strict=True):
        record_bounce(outbox[contact_id], notice)
    app.config["BOUNCE_ADDRESS_PREFIX"] = "bounces"

    page = visible_text(as_role("organizer").get("/admin/directory"))
    section = page.split("\nAddresses that bounce\n", 1)[1]
    assert "Bounce notices are received by advocacy inbound." in section
    assert "Messages sent to these addresses came back later as undeliverable" in section
    assert "No message has bounced" not in section
    assert "Address\nWritten to as\nBounces\nLast bounce\nLast reason\n" in section
    rows = section.split("Last reason\n", 1)[1].splitlines()
    # The most recent first; the last reason of Ortiz's address is the mailbox that was full.
    assert rows[0:2] == ["lee@legislature.example.gov", "Senator Lee"]
    assert rows[2] == "1" and rows[3].endswith(" UTC")
    assert rows[4] == "Recipient address rejected: Access denied"
    assert rows[5:8] == [ortiz, "Representative Ortiz", "2"]
    assert rows[8].endswith(" UTC") and rows[9] == "552 5.2.2 Mailbox full"
    assert "kim@legislature.example.gov" not in section  # a delay is no bounce
