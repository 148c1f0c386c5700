"""The "did they reply?" follow-up: a campaign's ``follow_up`` option.

``follow_up.days`` after an action's email messages were sent, the ``follow-ups`` job
(``jobs/followups.py``, hourly) queues ONE mail (outbox kind ``followup``) to its visitor,
asking for each recipient whether they replied, with three links each (yes / no / not yet).
Only visitors who ticked "Keep me informed about this campaign" (``Constituent.opt_in``) are
asked; the option of the campaign version the visitor sent with applies, so nobody is asked
under a promise the page did not make. An action is asked once: ``follow_up.action_id`` and
the outbox's one-row-per-kind-and-action are unique, so a rerun or a second job finds nothing.

A follow-up more than ``CATCH_UP`` late (the scheduler was off for a week) is not sent.

A link is ``/c/<slug>/reply/<token>/<contact id>/<answer>``. The token signs (itsdangerous,
its own salt) the follow-up's id and a random secret kept on its row; the links answer until
``follow_up.expires_at`` (``LINK_LIFETIME`` after queueing), a deadline in the database like
the confirmation link's, so a retried mail is the same mail. Opening a link changes nothing
(mail scanners open links): it shows a page with one button, preselected with the answer;
the POST records it. One answer per recipient: clicking twice records once, and a different
answer later replaces the first. Retention clears the secret (the links then open nothing) and
drops a follow-up mail not yet sent; the answers stay, as anonymous facts, like contacts.

Reply rate: answers "yes" out of all answers (yes, no, not yet) about a recipient.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from itsdangerous import URLSafeSerializer
from sqlalchemy import ColumnElement, and_, case, exists, func, select
from sqlalchemy.exc import IntegrityError

from ..campaigns.models import Campaign, CampaignVersion
from ..campaigns.schema import FollowUp as FollowUpOption
from ..campaigns.service import title_in
from ..dbtypes import utcnow
from ..delivery import outbox
from ..extensions import db
from ..i18n import force_locale, gettext, join_and, lazy_gettext, long_date
from ..urls import site_zone
from .confirmation import signed_pair
from .models import Action, Constituent, Contact, FollowUp, FollowUpAnswer

SALT = "advocacy.actions.follow-up"
KIND = "followup"
LINK_LIFETIME = timedelta(days=60)
# A follow-up more than this late (the scheduler was off) is not sent: asking months later
# would be odd, and it keeps the job's hourly query to a few days of each campaign's actions.
CATCH_UP = timedelta(days=7)
DELIVERED = ("sent", "logged")
BATCH = 500
# Answers as they are stored, as they appear in links, and as a visitor reads them.
ANSWERS = ("yes", "no", "not_yet")
SLUGS = {"yes": "yes", "no": "no", "not-yet": "not_yet"}
BUTTONS = {
    "yes": lazy_gettext("Yes, they replied"),
    "no": lazy_gettext("No, they did not reply"),
    "not_yet": lazy_gettext("Not yet"),
}
RECORDED = {
    "yes": lazy_gettext("they replied"),
    "no": lazy_gettext("they did not reply"),
    "not_yet": lazy_gettext("they have not replied yet"),
}


def answer_slug(answer: str) -> str:
    return answer.replace("_", "-")


# -- links ------------------------------------------------------------------------------------


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(str(current_app.config["SECRET_KEY"]), salt=SALT)


def token_for(follow_up: FollowUp) -> str:
    return str(_serializer().dumps([follow_up.id, follow_up.secret]))


def answer_url(slug: str, token: str, contact_id: int, answer: str) -> str:
    site = str(current_app.config["SITE_URL"]).rstrip("/")
    return f"{site}/c/{slug}/reply/{token}/{contact_id}/{answer_slug(answer)}"


def follow_up_for_token(token: str) -> FollowUp | None:
    """The follow-up a token was made for, or None for anything we did not sign, or whose
    secret retention has cleared."""
    pair = signed_pair(_serializer(), token)
    if pair is None:
        return None
    follow_up = db.session.get(FollowUp, pair[0])
    if follow_up is None or follow_up.secret is None:
        return None
    if not secrets.compare_digest(follow_up.secret, pair[1]):
        return None
    return follow_up


def expired(follow_up: FollowUp, now: datetime | None = None) -> bool:
    return (now or utcnow()) >= follow_up.expires_at


def asked_about(follow_up: FollowUp, contact_id: int) -> Contact | None:
    """The contact a link names, if it is one the follow-up asks about."""
    contact = db.session.get(Contact, contact_id)
    if contact is None or contact.action_id != follow_up.action_id:
        return None
    # Any status: a message the mail asked about may bounce later, and the answer still holds.
    return contact if contact.channel == "email" else None


def recipient_label(contact: Contact) -> str:
    """``Representative Ada Alder``: how the question names a recipient."""
    title = (contact.target_title or "").strip()
    return f"{title} {contact.target_name}" if title else contact.target_name


def answer_of(follow_up: FollowUp, contact_id: int) -> FollowUpAnswer | None:
    return db.session.scalar(
        select(FollowUpAnswer).where(
            FollowUpAnswer.follow_up_id == follow_up.id,
            FollowUpAnswer.contact_id == contact_id,
        )
    )


def record_answer(
    follow_up: FollowUp, contact: Contact, answer: str, now: datetime | None = None
) -> str:
    """Keep ``answer`` about ``contact``. Commits. Returns ``recorded`` (first answer),
    ``changed``, ``unchanged`` (the same answer again) or ``expired`` (nothing kept)."""
    if answer not in ANSWERS:
        raise ValueError(f"not an answer: {answer!r}")
    now = now or utcnow()
    if expired(follow_up, now):
        return "expired"
    for _ in range(2):  # a concurrent first click wins the insert; this one then updates
        existing = answer_of(follow_up, contact.id)
        if existing is not None:
            if existing.answer == answer:
                db.session.commit()
                return "unchanged"
            existing.answer = answer
            existing.updated_at = now
            db.session.commit()
            return "changed"
        db.session.add(
            FollowUpAnswer(
                follow_up_id=follow_up.id,
                contact_id=contact.id,
                answer=answer,
                answered_at=now,
                updated_at=now,
            )
        )
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            continue
        return "recorded"
    raise RuntimeError("the answer could be neither added nor found")


# -- the job ----------------------------------------------------------------------------------


def _options_by_version() -> dict[tuple[int, int], FollowUpOption]:
    """The ``follow_up`` option of every campaign version that has one, by (campaign id,
    version id)."""
    found: dict[tuple[int, int], FollowUpOption] = {}
    for campaign_id, version_id, definition in db.session.execute(
        select(CampaignVersion.campaign_id, CampaignVersion.id, CampaignVersion.definition)
    ):
        option = (definition or {}).get("follow_up")
        if option:
            found[(int(campaign_id), int(version_id))] = FollowUpOption.model_validate(option)
    return found


def _due_actions(campaign_id: int, version_id: int, days: int, now: datetime) -> list[int]:
    """Actions of this version whose visitor opted in, still has their details, has not been
    asked, and whose delivered email messages all went out at least ``days`` ago (and not more
    than ``CATCH_UP`` before that)."""
    cutoff = now - timedelta(days=days)
    delivered = and_(
        Contact.action_id == Action.id,
        Contact.channel == "email",
        Contact.status.in_(DELIVERED),
    )
    return list(
        db.session.scalars(
            select(Action.id)
            .join(Constituent, Constituent.id == Action.constituent_id)
            .where(
                Action.campaign_id == campaign_id,
                Action.created_at > cutoff - CATCH_UP,
                Action.created_at <= cutoff,
                Action.campaign_version_id == version_id,
                Constituent.opt_in.is_(True),
                Constituent.anonymised_at.is_(None),
                Constituent.email.is_not(None),
                ~exists().where(FollowUp.action_id == Action.id),
                exists().where(delivered),
                ~exists().where(delivered, Contact.sent_at > cutoff),
            )
            .order_by(Action.id)
            .limit(BATCH)
        )
    )


def queue_due_follow_ups(now: datetime | None = None) -> int:
    """Queue the follow-up mail of every action that is due (see ``_due_actions``), each with
    its ``follow_up`` row, in batches (a commit each). Returns how many were queued; a rerun
    queues none of them again."""
    now = now or utcnow()
    queued = 0
    for (campaign_id, version_id), option in sorted(_options_by_version().items()):
        while due := _due_actions(campaign_id, version_id, option.days, now):
            for action_id in due:
                db.session.add(
                    FollowUp(
                        action_id=action_id,
                        secret=secrets.token_hex(16),
                        queued_at=now,
                        expires_at=now + LINK_LIFETIME,
                    )
                )
                outbox.queue(KIND, action_id=action_id)
            db.session.commit()
            queued += len(due)
    return queued


# -- the mail ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FollowUpMail:
    to_name: str | None
    to_email: str
    subject: str
    body: str


def _asked_contacts(action: Action) -> list[Contact]:
    return [c for c in action.contacts if c.channel == "email" and c.status in DELIVERED]


def follow_up_mail(follow_up: FollowUp) -> FollowUpMail | None:
    """The mail asking a visitor whether their recipients replied; None when there is no one
    to ask (retention removed their details, they no longer opt in, or nothing was
    delivered)."""
    action = follow_up.action
    constituent = action.constituent
    campaign = db.session.get(Campaign, action.campaign_id)
    contacts = _asked_contacts(action)
    if (
        campaign is None
        or follow_up.secret is None
        or constituent.anonymised_at is not None
        or not constituent.opt_in
        or not constituent.email
        or not contacts
    ):
        return None
    # In the language the visitor took part in (a job builds it, outside any request).
    with force_locale(action.language or "en"):
        return _follow_up_mail(follow_up, campaign, contacts)


def _follow_up_mail(
    follow_up: FollowUp, campaign: Campaign, contacts: list[Contact]
) -> FollowUpMail:
    action = follow_up.action
    constituent = action.constituent
    zone = site_zone()
    site = str(current_app.config.get("SITE_NAME") or gettext("our site"))
    token = token_for(follow_up)
    version = db.session.get(CampaignVersion, action.campaign_version_id)
    # The title the visitor read: the campaign's own in their language, if it has one.
    title = title_in(version.definition if version else None, action.language, campaign.title)
    names = [recipient_label(c) for c in contacts]
    if constituent.name:
        lines = [gettext("Hello %(name)s,", name=constituent.name), ""]
    else:
        lines = [gettext("Hello,"), ""]
    lines.append(
        gettext(
            'On %(day)s you wrote to %(whom)s through %(site)s for "%(title)s". Did they reply? '
            "One click for each tells us; we count the answers to show which legislators "
            "answer their constituents.",
            day=long_date(action.created_at.astimezone(zone)),
            whom=join_and(names),
            site=site,
            title=title,
        )
    )
    for contact, name in zip(contacts, names, strict=True):
        lines += ["", gettext("Did %(name)s reply?", name=name)]
        for answer in ANSWERS:
            link = answer_url(campaign.slug, token, contact.id, answer)
            lines.append(f"  {BUTTONS[answer]}: {link}")
    lines += [
        "",
        gettext(
            "Each link opens a page with a button to confirm your answer. You can change an "
            "answer until %(day)s, when the links stop working.",
            day=long_date(follow_up.expires_at.astimezone(zone)),
        ),
        "",
        gettext(
            "You get this one email because you asked to be kept informed about this "
            "campaign. We will not ask again."
        ),
    ]
    subject = (
        gettext("Did %(name)s reply? %(title)s", name=names[0], title=title)
        if len(names) == 1
        else gettext("Did your legislators reply? %(title)s", title=title)
    )
    return FollowUpMail(constituent.name, constituent.email, subject, "\n".join(lines) + "\n")


def mails_for(action_ids: Sequence[int]) -> dict[int, FollowUpMail]:
    """The follow-up mails of these actions that have something to ask, by action id."""
    found: dict[int, FollowUpMail] = {}
    for follow_up in db.session.scalars(
        select(FollowUp).where(FollowUp.action_id.in_(list(action_ids)))
    ):
        mail = follow_up_mail(follow_up)
        if mail is not None:
            found[follow_up.action_id] = mail
    return found


# -- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplyRate:
    target_id: str
    target_name: str
    target_title: str | None
    party: str | None
    state: str | None
    chamber: str | None
    district: str | None
    yes: int
    no: int
    not_yet: int

    @property
    def answers(self) -> int:
        return self.yes + self.no + self.not_yet

    @property
    def rate(self) -> float:
        """Share of the answers that said the recipient replied (0 to 1)."""
        return self.yes / self.answers if self.answers else 0.0

    @property
    def percent(self) -> str:
        return f"{100 * self.rate:.0f}%"


REPLY_COLUMNS = (
    "state",
    "chamber",
    "district",
    "target_id",
    "target_name",
    "party",
    "answers",
    "replied",
    "did_not_reply",
    "not_yet",
    "reply_rate",
)


def reply_rates(
    campaign_id: int, *where: ColumnElement[bool], min_answers: int = 1
) -> list[ReplyRate]:
    """Each recipient's answers in one campaign (contacts also filtered by ``where``), with at
    least ``min_answers`` answers; highest rate first, then most answers, then name."""

    def counted(answer: str) -> Any:
        return func.sum(case((FollowUpAnswer.answer == answer, 1), else_=0))

    rows = db.session.execute(
        select(
            Contact.target_id,
            func.max(Contact.target_name),
            func.max(Contact.target_title),
            func.max(Contact.target_party),
            func.max(Contact.target_state),
            func.max(Contact.target_chamber),
            func.max(Contact.target_district),
            counted("yes"),
            counted("no"),
            counted("not_yet"),
        )
        .join(FollowUpAnswer, FollowUpAnswer.contact_id == Contact.id)
        .where(Contact.campaign_id == campaign_id, *where)
        .group_by(Contact.target_id)
        .having(func.count() >= min_answers)
    ).all()
    rates = [
        ReplyRate(
            str(row[0]),
            str(row[1]),
            row[2],
            row[3],
            row[4],
            row[5],
            row[6],
            int(row[7] or 0),
            int(row[8] or 0),
            int(row[9] or 0),
        )
        for row in rows
    ]
    return sorted(rates, key=lambda r: (-r.rate, -r.answers, r.target_name, r.target_id))


def reply_rows(rates: Sequence[ReplyRate]) -> list[tuple[Any, ...]]:
    """The rates as rows of ``REPLY_COLUMNS`` (CSV and API): texts, counts, a rate to 0.001."""
    return [
        (
            r.state or "",
            r.chamber or "",
            r.district or "",
            r.target_id,
            r.target_name,
            r.party or "",
            r.answers,
            r.yes,
            r.no,
            r.not_yet,
            round(r.rate, 3),
        )
        for r in rates
    ]
