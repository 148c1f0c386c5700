"""The "did they reply?" follow-up, a campaign's ``follow_up`` option. The job queues one
mail per action once the days have passed (visitors who opted in only), the mail reaches a
real SMTP server with one link per recipient and answer, the links open a page with one
button (a GET records nothing), answers are kept once and may change until the links expire,
retention voids them, and the reply rates reach the tallies, their CSV and API, and the
optional public page."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from advocacy.actions import followups
from advocacy.actions.models import Action, Contact, FollowUp, FollowUpAnswer
from advocacy.admin.models import User
from advocacy.campaigns import service as campaign_service
from advocacy.campaigns.models import Campaign
from advocacy.dbtypes import utcnow
from advocacy.delivery.models import OutboxMessage
from advocacy.delivery.worker import Worker
from advocacy.exports import tokens
from advocacy.exports.retention import apply_retention
from advocacy.extensions import db
from advocacy.jobs.registry import JobContext, get_job
from tests.actions.helpers import BOTH, LOWER, count, send_mail_to, start, submission_key
from tests.admin.conftest import as_role, password_hash, staff  # noqa: F401
from tests.delivery.conftest import SMTPServer
from tests.exports.conftest import parse_csv
from tests.text import visible_text

FOLLOW_UP = "follow_up:\n  days: 14\n"
LINK = re.compile(r"  (Yes, they replied|No, they did not reply|Not yet): (\S+)")


def with_follow_up(campaigns: Path, slug: str, option: str = FOLLOW_UP) -> None:
    path = campaigns / f"{slug}.yaml"
    path.write_text(path.read_text() + option)
    report = campaign_service.sync_folder(campaigns)
    assert not getattr(report, "problems", None), report


def act(client: FlaskClient, slug: str, email: str = "alex@example.org", **form: str) -> Action:
    """Take part as ``email`` and deliver the messages (log mode unless a test sends SMTP)."""
    page = start(client, slug, email=email, **form)
    response = client.post(f"/c/{slug}/send", data={"submission_key": submission_key(page)})
    assert response.status_code == 303
    Worker("follow-up-test").run()
    db.session.expire_all()
    action = db.session.scalars(select(Action).order_by(Action.id.desc())).first()
    assert action is not None and action.constituent.email == email
    return action


def later(days: float) -> object:
    return utcnow() + timedelta(days=days)


@pytest.fixture
def smtp(smtp: SMTPServer, app: Flask) -> SMTPServer:
    """The shared SMTP server, with the app's mail going to it."""
    send_mail_to(app, smtp)
    return smtp


def follow_up_mails(smtp: SMTPServer, to: str = "alex@example.org") -> list[tuple[str, str]]:
    return [
        (str(item.message["Subject"]), item.message.get_content().replace("\r\n", "\n"))
        for item in smtp.received
        if item.rcpt_tos == (to,) and "reply?" in str(item.message["Subject"])
    ]


def links_in(body: str) -> dict[tuple[str, str], str]:
    """``{(question's recipient, button text): path}`` from a follow-up mail's body."""
    found: dict[tuple[str, str], str] = {}
    recipient = ""
    for line in body.splitlines():
        question = re.fullmatch(r"Did (.+) reply\?", line)
        if question:
            recipient = question.group(1)
        link = LINK.fullmatch(line)
        if link:
            found[(recipient, link.group(1))] = link.group(2).removeprefix(
                "https://act.example.org"
            )
    return found


def queue(now: object) -> int:
    return followups.queue_due_follow_ups(now)  # type: ignore[arg-type]


def a_link(action: Action, answer: str = "yes") -> str:
    follow_up = db.session.scalars(select(FollowUp).where(FollowUp.action_id == action.id)).one()
    contact = next(c for c in action.contacts if c.channel == "email")
    slug = db.session.get(Campaign, action.campaign_id).slug  # type: ignore[union-attr]
    url = followups.answer_url(slug, followups.token_for(follow_up), contact.id, answer)
    return "/" + url.split("/", 3)[3]


# -- the job ------------------------------------------------------------------------------------


def test_the_job_queues_one_follow_up_per_action_once_the_days_have_passed(
    ready: FlaskClient, campaigns: Path
) -> None:
    with_follow_up(campaigns, LOWER)
    action = act(ready, LOWER)
    assert queue(later(13.9)) == 0
    assert count(FollowUp) == 0
    assert queue(later(14.01)) == 1
    assert queue(later(14.01)) == 0  # a rerun queues nothing again
    assert queue(later(30)) == 0
    [row] = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == followups.KIND))
    assert row.action_id == action.id and row.status == "pending"
    follow_up = db.session.scalars(select(FollowUp)).one()
    assert follow_up.expires_at - follow_up.queued_at == followups.LINK_LIFETIME


def test_a_follow_up_more_than_a_week_late_is_not_sent(ready: FlaskClient, campaigns: Path) -> None:
    with_follow_up(campaigns, LOWER)
    act(ready, LOWER)
    assert queue(later(14 + 7.01)) == 0  # the scheduler was off for over a week
    assert queue(later(14 + 6.9)) == 1


def test_the_scheduler_job_queues_them_too(ready: FlaskClient, campaigns: Path) -> None:
    with_follow_up(campaigns, LOWER, "follow_up:\n  days: 1\n")
    act(ready, LOWER)
    spec = get_job("follow-ups")
    assert spec is not None and spec.interval({}) == timedelta(hours=1)
    context = JobContext("follow-ups", later(1.01), "test-host")  # type: ignore[arg-type]
    assert spec.func(context) == '1 "did they reply?" mail(s) queued'
    assert spec.func(context) == '0 "did they reply?" mail(s) queued'
    assert count(OutboxMessage, OutboxMessage.kind == followups.KIND) == 1


def test_no_follow_up_for_a_visitor_who_did_not_opt_in(ready: FlaskClient, campaigns: Path) -> None:
    with_follow_up(campaigns, LOWER)
    act(ready, LOWER, opt_in="")
    assert queue(later(20)) == 0
    assert count(OutboxMessage, OutboxMessage.kind == followups.KIND) == 0


def test_no_follow_up_without_the_option_or_for_undelivered_messages(
    ready: FlaskClient, campaigns: Path, app: Flask
) -> None:
    act(ready, LOWER)  # the campaign asks nothing
    assert queue(later(100)) == 0
    with_follow_up(campaigns, BOTH)
    app.config["REQUIRE_CONFIRMATION"] = True  # held until confirmed: never delivered here
    act(ready, BOTH, email="held@example.org")
    assert queue(later(100)) == 0


# -- the mail and its links ----------------------------------------------------------------------


def test_the_mail_asks_about_each_recipient_with_three_links(
    ready: FlaskClient, campaigns: Path, smtp: SMTPServer
) -> None:
    with_follow_up(campaigns, BOTH)
    action = act(ready, BOTH)
    names = [c.target_name for c in action.contacts if c.channel == "email"]
    assert len(names) >= 2
    assert queue(later(15)) == 1
    Worker("follow-up-test").run()
    Worker("follow-up-test").run()  # delivered once
    [(subject, body)] = follow_up_mails(smtp)
    assert subject.startswith("Did your legislators reply? ")
    assert body.startswith("Hello Alex Rivera,\n\nOn ")
    assert "Did they reply? One click for each tells us" in body
    links = links_in(body)
    for contact in (c for c in action.contacts if c.channel == "email"):
        asked = followups.recipient_label(contact)
        assert f"\nDid {asked} reply?\n" in body
        for button, slug in (
            ("Yes, they replied", "yes"),
            ("No, they did not reply", "no"),
            ("Not yet", "not-yet"),
        ):
            path = links[(asked, button)]
            assert path.startswith(f"/c/{BOTH}/reply/") and path.endswith(f"/{contact.id}/{slug}")
    assert "You can change an answer until " in body
    assert "You get this one email because you asked to be kept informed" in body
    [item] = [i for i in smtp.received if "reply?" in str(i.message["Subject"])]
    assert item.message["Reply-To"] is None  # from the site itself
    row = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == followups.KIND)
    ).one()
    assert row.status == "sent"


def test_in_redirect_mode_the_follow_up_goes_to_the_rehearsal_address(
    ready: FlaskClient, campaigns: Path, smtp: SMTPServer, app: Flask
) -> None:
    with_follow_up(campaigns, LOWER)
    app.config.update(DELIVERY_MODE="redirect", REDIRECT_TO="rehearsal@example.org")
    act(ready, LOWER)
    queue(later(15))
    Worker("follow-up-test").run()
    assert follow_up_mails(smtp) == []  # nothing to the visitor's own address
    [(subject, body)] = follow_up_mails(smtp, to="rehearsal@example.org")
    assert subject.startswith("Did your legislators reply? ")
    assert "Did Representative Ada Alder reply?" in body


def test_opening_a_link_records_nothing_and_the_button_records_once(
    ready: FlaskClient, campaigns: Path, smtp: SMTPServer
) -> None:
    with_follow_up(campaigns, LOWER)
    act(ready, LOWER)
    queue(later(15))
    Worker("follow-up-test").run()
    [(_, body)] = follow_up_mails(smtp)
    asked = next(iter(links_in(body)))[0]
    path = links_in(body)[(asked, "Yes, they replied")]

    page = ready.get(path)
    assert page.status_code == 200
    text = visible_text(page)
    assert f"Did {asked} reply to your message?" in text
    assert "Yes, they replied" in text.splitlines()  # the one button
    assert "Not the right answer? No, they did not reply · Not yet" in text
    assert count(FollowUpAnswer) == 0  # a mail scanner opening the link changes nothing

    first = ready.post(path)
    assert first.status_code == 303 and first.headers["Location"] == path
    second = ready.post(path)  # a double click
    assert second.status_code == 303
    [answer] = db.session.scalars(select(FollowUpAnswer))
    assert answer.answer == "yes"
    text = visible_text(ready.get(path))
    assert f"We already had your answer about {asked}: they replied. Thank you." in text
    assert "Your answer: they replied (recorded " in text
    assert "Yes, they replied" not in text.splitlines()  # no button to give it again
    assert "Something changed? No, they did not reply · Not yet" in text

    # Changing the answer later replaces it.
    no = links_in(body)[(asked, "No, they did not reply")]
    assert "Your answer so far: they replied" in visible_text(ready.get(no))
    ready.post(no)
    db.session.expire_all()
    [answer] = db.session.scalars(select(FollowUpAnswer))
    assert answer.answer == "no"
    assert f"We changed your answer about {asked} to: they did not reply." in visible_text(
        ready.get(no)
    )


def test_the_first_answer_is_thanked(ready: FlaskClient, campaigns: Path) -> None:
    with_follow_up(campaigns, LOWER)
    action = act(ready, LOWER)
    queue(later(15))
    path = a_link(action, "not_yet")
    assert "Not yet" in visible_text(ready.get(path)).splitlines()
    ready.post(path)
    text = visible_text(ready.get(path))
    assert "Thank you. We recorded your answer about " in text
    assert ": they have not replied yet." in text


def test_forged_and_altered_links_open_nothing(ready: FlaskClient, campaigns: Path) -> None:
    with_follow_up(campaigns, BOTH)
    action = act(ready, BOTH)
    other = act(ready, BOTH, email="other@example.org")
    queue(later(15))
    good = a_link(action)
    prefix, token, contact_id, answer = good.rsplit("/", 3)
    other_contact = next(c for c in other.contacts if c.channel == "email")
    forged = [
        f"{prefix}/{token[:-2]}xx/{contact_id}/{answer}",  # signature changed
        f"{prefix}/not-a-token/{contact_id}/{answer}",
        f"{prefix}/{token}/{other_contact.id}/{answer}",  # someone else's message
        f"{prefix}/{token}/{contact_id}/maybe",  # not an answer
        f"/c/{LOWER}/reply/{token}/{contact_id}/{answer}",  # another campaign
    ]
    for path in forged:
        page = ready.get(path)
        assert page.status_code == 404, path
        assert "This answer link is not valid." in visible_text(page)
        assert ready.post(path).status_code == 303
    assert count(FollowUpAnswer) == 0


def test_an_expired_link_records_nothing(ready: FlaskClient, campaigns: Path) -> None:
    with_follow_up(campaigns, LOWER)
    action = act(ready, LOWER)
    queue(later(15))
    path = a_link(action)
    ready.post(path)  # answered while it worked
    db.session.execute(update(FollowUp).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    page = ready.get(path)
    assert page.status_code == 410
    assert "This answer link has expired: we took answers until " in visible_text(page)
    no = a_link(action, "no")
    assert ready.post(no).status_code == 303  # replayed after the deadline
    db.session.expire_all()
    [answer] = db.session.scalars(select(FollowUpAnswer))
    assert answer.answer == "yes"


# -- retention ----------------------------------------------------------------------------------


def test_retention_voids_the_links_and_drops_an_unsent_follow_up(
    ready: FlaskClient, campaigns: Path, app: Flask
) -> None:
    with_follow_up(campaigns, BOTH)
    answered = act(ready, BOTH)
    waiting = act(ready, BOTH, email="waiting@example.org")
    queue(later(15))
    path = a_link(answered)
    Worker("follow-up-test").run()  # both follow-ups go out (log mode)...
    ready.post(path)
    # ...and a third is still queued when retention runs.
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.kind == followups.KIND, OutboxMessage.action_id == waiting.id)
        .values(status="pending")
    )
    db.session.commit()
    campaign_id = answered.campaign_id
    before = followups.reply_rates(campaign_id)
    log_dir = Path(app.config["MAIL_LOG_DIR"])
    logged = [p for p in log_dir.glob(f"{followups.KIND}-*.eml") if "Did " in p.read_text()]
    assert len(logged) == 2  # log mode wrote both
    app.config["RETENTION_DAYS"] = 30
    report = apply_retention(later(31))  # type: ignore[arg-type]
    assert report.follow_ups == 2
    assert '2 "did they reply?" follow-up(s)' in report.message
    assert db.session.scalars(select(FollowUp.secret)).all() == [None, None]
    assert (
        count(
            OutboxMessage, OutboxMessage.kind == followups.KIND, OutboxMessage.status == "pending"
        )
        == 0
    )
    page = ready.get(path)
    assert page.status_code == 404 and "This answer link is not valid." in visible_text(page)
    assert followups.reply_rates(campaign_id) == before  # the answers stay, anonymous
    assert not any(p.exists() for p in logged)  # log mode's copies went with the rest


# -- results ------------------------------------------------------------------------------------


def answered(client: FlaskClient, slug: str, answers: list[str]) -> None:
    """One visitor per answer, each giving it about every recipient of theirs."""
    for number, answer in enumerate(answers):
        action = act(client, slug, email=f"visitor{number}@example.org")
        queue(later(15))
        for contact in (c for c in action.contacts if c.channel == "email"):
            follow_up = db.session.scalars(
                select(FollowUp).where(FollowUp.action_id == action.id)
            ).one()
            assert followups.record_answer(follow_up, contact, answer) == "recorded"


def test_reply_rates_on_the_dashboard_csv_and_api(
    ready: FlaskClient,
    campaigns: Path,
    as_role,  # type: ignore[no-untyped-def]  # noqa: F811
) -> None:
    with_follow_up(campaigns, LOWER)
    answered(ready, LOWER, ["yes", "yes", "no", "not_yet"])
    campaign = db.session.scalars(select(Campaign).where(Campaign.slug == LOWER)).one()
    contact = db.session.scalars(select(Contact).where(Contact.channel == "email")).first()
    assert contact is not None
    name = contact.target_name
    staff_client = as_role("organizer")
    text = visible_text(staff_client.get(f"/admin/c/{LOWER}/tallies"))
    assert "Did they reply?" in text
    assert f"{name} NH House Hillsborough 23 4 2 1 1 50%" in " ".join(text.split())

    response = staff_client.get(f"/campaigns/{LOWER}/replies.csv")
    assert response.status_code == 200
    rows = parse_csv(response.data)
    assert rows[0] == list(followups.REPLY_COLUMNS)
    assert [r for r in rows if r[4] == name][0][6:] == ["4", "2", "1", "1", "0.5"]

    owner = db.session.scalars(select(User).where(User.role == "organizer")).one()
    secret = tokens.create_token(owner, "partner", campaign).secret
    api = ready.get(
        f"/api/campaigns/{LOWER}/replies", headers={"Authorization": f"Bearer {secret}"}
    )
    assert api.status_code == 200
    row = next(r for r in api.get_json()["rows"] if r["target_name"] == name)
    assert (row["answers"], row["replied"], row["reply_rate"]) == (4, 2, 0.5)
    assert ready.get(f"/api/campaigns/{LOWER}/replies").status_code == 401


def test_the_public_page_is_off_by_default(ready: FlaskClient, campaigns: Path) -> None:
    with_follow_up(campaigns, LOWER)
    assert ready.get(f"/c/{LOWER}/responses").status_code == 404
    assert ready.get("/c/no-such-campaign/responses").status_code == 404


def test_the_public_page_lists_only_legislators_with_enough_answers(
    ready: FlaskClient, campaigns: Path
) -> None:
    with_follow_up(
        campaigns, BOTH, "follow_up:\n  days: 14\n  public_results: true\n  min_answers: 3\n"
    )
    # Three visitors answer about their first recipient, two about their second.
    first = second = ""
    for number, answer in enumerate(["yes", "no", "yes"]):
        action = act(ready, BOTH, email=f"visitor{number}@example.org")
        queue(later(15))
        follow_up = db.session.scalars(
            select(FollowUp).where(FollowUp.action_id == action.id)
        ).one()
        emails = [c for c in action.contacts if c.channel == "email"]
        first, second = followups.recipient_label(emails[0]), emails[1].target_name
        followups.record_answer(follow_up, emails[0], answer)
        if number < 2:
            followups.record_answer(follow_up, emails[1], "yes")
    page = ready.get(f"/c/{BOTH}/responses")
    assert page.status_code == 200
    text = " ".join(visible_text(page).split())
    assert "How responsive were legislators" in text
    assert "14 days after writing, we asked the people who wrote through this campaign" in text
    assert "This page lists the legislators with at least 3 answers" in text
    assert f"{first} " in text and " 3 2 67%" in text
    assert second not in text  # two answers: fewer than 3

    path = campaigns / f"{BOTH}.yaml"
    path.write_text(path.read_text().replace("min_answers: 3", "min_answers: 4"))
    campaign_service.sync_folder(campaigns)
    text = " ".join(visible_text(ready.get(f"/c/{BOTH}/responses")).split())
    assert "No legislator has enough answers to show yet (at least 4)." in text
    assert first not in text


def test_the_campaign_page_says_what_keeping_informed_includes(
    ready: FlaskClient, campaigns: Path
) -> None:
    label = "Keep me informed about this campaign"
    assert label in visible_text(ready.get(f"/c/{LOWER}"))
    assert "asking whether each recipient replied" not in visible_text(ready.get(f"/c/{LOWER}"))
    with_follow_up(campaigns, LOWER)
    text = visible_text(ready.get(f"/c/{LOWER}"))
    assert (
        f"{label}\nThis includes one email, 14 days after your messages are sent, asking "
        "whether each recipient replied."
    ) in text
