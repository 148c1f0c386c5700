"""The personalization coach's figures on known texts, and what the write page says with
them: never a refusal (an identical message is still sent)."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import select

from advocacy.actions import coach
from advocacy.actions.models import Contact
from advocacy.campaigns import service as campaign_service
from advocacy.delivery.models import OutboxMessage
from advocacy.extensions import db
from advocacy.jobs.registry import get_job
from advocacy.jobs.runner import run_job
from tests.actions.helpers import FORM, count, field_names, start, submission_key
from tests.queries import counted_statements
from tests.text import visible_text

TEMPLATE = (
    "Dear Senator Smith,\n\nPlease vote yes on House Bill 12. It keeps exploited children "
    "out of prison and gets them help.\n\nSincerely,\nAlex Rivera\n"
)
SENTENCE = "My niece was trafficked at fifteen and a judge treated her as a criminal."
BOTH = "every-exploited-child-is-a-victim"


def measure() -> str:
    """Run the measure-similarity job as the scheduler would; its summary."""
    spec = get_job("measure-similarity")
    assert spec is not None
    result = run_job(spec, "test-host")
    assert result.status == "ok"
    return result.detail


def written() -> list[Contact]:
    db.session.expire_all()
    return list(db.session.scalars(select(Contact).order_by(Contact.id)))


def with_sentence(template: str, sentence: str) -> str:
    body, _, signature = template.partition("\n\nSincerely,")
    return f"{body}\n\n{sentence}\n\nSincerely,{signature}"


def test_the_template_unchanged_is_none_of_the_visitors_own_words() -> None:
    assert coach.own_share(TEMPLATE, TEMPLATE) == 0.0
    # Spacing, case and curly apostrophes are not words of one's own.
    assert coach.own_share(TEMPLATE.upper().replace("\n\n", "\n"), TEMPLATE) == 0.0
    figures = coach.figures(TEMPLATE, TEMPLATE, [])
    assert figures.own_percent == 0
    assert figures.sentences == [
        "This message is the campaign's text as written.",
        "Offices give more weight to personal messages: add a sentence about why this "
        "matters to you.",
    ]


def test_a_shortened_template_is_not_said_to_be_as_written() -> None:
    shortened = TEMPLATE.replace(" It keeps exploited children out of prison", "")
    figures = coach.figures(shortened, TEMPLATE, [])
    assert figures.own == 0.0
    assert figures.sentences[0] == "None of this message is in your own words yet."


def test_past_the_latest_messages_the_count_says_at_least() -> None:
    others = [TEMPLATE] * coach.RECENT_LIMIT
    assert coach.figures(TEMPLATE, TEMPLATE, others).sentences[-1] == (
        f"At least {coach.RECENT_LIMIT} messages have gone to this office through this "
        "campaign today; yours is about 100% the same as the closest one (100% on average)."
    )


def test_a_message_rewritten_in_full_is_all_the_visitors_own() -> None:
    rewritten = (
        "Senator, as a foster parent I have seen what a record does to a child who was sold. "
        "Vote for the bill that treats these kids as victims. Alex"
    )
    assert coach.own_share(rewritten, TEMPLATE) == 1.0
    assert coach.figures(rewritten, TEMPLATE, []).sentences == [
        "About 100% of this message is in your own words. Thank you."
    ]


def test_one_added_sentence_counts_its_words_and_nothing_else() -> None:
    text = with_sentence(TEMPLATE, SENTENCE)
    template_words, sentence_words = len(coach.words(TEMPLATE)), len(coach.words(SENTENCE))
    assert (template_words, sentence_words) == (24, 14)
    assert coach.own_share(text, TEMPLATE) == 14 / 38
    figures = coach.figures(text, TEMPLATE, [])
    assert figures.own_percent == 37
    assert figures.sentences[0] == "About 37% of this message is in your own words."
    assert "add a sentence about why this matters to you" in figures.sentences[1]


def test_a_short_or_empty_text() -> None:
    assert coach.own_share("", TEMPLATE) is None
    assert coach.own_share("Rivera, sincerely", TEMPLATE) == 1.0  # not a run of the template
    assert coach.own_share("Alex Rivera", TEMPLATE) == 0.0  # in the template as it stands
    empty = coach.figures("  \n", TEMPLATE, [TEMPLATE])
    assert empty.own is None and empty.closest is None
    assert "a sentence about why this matters to you" in empty.sentences[0]


def test_similarity_of_identical_and_different_texts() -> None:
    mine = coach.shingles(coach.words(TEMPLATE))
    assert coach.similarity(mine, mine) == 1.0
    other = coach.shingles(coach.words("Nothing in common with that letter at all, truly."))
    assert coach.similarity(mine, other) == 0.0
    edited = coach.shingles(coach.words(with_sentence(TEMPLATE, SENTENCE)))
    # 22 three-word runs in the template (24 words), 36 in the edited text (38 words); the
    # two of the template that straddle the new sentence are gone: 20 shared of 38 in all.
    assert (len(mine), len(edited), len(mine & edited)) == (22, 36, 20)
    assert coach.similarity(mine, edited) == 20 / 38


def test_figures_among_todays_messages_say_the_closest_and_the_average() -> None:
    text = with_sentence(TEMPLATE, SENTENCE)
    figures = coach.figures(text, TEMPLATE, [text, "Something else entirely, in other words."])
    assert (figures.others, figures.closest, figures.average) == (2, 1.0, 0.5)
    assert figures.sentences[-1] == (
        "2 messages have gone to this office through this campaign today; yours is about "
        "100% the same as the closest one (50% on average)."
    )


def test_write_page_shows_the_coach_and_check_my_message_works_without_javascript(
    ready: FlaskClient,
) -> None:
    page = start(ready, BOTH)
    said = visible_text(page)
    assert said.count("This message is the campaign's text as written.") == 6
    assert "add a sentence about why this matters to you" in said
    assert "Your message is sent however similar it is to others." in said
    assert "Check my messages" in said and "blocked" not in said.lower()
    # Enter in a field submits with the first button: it must be the one that sends.
    assert said.index("Send my messages") < said.index("Check my messages")
    fields = field_names(page)
    key = submission_key(page)
    text = "My own words, all of them, about why this bill matters to my family.\n\nAlex"
    checked = ready.post(f"/c/{BOTH}/check", data={"submission_key": key, fields[0]: text})
    assert checked.status_code == 200
    said = visible_text(checked.get_data(as_text=True))
    assert "About 100% of this message is in your own words. Thank you." in said
    assert said.count("This message is the campaign's text as written.") == 5
    assert "We checked your messages: see above. Nothing has been sent yet." in said
    assert text in checked.get_data(as_text=True)  # the visitor's text is kept in the box
    assert count(Contact) == 0 and count(OutboxMessage) == 0


def test_an_identical_message_is_still_sent_and_measured(ready: FlaskClient) -> None:
    """Never a copy-paste block: the second visitor's message, word for word the first's, is
    sent like any other; the coach only says so."""
    page = start(ready, BOTH)
    ready.post(f"/c/{BOTH}/send", data={"submission_key": submission_key(page)})
    page = start(ready, BOTH, email="sam@example.org")
    said = visible_text(page)
    # As first shown, the campaign's text is not compared: that is for the visitor's edits.
    assert "has gone to this office" not in said
    assert "This message is the campaign's text as written." in said
    key = submission_key(page)
    checked = visible_text(ready.post(f"/c/{BOTH}/check", data={"submission_key": key}))
    assert (
        "1 message has gone to this office through this campaign today; yours is about 100% "
        "the same as the closest one (100% on average)." in checked
    )
    sent = ready.post(f"/c/{BOTH}/send", data={"submission_key": key})
    assert sent.status_code == 303 and "/thanks/" in sent.headers["Location"]
    assert measure() == "12 message(s) measured"
    contacts = written()
    assert len(contacts) == 12 and {c.status for c in contacts} == {"queued"}
    assert count(OutboxMessage) == 14  # 12 messages and 2 receipts
    first, second = contacts[:6], contacts[6:]
    assert all(c.own_words == 0.0 and c.similarity is None for c in first)
    assert all(c.own_words == 0.0 and c.similarity == 1.0 for c in second)
    assert not any(c.similarity_pending for c in contacts)
    assert FORM["name"] in (second[0].body or "")


def test_the_send_leaves_similarity_to_the_job_which_measures_an_office_together(
    ready: FlaskClient,
) -> None:
    """The send stores each message unmeasured; one run of the job then measures the day's
    new messages of each office against the earlier ones (the same text: 100%; a rewritten
    one: far less), and a second run measures nothing again."""
    rewritten = (
        "Senator, as a foster parent I have seen what a record does to a child who was sold. "
        "Vote for the bill that treats these kids as victims. Alex"
    )
    for email, edits in (
        ("alex@example.org", False),
        ("sam@example.org", False),
        ("kim@example.org", True),
    ):
        page = start(ready, BOTH, email=email)
        data = {"submission_key": submission_key(page)}
        if edits:
            data[field_names(page)[0]] = rewritten
        assert ready.post(f"/c/{BOTH}/send", data=data).status_code == 303
    contacts = written()
    assert len(contacts) == 18
    # Sent, own words counted, similarity not measured yet.
    assert all(c.similarity_pending and c.similarity is None for c in contacts)
    assert sorted({c.own_words for c in contacts}) == [0.0, 1.0]

    assert measure() == "18 message(s) measured"
    contacts = written()
    first, second, third = contacts[:6], contacts[6:12], contacts[12:]
    assert not any(c.similarity_pending for c in contacts)
    assert [c.similarity for c in first] == [None] * 6  # nothing earlier that day
    assert [c.similarity for c in second] == [1.0] * 6  # word for word the first's
    own = [c for c in third if rewritten in (c.body or "")]
    assert len(own) == 1 and own[0].similarity is not None and own[0].similarity < 0.1
    assert sorted(c.similarity or 0 for c in third if c is not own[0]) == [1.0] * 5

    # Measured once: a second run finds nothing, and changes nothing.
    own[0].similarity = 0.5
    db.session.commit()
    assert measure() == "0 message(s) measured"
    assert [c.similarity for c in written()[12:] if c.id == own[0].id] == [0.5]

    # A later message is compared with those measured in earlier runs.
    page = start(ready, BOTH, email="lee@example.org")
    ready.post(f"/c/{BOTH}/send", data={"submission_key": submission_key(page)})
    assert measure() == "6 message(s) measured"
    assert [c.similarity for c in written()[18:]] == [1.0] * 6


def test_the_coach_endpoint_answers_figures_and_keeps_nothing(ready: FlaskClient) -> None:
    page = start(ready, BOTH)
    field = field_names(page)[0]
    answer = ready.post(
        f"/c/{BOTH}/coach", json={"field": field, "text": "Entirely my own words here."}
    )
    assert answer.status_code == 200
    assert answer.get_json() == {
        "own_percent": 100,
        "others": 0,
        "sentences": ["About 100% of this message is in your own words. Thank you."],
    }
    assert ready.post(f"/c/{BOTH}/coach", json={"field": "body-0", "text": "x"}).status_code == 404
    bad = ready.post(f"/c/{BOTH}/coach", json={"field": field})
    assert bad.status_code == 400
    assert bad.get_json() == {"error": "Send the field name and the text of one message."}
    assert count(Contact) == 0


def test_a_locked_message_has_no_coach(ready: FlaskClient, campaigns: Path) -> None:
    """The visitor cannot edit a locked message: nothing to coach, and no check to ask."""
    path = campaigns / "oppose-buyer-immunity.yaml"
    path.write_text(path.read_text().replace("mode: editable", "mode: locked"))
    campaign_service.sync_folder(campaigns)
    page = start(ready, "oppose-buyer-immunity")
    said = visible_text(page)
    assert "<textarea" not in page and "data-coach" not in page
    assert "own words" not in said and "Check my message" not in said
    assert "add a sentence" not in said
    answer = ready.post("/c/oppose-buyer-immunity/coach", json={"field": "body-0", "text": "x"})
    assert answer.status_code == 404


def test_a_blank_message_is_coached_from_the_first_word(
    ready: FlaskClient, campaigns: Path
) -> None:
    path = campaigns / "oppose-buyer-immunity.yaml"
    path.write_text(path.read_text().replace("mode: editable", "mode: blank"))
    campaign_service.sync_folder(campaigns)
    page = start(ready, "oppose-buyer-immunity")
    said = visible_text(page)
    assert (
        "Offices give more weight to personal messages: a sentence about why this matters to "
        "you makes yours stand out." in said
    )
    assert "campaign's text as written" not in said
    field = field_names(page)[0]
    answer = ready.post(
        "/c/oppose-buyer-immunity/coach", json={"field": field, "text": "I was harmed."}
    )
    assert answer.get_json()["sentences"] == [
        "About 100% of this message is in your own words. Thank you."
    ]


def test_the_send_reads_nothing_per_recipient(ready: FlaskClient) -> None:
    """The send's reads are the same for one recipient or six: the campaign, the legislators,
    an earlier action, the webhook endpoints (and PostgreSQL's lock); no message of others."""
    page = start(ready, BOTH)
    with counted_statements() as statements:
        ready.post(f"/c/{BOTH}/send", data={"submission_key": submission_key(page)})
    reads = [
        " ".join(s.split()).split(" FROM ", 1)[1].split()[0]
        for s in statements
        if s.lstrip().startswith("SELECT") and "pg_advisory_xact_lock" not in s
    ]
    assert reads == ["campaign", "legislator", "action", "webhook_endpoint"]
    assert count(Contact) == 6
