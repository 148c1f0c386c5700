"""Per-campaign cap on messages per legislator per day (``limits.per_legislator_per_day``)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from advocacy.actions.models import Action, Contact
from advocacy.campaigns import service as campaign_service
from advocacy.delivery.models import OutboxMessage
from advocacy.extensions import db
from tests.actions.helpers import LOWER, count, start, submission_key
from tests.text import visible_text


def cap(campaigns: Path, slug: str, per_day: int) -> None:
    path = campaigns / f"{slug}.yaml"
    path.write_text(path.read_text() + f"limits:\n  per_legislator_per_day: {per_day}\n")
    campaign_service.sync_folder(campaigns)


def act(app: Flask, email: str) -> tuple[str, str]:
    client = app.test_client()
    page = start(client, LOWER, email=email)
    response = client.post(f"/c/{LOWER}/send", data={"submission_key": submission_key(page)})
    assert response.status_code == 303
    return page, client.get(response.headers["Location"]).get_data(as_text=True)


def test_a_cap_of_one(app: Flask, ready: FlaskClient, campaigns: Path) -> None:
    cap(campaigns, LOWER, 1)
    first_page, _ = act(app, "first@example.org")
    assert "Daily limit reached" not in first_page
    first = list(db.session.scalars(select(Contact)))
    legislators = {c.target_id for c in first if c.target_kind == "legislator"}
    assert legislators and any(c.target_kind == "fixed" for c in first)
    before = count(OutboxMessage, OutboxMessage.kind == "contact")

    second_page, thanks = act(app, "second@example.org")
    assert "Daily limit reached" in second_page  # told before sending
    # ... and after, naming only the capped legislators: the letter still goes to ALI.
    said = visible_text(thanks)
    assert "so your message did not go to those offices" in said
    assert "American Law Institute has already received" not in said
    assert "The American Law Institute: your letter is ready. Please print it and post it" in said
    db.session.expire_all()
    second = db.session.scalar(select(Action).where(Action.id != first[0].action_id))
    assert second is not None
    assert set(second.capped_target_ids or []) == legislators
    # The fixed target (not a legislator) still gets this visitor's letter.
    assert [c.target_kind for c in second.contacts] == ["fixed"]
    assert count(OutboxMessage, OutboxMessage.kind == "contact") == before  # none to them

    # A new day (in ADVOCACY_TIMEZONE) starts a new count.
    for contact in db.session.scalars(select(Contact)):
        contact.created_at = contact.created_at - timedelta(days=1)
    db.session.commit()
    _, _ = act(app, "third@example.org")
    third = db.session.scalar(select(Action).order_by(Action.id.desc()).limit(1))
    assert third is not None and not third.capped_target_ids
    assert {c.target_id for c in third.contacts} >= legislators


def test_the_limit_is_validated(campaigns: Path, app: Flask) -> None:
    from advocacy.campaigns.loader import load_file

    path = campaigns / "bad.yaml"
    source = (Path(__file__).parents[2] / "campaigns" / f"{LOWER}.yaml").read_text()
    path.write_text(
        source.replace(f"slug: {LOWER}", "slug: bad") + "limits:\n  per_legislator_per_day: 0\n"
    )
    result = load_file(path)
    assert any("per_legislator_per_day" in str(p) for p in result.problems), result
