"""The shipped jobs: directory refresh, campaign schedule, retention, dead-letter alerts."""

from __future__ import annotations

import logging
import os
import sys
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from advocacy.actions.models import Contact
from advocacy.admin.models import AuditEntry
from advocacy.campaigns import service as campaign_service
from advocacy.campaigns.models import Campaign, CampaignVersion
from advocacy.config import smtp_settings
from advocacy.dbtypes import utcnow
from advocacy.delivery import outbox
from advocacy.delivery.models import OutboxMessage
from advocacy.delivery.worker import Worker
from advocacy.extensions import db
from advocacy.jobs.alerts import AUDIT_ACTION, check_dead_letters
from advocacy.jobs.registry import get_job
from advocacy.jobs.runner import RunResult, run_job
from advocacy.lookup.directory import sync_states
from advocacy.lookup.models import DirectoryState, Legislator, LookupCacheEntry
from advocacy.lookup.openstates import BulkPeopleSource, people_source
from advocacy.lookup.registry import STATES
from tests.delivery.factory import make_campaign, queue_contacts
from tests.lookup.people import ROSTERS, Row, write_all
from tests.lookup.yaml_people import person, write_nh

from .conftest import SMTPServer, free_port


def run(name: str) -> RunResult:
    spec = get_job(name)
    assert spec is not None
    return run_job(spec, "test-host")


def audit(action: str) -> list[AuditEntry]:
    db.session.expire_all()
    entries = list(
        db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
    )
    db.session.commit()
    return entries


# -- directory-refresh ----------------------------------------------------------------------


def test_directory_refresh_reloads_the_chosen_states(app: Flask, tmp_path: Path) -> None:
    people = tmp_path / "people"
    write_all(people)
    app.config["OPENSTATES_DATA_URL"] = str(people)
    sync_states(BulkPeopleSource(str(people)), ["nh", "vt"])
    result = run("directory-refresh")
    assert result.status == "ok" and result.detail == (
        "2 of 2 state(s) reloaded; photos: 0 downloaded (0.0 MB), 0 unchanged, 0 failed, "
        f"{len(ROSTERS['nh']) + len(ROSTERS['vt'])} without a photo URL, 0 removed"
    )
    assert {row.state for row in db.session.scalars(sa.select(DirectoryState))} == {"nh", "vt"}
    [entry] = audit("directory.refreshed")
    assert entry.actor == "scheduler" and entry.subject == "NH,VT"


def test_directory_refresh_with_no_state_loaded_tries_every_state(
    app: Flask, tmp_path: Path
) -> None:
    app.config["OPENSTATES_DATA_URL"] = str(tmp_path / "no-people")
    result = run("directory-refresh")
    assert result.status == "failed"
    assert f"0 of {len(STATES)} state(s) reloaded" in result.detail


def test_directory_refresh_failure_is_logged_once_and_others_still_load(
    app: Flask, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    people = tmp_path / "people"
    write_all(people)
    app.config["OPENSTATES_DATA_URL"] = str(people)
    sync_states(BulkPeopleSource(str(people)), ["nh", "mn"])
    (people / "mn.csv").unlink()
    with caplog.at_level(logging.INFO):
        result = run("directory-refresh")
    assert result.status == "failed"
    assert "1 of 2 state(s) reloaded; failed: MN (cannot read" in result.detail
    # Minnesota keeps the roster it had.
    assert {row.state for row in db.session.scalars(sa.select(DirectoryState))} == {"nh", "mn"}
    warnings = [r for r in caplog.records if "not reloaded" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert "MN" in warnings[0].getMessage()
    assert sorted(ROSTERS)  # the fixture data exists


def test_the_scheduled_refresh_never_accepts_a_large_change_and_alerts_staff(
    app: Flask, tmp_path: Path, smtp_server: SMTPServer
) -> None:
    app.config.update(
        smtp_settings(f"smtp://127.0.0.1:{smtp_server.port}"),
        DELIVERY_MODE="redirect",
        REDIRECT_TO="rehearsal@speakup.example.org",
        MAIL_FROM="advocacy@speakup.example.org",
        ALERT_EMAIL="staff@speakup.example.org",
    )
    sam, ada, ben, cy, di, ed = ROSTERS["nh"]
    root = write_nh(tmp_path / "yaml", [person("nh", row) for row in ROSTERS["nh"]])
    app.config["OPENSTATES_DATA_URL"] = str(root)
    assert sync_states(people_source(str(root)), ["nh"])[0].ok
    newcomers = [Row("lower", "Hillsborough 23", name, "New") for name in ("Gus", "Hal")]
    write_nh(root, [person("nh", row) for row in (sam, cy, di, ed, *newcomers)])
    result = run("directory-refresh")
    assert result.status == "failed"
    assert "0 of 1 state(s) reloaded; failed: NH (NH: the new roster would remove 2 of the 6" in (
        result.detail
    )
    names = set(db.session.scalars(sa.select(Legislator.name).where(Legislator.state == "nh")))
    assert names == {row.name for row in ROSTERS["nh"]}
    Worker("alerts").run_batch()  # the alert goes the way of the delivery mode
    [mail] = smtp_server.received
    assert mail.rcpt_tos == ("rehearsal@speakup.example.org",)
    assert mail.message["X-Original-To"] == "staff@speakup.example.org"
    assert mail.message["Subject"] == "[Speak Up] Legislator directory: refresh refused for NH"
    assert "would remove: Ada Alder, Ben Birch" in mail.message.get_content()


# -- campaign-schedule ------------------------------------------------------------------------


def scheduled_campaign(slug: str, starts_in: timedelta, ends_in: timedelta | None) -> Campaign:
    campaign = make_campaign(slug)
    now = utcnow()
    campaign.starts_at = now + starts_in
    campaign.ends_at = now + ends_in if ends_in is not None else None
    version = db.session.get(CampaignVersion, campaign.current_version_id)
    assert version is not None
    version.created_at = now - timedelta(days=2)  # saved before both times
    db.session.commit()
    return campaign


def test_campaign_schedule_records_each_transition_once(app: Flask) -> None:
    opened = scheduled_campaign("opens-now", -timedelta(minutes=1), timedelta(days=3))
    ended = scheduled_campaign("ended-now", -timedelta(days=1), -timedelta(minutes=1))
    later = scheduled_campaign("opens-later", timedelta(hours=1), None)
    assert campaign_service.public_state(opened).key == "live"
    assert campaign_service.public_state(ended).key == "ended"
    assert campaign_service.public_state(later).key == "scheduled"

    assert run("campaign-schedule").detail == "2 opened, 1 ended"
    opened_entries = audit("campaign.opened_by_schedule")
    assert sorted(e.subject for e in opened_entries) == ["ended-now", "opens-now"]
    [end] = audit("campaign.ended_by_schedule")
    assert end.subject == "ended-now" and end.actor == "scheduler"
    assert end.detail["at"] == ended.ends_at.isoformat()  # type: ignore[union-attr]
    # Idempotent; the status is left alone (visibility already follows the times).
    assert run("campaign-schedule").detail == "0 opened, 0 ended"
    db.session.expire_all()
    assert db.session.get(Campaign, ended.id).status == "live"  # type: ignore[union-attr]

    # A new end time is a new event.
    ended.ends_at = utcnow() - timedelta(seconds=5)
    db.session.commit()
    assert run("campaign-schedule").detail == "0 opened, 1 ended"


def test_campaign_launched_after_its_start_is_not_an_opening_by_schedule(app: Flask) -> None:
    campaign = make_campaign("launched-late")
    campaign.starts_at = utcnow() - timedelta(days=1)  # before its version was saved
    db.session.commit()
    assert run("campaign-schedule").detail == "0 opened, 0 ended"


# -- retention --------------------------------------------------------------------------------


def test_retention_calls_apply_retention_with_the_run_time(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    from advocacy.exports import retention

    seen = []

    class Report:
        message = "removed personal data of 3 action(s)"

    def fake(now=None):  # type: ignore[no-untyped-def]
        seen.append(now)
        return Report()

    monkeypatch.setattr(retention, "apply_retention", fake)
    result = run("retention")
    assert result.status == "ok" and result.detail == "removed personal data of 3 action(s)"
    assert len(seen) == 1 and seen[0] is not None


def test_retention_real_call_is_off_by_default(app: Flask) -> None:
    result = run("retention")
    assert result.status == "ok" and "retention is off" in result.detail


def test_the_retention_job_removes_expired_lookups_and_old_mail_log_files(
    app: Flask, tmp_path: Path
) -> None:
    folder = Path(app.config["MAIL_LOG_DIR"])
    folder.mkdir(parents=True)
    app.config["RETENTION_DAYS"] = 30
    now = utcnow()
    for name, age in (("contact-1.eml", 31), ("contact-2.eml", 29)):
        (folder / name).write_text("To: rep@legislature.example.gov\n\nJane Voter\n")
        stamp = (now - timedelta(days=age)).timestamp()
        os.utime(folder / name, (stamp, stamp))
    for key, expires_at in (("old", now - timedelta(hours=1)), ("new", now + timedelta(days=1))):
        db.session.add(
            LookupCacheEntry(
                key=key, payload={"matched_address": "1 MAIN ST"}, expires_at=expires_at
            )
        )
    db.session.commit()
    result = run("retention")
    assert result.status == "ok", result.detail
    assert "1 mail-log file(s)" in result.detail
    assert "1 expired address lookup(s) removed" in result.detail
    assert [p.name for p in folder.iterdir()] == ["contact-2.eml"]
    assert list(db.session.scalars(sa.select(LookupCacheEntry.key))) == ["new"]


def test_retention_module_missing_fails_plainly(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "advocacy.exports.retention", None)
    result = run("retention")
    assert result.status == "failed"
    assert "advocacy.exports.retention) is not installed" in result.detail


# -- dead-letter-alert ------------------------------------------------------------------------


def kill(contact_ids: list[int], minutes_ago: float = 5, error: str = "550 no such user") -> None:
    db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.contact_id.in_(contact_ids))
        .values(
            status="dead",
            last_error=error,
            updated_at=utcnow() - timedelta(minutes=minutes_ago),
        )
    )
    db.session.commit()


@pytest.fixture
def alert_config(app: Flask, smtp_server: SMTPServer) -> Flask:
    app.config.update(
        smtp_settings(f"smtp://127.0.0.1:{smtp_server.port}"),
        DELIVERY_MODE="smtp",
        MAIL_FROM="advocacy@speakup.example.org",
        ALERT_EMAIL="staff@speakup.example.org",
        SITE_URL="https://speakup.example.org",
    )
    return app


def test_new_dead_letters_send_one_alert_to_staff(
    alert_config: Flask, smtp_server: SMTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    ids = queue_contacts(4, name="Jane Voter", email="jane.voter@example.com")
    kill(ids[:2])
    result = run("dead-letter-alert")
    assert result.detail == "2 new dead letter(s); alert sent to staff@speakup.example.org"
    received = smtp_server.received
    assert len(received) == 1
    mail = received[0]
    assert mail.rcpt_tos == ("staff@speakup.example.org",)
    message = mail.message
    assert message["Subject"] == "[Speak Up] 2 message(s) dead-lettered"
    body = message.get_content()
    assert "protect-children: 2" in body and "550 no such user" in body
    assert "https://speakup.example.org/admin/c/protect-children" in body
    assert "Jane Voter" not in body and "jane.voter@example.com" not in body
    [entry] = audit(AUDIT_ACTION)
    assert entry.detail["count"] == 2 and entry.detail["mailed_to"] == "staff@speakup.example.org"

    # Nothing new: no second mail.
    assert run("dead-letter-alert").detail == "no new dead letters"
    assert len(smtp_server.received) == 1
    # A new one, a moment ago: left for the next check (a worker may still be committing
    # outcomes stamped just before the check), which alerts about it alone.
    kill(ids[2:3], minutes_ago=0.1)
    assert run("dead-letter-alert").detail == "no new dead letters"
    caplog.clear()
    with caplog.at_level(logging.INFO):
        detail = check_dead_letters(utcnow() + timedelta(minutes=1))
    assert detail == "1 new dead letter(s); alert sent to staff@speakup.example.org"
    assert len(smtp_server.received) == 2
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in errors] == ["1 new dead letter(s): protect-children 1"]


def test_dead_confirmation_mails_are_alerted_without_the_constituents_address(
    alert_config: Flask, smtp_server: SMTPServer
) -> None:
    """Confirmation mails (no contact; the campaign is their action's) count like the rest."""
    kill(queue_contacts(1))
    other = queue_contacts(1, campaign_slug="other-campaign")
    contact = db.session.get(Contact, other[0])
    assert contact is not None
    confirmation = outbox.queue("confirmation", action_id=contact.action_id)
    confirmation.status = "dead"
    confirmation.last_error = (
        "550 5.1.1 <jane.voter@example.com>: no such user jane.voter@example.com"
    )
    confirmation.updated_at = utcnow() - timedelta(minutes=5)
    db.session.commit()

    result = run("dead-letter-alert")
    assert result.detail == "2 new dead letter(s); alert sent to staff@speakup.example.org"
    body = smtp_server.received[0].message.get_content()
    assert "other-campaign: 1" in body and "protect-children: 1" in body
    assert "1 of them are confirmation mails to constituents" in body
    assert "550 5.1.1 <(constituent's address)>: no such user" in body
    assert "jane.voter@example.com" not in body
    [entry] = audit(AUDIT_ACTION)
    assert entry.detail["count"] == 2 and entry.detail["confirmations"] == 1


def test_alert_mail_failure_fails_the_job_and_alerts_next_time(
    alert_config: Flask, smtp_server: SMTPServer
) -> None:
    ids = queue_contacts(2)
    kill(ids)
    alert_config.config.update(smtp_settings(f"smtp://127.0.0.1:{free_port()}"))  # server down
    result = run("dead-letter-alert")
    assert result.status == "failed" and "the alert mail was not sent" in result.detail
    assert audit(AUDIT_ACTION) == []
    alert_config.config.update(smtp_settings(f"smtp://127.0.0.1:{smtp_server.port}"))
    assert run("dead-letter-alert").status == "ok"
    assert len(smtp_server.received) == 1
    assert "2 message(s)" in smtp_server.received[0].message["Subject"]


def test_alert_in_log_mode_goes_to_the_mail_log(app: Flask) -> None:
    app.config.update(DELIVERY_MODE="log", ALERT_EMAIL="staff@speakup.example.org")
    kill(queue_contacts(1))
    result = run("dead-letter-alert")
    assert result.status == "ok"
    [written] = list(Path(app.config["MAIL_LOG_DIR"]).glob("alert-*.eml"))
    message = message_from_bytes(written.read_bytes(), policy=policy.default)
    assert message["To"] == "staff@speakup.example.org"
    assert "1 message(s) could not be delivered" in message.get_content()


def test_without_alert_email_the_alert_is_only_logged(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["DELIVERY_MODE"] = "log"
    kill(queue_contacts(3))
    with caplog.at_level(logging.ERROR):
        result = run("dead-letter-alert")
    assert result.detail == "3 new dead letter(s); no ADVOCACY_ALERT_EMAIL, logged only"
    assert not Path(app.config["MAIL_LOG_DIR"]).exists()
    assert any("3 new dead letter(s)" in r.getMessage() for r in caplog.records)
