"""Per-office digests: a digest campaign's messages to legislators reach each of them as ONE
email a day (built by the build-digests job, delivered by the outbox worker to a real SMTP
server), with a read-only page behind an unguessable address."""

from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from advocacy.actions import digests
from advocacy.actions.models import Action, Constituent, Contact, Digest
from advocacy.campaigns import service
from advocacy.campaigns.service import published_campaign
from advocacy.config import smtp_settings
from advocacy.dbtypes import utcnow
from advocacy.delivery.models import OutboxMessage
from advocacy.delivery.worker import Worker
from advocacy.extensions import db
from advocacy.lookup.models import Legislator
from tests.actions.helpers import BOTH, count, field_names, start, submission_key
from tests.admin.conftest import as_role, password_hash, staff  # noqa: F401
from tests.conftest import POSTGRES_URL, REPO
from tests.delivery.conftest import SMTPServer, free_port
from tests.text import visible_text

MAIL_FROM = "advocacy@speakup.example.org"
SENTENCE = (
    "Your message will reach {name} in one daily summary of this campaign's messages, "
    "sent at 5 pm Eastern time."
)


@pytest.fixture
def digest_site(ready: FlaskClient, app: Flask, campaigns_dir: Path, smtp: SMTPServer) -> Flask:
    """The both-chambers campaign as a digest campaign, mail to the SMTP sink, Eastern time."""
    text = (REPO / "campaigns" / f"{BOTH}.yaml").read_text(encoding="utf-8")
    (campaigns_dir / f"{BOTH}.yaml").write_text(
        text + "delivery:\n  legislators: digest\n", encoding="utf-8"
    )
    report = service.sync_folder(campaigns_dir)
    assert not report.problems, report.problems
    campaign = published_campaign(BOTH)
    assert campaign is not None and campaign.definition.digest
    app.config.update(
        smtp_settings(f"smtp://127.0.0.1:{smtp.port}"),
        DELIVERY_MODE="smtp",
        MAIL_FROM=MAIL_FROM,
        SITE_NAME="Speak Up",
        TIMEZONE="America/New_York",
        DIGEST_HOUR=17,
    )
    return app


def _send_one(client: FlaskClient, edit: str | None = None) -> tuple[str, str]:
    """Go through the flow once; return the write page's and the thank-you page's text."""
    page = start(client, BOTH)
    data = {"submission_key": submission_key(page)}
    if edit is not None:
        data[field_names(page)[0]] = edit
    response = client.post(f"/c/{BOTH}/send", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)
    thanks = client.get(response.headers["Location"])
    assert thanks.status_code == 200
    return visible_text(page), visible_text(thanks)


def _next_day() -> datetime:
    return utcnow() + timedelta(days=1)


def _digest_mails(smtp: SMTPServer, to: str) -> list[str]:
    return [
        item.message.get_content().replace("\r\n", "\n")
        for item in smtp.received
        if item.rcpt_tos == (to,) and "digest of" in str(item.message["Subject"])
    ]


def test_the_write_and_thank_you_pages_say_the_message_goes_in_the_daily_digest(
    digest_site: Flask, ready: FlaskClient
) -> None:
    write, thanks = _send_one(ready)
    assert SENTENCE.format(name="Representative Alder") in write
    assert SENTENCE.format(name="Senator Senator") in write
    assert "Sent by email." not in write  # no recipient of this campaign gets a lone email
    sentence = SENTENCE.format(name="Representative Alder")
    assert f"Ada Alder: {sentence[0].lower()}{sentence[1:]}" in thanks
    assert "queued and will be sent soon" not in thanks
    # Logged as usual, but no message of its own in the outbox: only the receipt.
    contacts = db.session.scalars(select(Contact)).all()
    assert contacts and {c.status for c in contacts} == {"awaiting_digest"}
    assert {m.kind for m in db.session.scalars(select(OutboxMessage))} == {"receipt"}


def test_a_day_with_no_messages_sends_no_digest(digest_site: Flask) -> None:
    report = digests.build_due_digests(_next_day())
    assert (report.built, report.messages) == (0, 0)
    assert count(Digest) == 0 and count(OutboxMessage) == 0


def test_one_message_reaches_each_legislator_in_one_digest_with_its_page(
    digest_site: Flask, ready: FlaskClient, smtp: SMTPServer
) -> None:
    _send_one(ready)
    # The digest hour after the message has not come yet: nothing is due.
    assert digests.build_due_digests(utcnow()).built == 0
    report = digests.build_due_digests(_next_day())
    built = count(Digest)
    assert built == len({c.target_id for c in db.session.scalars(select(Contact))}) > 1
    assert report.built == built and report.messages == count(Contact)
    again = digests.build_due_digests(_next_day())
    assert again.built == 0 and count(Digest) == built  # a rerun makes nothing twice

    Worker("digest-test").run()
    [mail] = _digest_mails(smtp, "ada@leg.example.gov")
    assert "1 constituent wrote to you through it" in mail
    assert re.search(
        r"How many wrote, by district:\n  House district Hillsborough 23 "
        r"\(your district\): 1\n",
        mail,
    ), mail
    assert "Messages the constituents wrote or changed themselves" not in mail
    assert "The campaign's message, sent unchanged by 1 constituent" in mail
    assert "Sent unchanged by:\n  Alex Rivera, Nashua, alex@example.org\n" in mail
    # The campaign's message once, the sender's own values as placeholders.
    assert mail.count("Could you let me know where you stand on these steps?") == 1
    assert "Sincerely,\n[name]\n[city], New Hampshire\n" in mail
    assert "Subject: Protect every exploited child in New Hampshire" in mail
    contacts = db.session.scalars(select(Contact)).all()
    db.session.expire_all()
    assert {c.status for c in contacts} == {"sent"}
    assert all(c.digest_id is not None for c in contacts)

    # The page behind the link shows the same content; any other token is a 404.
    url = re.search(r"Read this digest on the web: (\S+)", mail)
    assert url is not None
    path = url.group(1).split("127.0.0.1:5000", 1)[-1]
    page = ready.get(path)
    assert page.status_code == 200
    assert page.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert '<meta name="robots" content="noindex, nofollow">' in page.get_data(as_text=True)
    text = visible_text(page)
    assert "1 constituent wrote to Ada Alder through Speak Up" in text
    assert "House district Hillsborough 23 (your district): 1" in text
    assert "Alex Rivera, Nashua, alex@example.org" in text
    token = path.rsplit("/", 1)[1]
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (forged, "x" * 43, "short"):
        assert ready.get(f"/digest/{bad}").status_code == 404
    other = db.session.scalar(select(Digest).where(Digest.target_name == "Sam Senator"))
    assert other is not None and other.token != token
    assert "Ada Alder" not in visible_text(ready.get(f"/digest/{other.token}"))

    # The thank-you page now says the summary carrying the message was sent.
    thanks = visible_text(ready.get(f"/c/{BOTH}/thanks/{contacts[0].action.submission_key}"))
    assert (
        "Ada Alder: your message is in this campaign's daily summary to them, which has "
        "been sent." in thanks
    )


def _legislators() -> dict[str, Legislator]:
    return {row.family_name or "": row for row in db.session.scalars(select(Legislator))}


def _many(kind: str, total: int = 500) -> list[Contact]:
    """``total`` messages to Ada Alder written straight into the database: unchanged ones, or
    edited, or both (every third one edited); a fifth from her district, the rest from the
    neighbouring one, so her own district comes first although it has fewer."""
    campaign = published_campaign(BOTH)
    assert campaign is not None
    people = _legislators()
    ada, cy = people["Alder"], people["Cedar"]
    now = utcnow() - timedelta(minutes=5)
    contacts = []
    for number in range(total):
        edited = kind == "edited" or (kind == "mixed" and number % 3 == 0)
        theirs = ada if number % 5 == 0 else cy
        body = (
            f"Dear Representative Alder,\n\nMessage number {number} in my own words.\n"
            if edited
            else "Dear Representative Alder,\n\nPlease act on the resolution.\n"
        )
        action = Action(
            submission_key=f"key-{kind}-{number:04d}-xxxxxxxxxxxx",
            campaign_id=campaign.id,
            campaign_version_id=campaign.version_id,
            duplicate_key=f"dup-{number}",
            state="nh",
            legislator_ids=[theirs.id],
            created_at=now,
            constituent=Constituent(
                name=f"Person {number:03d}",
                email=f"p{number}@example.org",
                city="Nashua",
                state="nh",
                created_at=now,
            ),
        )
        contact = Contact(
            campaign_id=campaign.id,
            campaign_version_id=campaign.version_id,
            channel="email",
            target_kind="legislator",
            target_id=ada.id,
            target_name="Ada Alder",
            target_email="ada@leg.example.gov",
            target_state="nh",
            target_chamber="lower",
            target_district=ada.district,
            subject="Every exploited child is a victim",
            body=body,
            personalised=edited,
            status="awaiting_digest",
            created_at=now,
        )
        action.contacts.append(contact)
        db.session.add(action)
        contacts.append(contact)
    db.session.commit()
    return contacts


@pytest.mark.parametrize("kind", ["identical", "edited", "mixed"])
def test_a_day_of_500_messages_is_one_digest(
    digest_site: Flask, ready: FlaskClient, smtp: SMTPServer, kind: str
) -> None:
    contacts = _many(kind)
    edited = [c for c in contacts if c.personalised]
    report = digests.build_due_digests(_next_day())
    assert (report.built, report.messages) == (1, 500)
    Worker("digest-500").run()
    [mail] = _digest_mails(smtp, "ada@leg.example.gov")
    assert "500 constituents wrote to you through it" in mail
    districts = mail.split("How many wrote, by district:\n", 1)[1].split("\n\n", 1)[0]
    assert districts.splitlines() == [
        "  House district Hillsborough 23 (your district): 100",
        "  House district Hillsborough 40: 400",
    ]
    for contact in edited:  # each edited message in full, with who wrote it
        number = int(contact.body.split("number ")[1].split()[0])
        assert mail.count(f"Message number {number} in my own words.") == 1
        assert f"From Person {number:03d}, Nashua, p{number}@example.org\n" in mail
    unchanged = 500 - len(edited)
    if edited:
        assert f"Messages the constituents wrote or changed themselves ({len(edited)}):" in mail
    else:
        assert "wrote or changed themselves" not in mail
    if unchanged:
        assert f"The campaign's message, sent unchanged by {unchanged} constituents" in mail
        listed = mail.split("Sent unchanged by:\n", 1)[1].split("\n\n", 1)[0].splitlines()
        first = next(n for n, c in enumerate(contacts) if not c.personalised)
        assert len(listed) == unchanged
        assert listed[0] == f"  Person {first:03d}, Nashua, p{first}@example.org"
        assert mail.count("Sent unchanged by:") == 1
        # The campaign's message once, however many sent it; their copies are not repeated.
        assert mail.count("Could you let me know where you stand on these steps?") == 1
        assert "Please act on the resolution." not in mail
    else:
        assert "sent unchanged" not in mail
    db.session.expire_all()
    assert {c.status for c in db.session.scalars(select(Contact))} == {"sent"}
    digest = db.session.scalar(select(Digest))
    assert digest is not None and digest.message_count == 500 and digest.sent_at is not None
    assert digests.digest_stats() == (1, 500.0, 500)


@pytest.mark.skipif(not POSTGRES_URL, reason="two builders at once need PostgreSQL")
def test_two_builders_and_two_workers_deliver_each_digest_once(
    digest_site: Flask, ready: FlaskClient, smtp: SMTPServer
) -> None:
    _send_one(ready)
    _many("mixed", total=40)
    due = _next_day()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []
    reports: list[digests.BuildReport] = []

    def build() -> None:
        try:
            with digest_site.app_context():
                barrier.wait(timeout=10)
                reports.append(digests.build_due_digests(due))
                db.session.remove()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=build) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    recipients = {c.target_id for c in db.session.scalars(select(Contact))}
    assert sum(r.built for r in reports) == len(recipients) == count(Digest)
    assert sum(r.messages for r in reports) == count(Contact)

    barrier = threading.Barrier(2)

    def deliver(name: str) -> None:
        try:
            with digest_site.app_context():
                barrier.wait(timeout=10)
                Worker(name).run(batch=1)
                db.session.remove()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=deliver, args=(f"w{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    per_id = smtp.handler.per_message_id()
    digest_ids = {
        m.message_id
        for m in db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "digest"))
    }
    assert len(digest_ids) == len(recipients)
    assert all(per_id[message_id] == 1 for message_id in digest_ids)
    assert len(_digest_mails(smtp, "ada@leg.example.gov")) == 1


def test_the_tallies_dashboard_shows_the_messages_carried_per_digest(
    digest_site: Flask,
    ready: FlaskClient,
    smtp: SMTPServer,
    as_role,  # type: ignore[no-untyped-def]  # noqa: F811
) -> None:
    organizer = as_role("organizer")
    before = visible_text(organizer.get(f"/admin/c/{BOTH}/tallies"))
    _send_one(ready)
    waiting = count(Contact)
    staff_page = visible_text(organizer.get(f"/admin/c/{BOTH}"))
    assert f"queued\n0\nawaiting_digest\n{waiting}\n" in staff_page
    assert "Daily digests sent\n0\n" in before
    assert "Messages carried per digest\nno digest sent yet\n" in before
    _many("identical", total=20)
    digests.build_due_digests(_next_day())
    Worker("digest-tallies").run()
    sent = count(Digest, Digest.sent_at.is_not(None))
    total = count(Contact)
    assert sent > 1
    text = visible_text(organizer.get(f"/admin/c/{BOTH}/tallies"))
    assert f"Daily digests sent\n{sent}\n" in text
    assert (
        f"Messages carried per digest\n{total / sent:.1f} on average, 21 at most "
        f"({total} messages in all)\n"
    ) in text
    assert "Download the daily digests sent (CSV: day, recipient, messages carried)" in text
    export = organizer.get(f"/campaigns/{BOTH}/digests.csv")
    assert export.status_code == 200
    assert export.headers["Content-Disposition"] == f'attachment; filename="{BOTH}_digests.csv"'
    lines = export.get_data(as_text=True).splitlines()
    day = (digests.last_digest_time(_next_day())).date().isoformat()
    assert lines[0] == "day,target_id,target_name,messages"
    assert len(lines) == sent + 1
    ada = next(line for line in lines if "Ada Alder" in line)
    assert ada.startswith(f"{day},ocd-person/") and ada.endswith(",Ada Alder,21")
    assert sum(int(line.rsplit(",", 1)[1]) for line in lines[1:]) == total


@pytest.mark.parametrize("mode", ["log", "redirect", "smtp"])
def test_a_digest_goes_out_in_every_delivery_mode(
    digest_site: Flask, ready: FlaskClient, smtp: SMTPServer, mode: str
) -> None:
    digest_site.config.update(DELIVERY_MODE=mode, REDIRECT_TO="rehearsal@speakup.example.org")
    _many("mixed", total=6)
    digests.build_due_digests(_next_day())
    Worker(f"digest-{mode}").run()
    digest = db.session.scalar(select(Digest))
    assert digest is not None and digest.outbox_id is not None
    db.session.expire_all()
    statuses = {c.status for c in db.session.scalars(select(Contact))}
    if mode == "log":
        assert statuses == {"logged"} and smtp.received == []
        logged = Path(digest_site.config["MAIL_LOG_DIR"]) / f"digest-{digest.outbox_id}.eml"
        text = logged.read_bytes().decode()
        assert "X-Envelope-To: ada@leg.example.gov" in text
        assert "6 constituents wrote" in text
    else:
        assert statuses == {"sent"}
        to = "rehearsal@speakup.example.org" if mode == "redirect" else "ada@leg.example.gov"
        [mail] = _digest_mails(smtp, to)
        assert "6 constituents wrote to you through it" in mail
        assert "Messages the constituents wrote or changed themselves (2):" in mail


def test_an_undeliverable_digest_is_dead_lettered_and_requeued_with_its_contacts(
    digest_site: Flask, ready: FlaskClient, smtp: SMTPServer
) -> None:
    from advocacy.delivery import outbox

    digest_site.config.update(
        smtp_settings(f"smtp://127.0.0.1:{free_port()}"), DELIVERY_MAX_ATTEMPTS=1
    )
    _many("identical", total=3)
    digests.build_due_digests(_next_day())
    report = Worker("digest-down").run()
    assert report.dead == 1
    db.session.expire_all()
    assert {c.status for c in db.session.scalars(select(Contact))} == {"dead"}
    assert outbox.retry_dead_letters(BOTH) == 1
    db.session.expire_all()
    assert {c.status for c in db.session.scalars(select(Contact))} == {"queued"}
    digest_site.config.update(smtp_settings(f"smtp://127.0.0.1:{smtp.port}"))
    assert Worker("digest-up").run().sent == 1
    assert len(_digest_mails(smtp, "ada@leg.example.gov")) == 1
    db.session.expire_all()
    assert {c.status for c in db.session.scalars(select(Contact))} == {"sent"}


def test_with_confirmation_a_message_joins_the_digest_only_once_confirmed(
    digest_site: Flask, ready: FlaskClient, smtp: SMTPServer
) -> None:
    from advocacy.actions import confirmation

    digest_site.config["REQUIRE_CONFIRMATION"] = True
    _send_one(ready)
    assert {c.status for c in db.session.scalars(select(Contact))} == {"unconfirmed"}
    assert digests.build_due_digests(_next_day()).built == 0
    action = db.session.scalar(select(Action))
    assert action is not None and confirmation.confirm(action)
    assert {c.status for c in db.session.scalars(select(Contact))} == {"awaiting_digest"}
    assert digests.build_due_digests(_next_day()).built == count(Contact)


def test_the_receipt_says_the_message_goes_in_the_daily_summary(
    digest_site: Flask, ready: FlaskClient, smtp: SMTPServer
) -> None:
    _send_one(ready)
    Worker("receipt").run()
    [receipt] = [
        item.message.get_content().replace("\r\n", "\n")
        for item in smtp.received
        if item.rcpt_tos == ("alex@example.org",)
    ]
    assert (
        "- A message to Ada Alder, in one daily summary of this campaign's messages sent at "
        "5 pm Eastern time: Protect every exploited child in New Hampshire"
    ) in receipt


def test_the_build_digests_job_runs_from_the_command_line(
    digest_site: Flask, ready: FlaskClient
) -> None:
    _many("identical", total=2)
    runner = digest_site.test_cli_runner()
    listed = runner.invoke(args=["jobs", "list"], catch_exceptions=False).output
    assert "build-digests" in listed and "every 5min" in listed
    # Messages written just now wait for the next digest hour.
    ran = runner.invoke(args=["jobs", "run", "build-digests"], catch_exceptions=False).output
    assert "0 digest(s) built carrying 0 message(s)" in ran
    assert count(Digest) == 0


@pytest.mark.parametrize(
    ("zone", "hour", "words"),
    [
        ("America/New_York", 17, "5 pm Eastern time"),
        ("America/Chicago", 9, "9 am Central time"),
        ("America/Los_Angeles", 12, "noon Pacific time"),
        ("UTC", 0, "midnight UTC"),
        ("Europe/Paris", 18, "6 pm Europe/Paris time"),
    ],
)
def test_the_digest_hour_in_words(app: Flask, zone: str, hour: int, words: str) -> None:
    app.config.update(TIMEZONE=zone, DIGEST_HOUR=hour)
    assert digests.when_words() == words


def test_a_digest_hour_outside_the_day_stops_the_site_at_start(
    app_config: dict[str, object],
) -> None:
    from advocacy import create_app
    from advocacy.config import ConfigError

    with pytest.raises(ConfigError, match="ADVOCACY_DIGEST_HOUR must be an hour from 0 to 23"):
        create_app({**app_config, "DIGEST_HOUR": 24})


def test_a_digest_to_someone_who_left_office_is_held_until_staff_decide(
    digest_site: Flask, ready: FlaskClient, smtp: SMTPServer
) -> None:
    from advocacy.admin.operations import decide_held, held_recipients
    from advocacy.campaigns.models import Campaign

    _many("identical", total=3)
    digests.build_due_digests(_next_day())
    ada = _legislators()["Alder"]
    ada.ends_on = utcnow().date() - timedelta(days=2)
    db.session.commit()
    assert Worker("digest-left").run().held == 1
    assert _digest_mails(smtp, "ada@leg.example.gov") == []
    db.session.expire_all()
    assert {c.status for c in db.session.scalars(select(Contact))} == {"recipient_left"}
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == BOTH))
    assert campaign is not None
    [held] = held_recipients(campaign)
    assert (held.name, held.messages) == ("Ada Alder", 3)
    assert decide_held(campaign, ada.id, "send") == ("Ada Alder", 3)
    assert Worker("digest-anyway").run().sent == 1
    [mail] = _digest_mails(smtp, "ada@leg.example.gov")
    assert "3 constituents wrote to you through it" in mail
    db.session.expire_all()
    assert {c.status for c in db.session.scalars(select(Contact))} == {"sent"}


def test_retention_waits_for_the_digest_and_then_empties_it(
    digest_site: Flask, ready: FlaskClient, smtp: SMTPServer
) -> None:
    from advocacy.exports.retention import apply_retention

    digest_site.config["RETENTION_DAYS"] = 30
    _many("mixed", total=3)
    later = utcnow() + timedelta(days=40)
    apply_retention(later)  # still waiting for their digest: kept
    db.session.expire_all()
    assert all(c.anonymised_at is None for c in db.session.scalars(select(Constituent)))
    digests.build_due_digests(_next_day())
    apply_retention(later)  # in a digest not yet sent: kept
    db.session.expire_all()
    assert all(c.anonymised_at is None for c in db.session.scalars(select(Constituent)))
    Worker("digest-retention").run()
    assert (
        "From Person 000, Nashua, p0@example.org" in _digest_mails(smtp, "ada@leg.example.gov")[0]
    )
    apply_retention(later)  # delivered: removed, and the digest's page shows no one
    db.session.expire_all()
    assert all(c.anonymised_at is not None for c in db.session.scalars(select(Constituent)))
    digest = db.session.scalar(select(Digest))
    assert digest is not None
    text = visible_text(ready.get(f"/digest/{digest.token}"))
    assert "3 constituents wrote to Ada Alder" in text
    assert "Person 000" not in text and "p0@example.org" not in text
    assert (
        "The messages and names of these constituents have since been removed under the site's "
        "data retention policy."
    ) in text
    assert "also wrote" not in text
