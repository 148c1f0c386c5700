"""Retention removes personal data from old actions and leaves every tally byte for byte the
same (``apply_retention`` is also what the scheduler calls)."""

from __future__ import annotations

import inspect
import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from advocacy.actions.models import Action, Constituent, Contact
from advocacy.admin.models import AuditEntry
from advocacy.campaigns.models import Campaign
from advocacy.exports import tallies
from advocacy.exports.retention import RetentionReport, apply_retention
from advocacy.extensions import db
from advocacy.lookup.models import LookupCacheEntry
from tests.exports.data import OTHER_SLUG, SLUG, utc

NOW = utc("2026-03-11 00:00")  # with 5 days: a1, a2, a3 (and the other campaign's) are old
EVERY_GROUPING = [
    "state",
    "chamber",
    "district",
    "legislator",
    "day",
    "channel",
    "status",
    "day,state,chamber,district,legislator,channel,status",
]


def exports(campaigns: list[Campaign]) -> dict[tuple[str, str, str], bytes]:
    out = {}
    for zone in ("UTC", "America/New_York", "Asia/Tokyo"):
        for campaign in campaigns:
            for by in EVERY_GROUPING:
                request = tallies.tally_request(campaign, by=by, zone_name=zone)
                out[(zone, campaign.slug, by)] = b"".join(tallies.csv_stream(request))
    return out


def snapshot_totals(campaign: Campaign) -> tuple[object, ...]:
    t = tallies.totals(tallies.tally_request(campaign))
    return (t.actions, t.contacts, t.by_channel, t.messages, t.personalised)


def by_email(email: str) -> list[Constituent]:
    return list(db.session.scalars(select(Constituent).where(Constituent.email == email)))


def test_signature_the_scheduler_relies_on() -> None:
    signature = inspect.signature(apply_retention)
    assert list(signature.parameters) == ["now"]
    assert signature.parameters["now"].default is None


def test_retention_keeps_every_tally_identical(app: Flask, seeded: Campaign) -> None:
    campaigns = list(db.session.scalars(select(Campaign).order_by(Campaign.id)))
    before = exports(campaigns)
    totals_before = snapshot_totals(seeded)
    app.config["RETENTION_DAYS"] = 5
    report = apply_retention(now=NOW)
    assert (report.enabled, report.days, report.cutoff) == (True, 5, utc("2026-03-06 00:00"))
    # a1, a3 and the other campaign's action; a2 waits for its queued message
    assert (report.actions, report.constituents, report.waiting_for_delivery) == (3, 3, 1)
    assert report.contacts == 4 + 2 + 1
    db.session.expire_all()
    assert exports(campaigns) == before
    assert snapshot_totals(seeded) == totals_before


def test_retention_removes_personal_data_of_old_actions(app: Flask, seeded: Campaign) -> None:
    app.config["RETENTION_DAYS"] = 5
    old_keys = {a.id: a.duplicate_key for a in db.session.scalars(select(Action))}
    apply_retention(now=NOW)
    db.session.expire_all()
    anonymised = [
        c for c in db.session.scalars(select(Constituent)) if c.anonymised_at is not None
    ]
    assert len(anonymised) == 3
    for person in anonymised:
        assert person.anonymised_at == NOW
        assert (person.name, person.email, person.phone, person.street_address) == (None,) * 4
        assert (person.city, person.zip_code) == (None, None)
        assert person.state in ("NH", "NE", "PA")  # kept: not personal on its own
    for action in db.session.scalars(select(Action)):
        if action.constituent.anonymised_at is None:
            assert action.matched_address is not None
            assert action.duplicate_key == old_keys[action.id]
            continue
        assert action.matched_address is None
        assert action.duplicate_key != old_keys[action.id]  # no longer a hash of the email
        assert len(action.duplicate_key) == 64
        for contact in action.contacts:
            assert (contact.subject, contact.body) == (None, None)
    # Newer actions and the one still waiting for delivery keep everything.
    assert by_email("bob@example.org")  # a2: queued message
    assert by_email("dan@example.org") and by_email("erin@example.org")  # a4, a5: recent
    assert by_email("Alice@Example.org")  # a6: recent
    assert not by_email("alice@example.org") and not by_email("carol@example.org")
    texts = " ".join(c.body or "" for c in db.session.scalars(select(Contact)))
    assert "Carol" not in texts  # a3's messages were signed with her name


def test_retention_is_idempotent_and_audited(app: Flask, seeded: Campaign) -> None:
    app.config["RETENTION_DAYS"] = 5
    first = apply_retention(now=NOW)
    keys = {a.id: a.duplicate_key for a in db.session.scalars(select(Action))}
    second = apply_retention(now=NOW)
    assert first.actions == 3 and second.actions == 0
    db.session.expire_all()
    assert {a.id: a.duplicate_key for a in db.session.scalars(select(Action))} == keys
    entries = list(
        db.session.scalars(select(AuditEntry).where(AuditEntry.action == "retention.applied"))
    )
    assert entries[0].actor == "system"
    assert entries[0].detail["actions"] == 3


def test_rekeyed_duplicate_keys_still_tell_people_apart(app: Flask, seeded: Campaign) -> None:
    """Two old actions of one person keep one (new) key: unique counts stay right."""
    app.config["RETENTION_DAYS"] = 1
    before = tallies.totals(tallies.tally_request(seeded)).constituents
    # after the queued message is out, everything is older than a day
    for contact in db.session.scalars(select(Contact).where(Contact.status == "queued")):
        contact.status = "sent"
    from advocacy.delivery.models import OutboxMessage

    for message in db.session.scalars(select(OutboxMessage)):
        message.status = "sent"
    db.session.commit()
    report = apply_retention(now=utc("2026-03-12 00:00"))
    assert report.actions == 7
    db.session.expire_all()
    assert tallies.totals(tallies.tally_request(seeded)).constituents == before == 5


@pytest.mark.parametrize("days", [0, None])
def test_retention_off_changes_nothing(app: Flask, seeded: Campaign, days: int | None) -> None:
    app.config["RETENTION_DAYS"] = days
    report = apply_retention(now=datetime(2030, 1, 1, tzinfo=NOW.tzinfo))
    assert report == RetentionReport(enabled=False, days=0)
    assert "retention is off" in report.message
    assert by_email("alice@example.org")
    entry = select(AuditEntry).where(AuditEntry.action == "retention.applied")
    assert db.session.scalar(entry) is None


def test_nothing_old_enough(app: Flask, seeded: Campaign) -> None:
    app.config["RETENTION_DAYS"] = 365
    report = apply_retention(now=NOW)
    assert (report.actions, report.waiting_for_delivery) == (0, 0)
    assert "removed personal data of 0 action(s)" in report.message
    assert {c.slug for c in db.session.scalars(select(Campaign))} == {SLUG, OTHER_SLUG}


def test_a_person_with_several_actions_is_done_whole(app: Flask, seeded: Campaign) -> None:
    """One constituent row behind several actions: every old action is cleared together, and
    someone who also acted recently keeps their details until that action is old too."""
    app.config["RETENTION_DAYS"] = 5  # at NOW: a1, a2, a3 and the other campaign's are old

    def at(text: str) -> Action:
        return db.session.scalars(select(Action).where(Action.created_at == utc(text))).one()

    a1, a3, a5, other = (at(t) for t in (
        "2026-03-01 12:00", "2026-03-02 05:30", "2026-03-09 04:30", "2026-03-05 12:00"
    ))
    a3.constituent_id = a1.constituent_id  # one person, two old actions
    other.constituent_id = a5.constituent_id  # one person, an old and a recent action
    db.session.commit()
    ids = {name: action.id for name, action in (("a1", a1), ("a3", a3), ("other", other))}
    report = apply_retention(now=NOW)
    assert (report.actions, report.constituents, report.waiting_for_delivery) == (2, 1, 1)
    db.session.expire_all()
    for name in ("a1", "a3"):
        action = db.session.get(Action, ids[name])
        assert action is not None and action.matched_address is None
        assert action.constituent.anonymised_at == NOW
        assert all(c.body is None for c in action.contacts)
    kept = db.session.get(Action, ids["other"])
    assert kept is not None and kept.matched_address is not None
    assert kept.constituent.email == "erin@example.org"


def _first_audit() -> AuditEntry | None:
    entries = select(AuditEntry).where(AuditEntry.action == "retention.applied")
    return db.session.scalars(entries.order_by(AuditEntry.id)).first()


def _cache_entry(key: str, expires_at: datetime) -> LookupCacheEntry:
    return LookupCacheEntry(
        key=key,
        payload={"matched_address": "1 MAIN ST, CONCORD, NH, 03301"},
        created_at=expires_at - timedelta(days=7),
        expires_at=expires_at,
    )


@pytest.mark.parametrize("days", [5, 0])
def test_expired_address_lookups_are_removed(app: Flask, seeded: Campaign, days: int) -> None:
    """Rows past their expiry are never read again: removed on every run, retention on or off."""
    app.config["RETENTION_DAYS"] = days
    db.session.add_all(
        [
            _cache_entry("a" * 64, NOW - timedelta(days=30)),
            _cache_entry("b" * 64, NOW - timedelta(minutes=1)),
            _cache_entry("c" * 64, NOW),  # expired: the lookup uses a row only while now < it
            _cache_entry("d" * 64, NOW + timedelta(minutes=1)),
        ]
    )
    db.session.commit()
    report = apply_retention(now=NOW)
    assert report.lookup_cache == 3
    assert "3 expired address lookup(s) removed" in report.message
    db.session.expire_all()
    assert list(db.session.scalars(select(LookupCacheEntry.key))) == ["d" * 64]
    assert apply_retention(now=NOW).lookup_cache == 0
    if days:
        first = _first_audit()
        assert first is not None and first.detail["lookup_cache"] == 3


def test_old_mail_log_files_are_removed(app: Flask, seeded: Campaign, tmp_path: Path) -> None:
    folder = Path(app.config["MAIL_LOG_DIR"])
    folder.mkdir(parents=True)
    app.config["RETENTION_DAYS"] = 5
    old, recent = NOW - timedelta(days=5, minutes=1), NOW - timedelta(days=4)
    written = {
        "contact-1.eml": old,
        "confirmation-7.eml": old,
        "alert-20260301T120000-abcd1234.eml": old,
        ".contact-x1y2z3.tmp": old,  # a write that crashed
        "contact-2.eml": recent,
        "confirmation-8.eml": recent,
        "README.txt": old,  # not a message file: left alone
    }
    for name, when in written.items():
        (folder / name).write_bytes(b"To: rep@legislature.example.gov\r\n\r\nJane Voter\r\n")
        os.utime(folder / name, (when.timestamp(), when.timestamp()))
    (folder / "contact-9.eml").mkdir()  # a folder, whatever its name: left alone
    os.utime(folder / "contact-9.eml", (old.timestamp(), old.timestamp()))

    report = apply_retention(now=NOW)
    assert report.mail_log_files == 4 and "4 mail-log file(s)" in report.message
    assert sorted(p.name for p in folder.iterdir()) == [
        "README.txt",
        "confirmation-8.eml",
        "contact-2.eml",
        "contact-9.eml",
    ]
    assert apply_retention(now=NOW).mail_log_files == 0
    first = _first_audit()
    assert first is not None and first.detail["mail_log_files"] == 4

    # With retention off, mail-log files stay (the setting keeps everything of the actions).
    app.config["RETENTION_DAYS"] = 0
    assert apply_retention(now=NOW + timedelta(days=30)).mail_log_files == 0
    assert (folder / "contact-2.eml").exists()


def test_a_missing_mail_log_folder_is_nothing_to_do(app: Flask, seeded: Campaign) -> None:
    app.config["RETENTION_DAYS"] = 5
    assert not Path(app.config["MAIL_LOG_DIR"]).exists()
    assert apply_retention(now=NOW).mail_log_files == 0
