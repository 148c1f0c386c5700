"""Per-office digests (a campaign's ``delivery: {legislators: digest}``).

A digest campaign's messages to the people found for each visitor (legislators, committee
members, officials) are logged at the send as usual but not queued one by one: each contact
waits (``awaiting_digest``) for the day's digest. At ADVOCACY_DIGEST_HOUR (ADVOCACY_TIMEZONE)
the ``build-digests`` job makes, for each campaign and recipient, ONE digest of the messages
written before that hour and queues it in the outbox (kind ``digest``): how many constituents
wrote, by district (the recipient's own first); every edited message in full with its sender's
name, city and reply address; the campaign's message once with the list of those who sent it
unchanged; and the address of a read-only web page with the same content (an unguessable
token, no sign-in).

A digest is made once per campaign, recipient and day: the unique key on ``digest`` makes the
second of two schedulers building it at the same moment fail and roll back. A contact joins a
digest by a guarded update (``status = 'awaiting_digest'``), so it is carried once. Fixed
targets keep one email per message.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from ..campaigns import templating
from ..campaigns.loader import LANGUAGE_NAMES
from ..campaigns.models import Campaign, CampaignVersion
from ..campaigns.schema import CampaignDefinition
from ..campaigns.service import definition_of
from ..dbtypes import utcnow
from ..delivery import outbox
from ..delivery.mailer import MessageData
from ..delivery.models import OutboxMessage
from ..extensions import db
from ..i18n import gettext, lazy_gettext, ngettext
from ..lookup.directory import legislator_contacts, site_today
from ..lookup.offices import still_in_office
from ..lookup.registry import state_name
from ..urls import site_zone
from .drafts import fill_message
from .messages import LEFT_OFFICE
from .models import Action, Constituent, Contact, Digest
from .recipients import Recipient, recipients_for

KIND = "digest"
AWAITING = "awaiting_digest"
# Recipients a digest campaign writes to in digests (found for each visitor).
DIGEST_KINDS = ("legislator", "committee", "executive")
_CONTACT_STATUS = {
    "retry": "failed",
    "bounced": "bounced",
    "dead": "dead",
    "unconfirmed": "dead",
    "held": "recipient_left",
}
_CHAMBER_WORDS = {"lower": "House", "upper": "Senate", "legislature": "Legislature"}


def in_digest(definition: CampaignDefinition, recipient: Recipient) -> bool:
    """Whether a message to ``recipient`` goes in the day's digest instead of its own email."""
    return definition.digest and recipient.kind in DIGEST_KINDS and recipient.channel == "email"


# -- when ----------------------------------------------------------------------------------


def digest_hour() -> int:
    return int(current_app.config.get("DIGEST_HOUR", 17))


def last_digest_time(now: datetime) -> datetime:
    """The most recent digest hour at or before ``now`` (an aware datetime, site zone)."""
    local = now.astimezone(site_zone())
    today = datetime.combine(local.date(), time(digest_hour()), tzinfo=site_zone())
    return today if today <= local else today - timedelta(days=1)


# US time zones as people name them; any other zone is named by its key.
_ZONE_NAMES = {
    "America/New_York": "Eastern",
    "America/Detroit": "Eastern",
    "America/Indiana/Indianapolis": "Eastern",
    "America/Kentucky/Louisville": "Eastern",
    "America/Chicago": "Central",
    "America/Denver": "Mountain",
    "America/Boise": "Mountain",
    "America/Phoenix": "Arizona",
    "America/Los_Angeles": "Pacific",
    "America/Anchorage": "Alaska",
    "Pacific/Honolulu": "Hawaii",
    "UTC": "UTC",
    "Etc/UTC": "UTC",
}
# The zones' names in a sentence, in the reader's language ("5 pm Eastern time").
_ZONE_WORDS = {
    "Eastern": lazy_gettext("%(clock)s Eastern time"),
    "Central": lazy_gettext("%(clock)s Central time"),
    "Mountain": lazy_gettext("%(clock)s Mountain time"),
    "Arizona": lazy_gettext("%(clock)s Arizona time"),
    "Pacific": lazy_gettext("%(clock)s Pacific time"),
    "Alaska": lazy_gettext("%(clock)s Alaska time"),
    "Hawaii": lazy_gettext("%(clock)s Hawaii time"),
}


def when_words() -> str:
    """When digests are sent, as the pages say it: "5 pm Eastern time"."""
    hour = digest_hour()
    if hour == 0:
        clock = gettext("midnight")
    elif hour == 12:
        clock = gettext("noon")
    elif hour < 12:  # (a count: in Spanish "a la 1", "a las 9")
        clock = ngettext("%(num)s am", "%(num)s am", hour)
    else:
        clock = ngettext("%(num)s pm", "%(num)s pm", hour % 12)
    zone = site_zone().key
    name = _ZONE_NAMES.get(zone, zone.replace("_", " "))
    if name == "UTC":
        return gettext("%(clock)s UTC", clock=clock)
    words = _ZONE_WORDS.get(name)
    if words is not None:
        return str(words) % {"clock": clock}
    return gettext("%(clock)s %(zone)s time", clock=clock, zone=name)


# -- building ------------------------------------------------------------------------------


@dataclass
class BuildReport:
    built: int = 0
    messages: int = 0
    # Already built for the day (by another scheduler, or before a straggler was written:
    # its messages wait for the next day's).
    skipped: int = 0

    def summary(self) -> str:
        return (
            f"{self.built} digest(s) built carrying {self.messages} message(s); "
            f"{self.skipped} already built for the day"
        )


def _waiting(campaign_id: int, target_id: str, before: datetime) -> list[ColumnElement[bool]]:
    return [
        Contact.campaign_id == campaign_id,
        Contact.target_id == target_id,
        Contact.status == AWAITING,
        Contact.digest_id.is_(None),
        Contact.created_at < before,
    ]


def build_due_digests(now: datetime) -> BuildReport:
    """Make and queue every digest due at ``now``: for each campaign and recipient with
    messages waiting from before the last digest hour, one digest of them, dated that hour's
    day. Commits each digest on its own. A message that waits for a digest already made
    (sent just as it was being built) goes in the next day's."""
    cutoff = last_digest_time(now)
    day = cutoff.date()
    report = BuildReport()
    groups = db.session.execute(
        select(Contact.campaign_id, Contact.target_id)
        .where(
            Contact.status == AWAITING,
            Contact.digest_id.is_(None),
            Contact.created_at < cutoff,
        )
        .group_by(Contact.campaign_id, Contact.target_id)
        .order_by(Contact.campaign_id, Contact.target_id)
    ).all()
    db.session.rollback()  # nothing held open between the question and the writes
    for campaign_id, target_id in groups:
        count = _build_one(campaign_id, target_id, day, cutoff)
        if count is None:
            report.skipped += 1
        elif count:
            report.built += 1
            report.messages += count
    return report


def _build_one(campaign_id: int, target_id: str, day: date, cutoff: datetime) -> int | None:
    """Build one digest; its message count, 0 when nothing was left, None when it exists."""
    session = db.session
    try:
        exists = session.scalar(
            select(Digest.id).where(
                Digest.campaign_id == campaign_id, Digest.target_id == target_id, Digest.day == day
            )
        )
        if exists is not None:
            session.rollback()
            return None
        latest = session.execute(
            select(Contact.target_name, Contact.target_email)
            .where(*_waiting(campaign_id, target_id, cutoff))
            .order_by(Contact.id.desc())
            .limit(1)
        ).first()
        if latest is None:
            session.rollback()
            return 0
        digest = Digest(
            campaign_id=campaign_id,
            target_id=target_id,
            day=day,
            target_name=latest.target_name,
            target_email=latest.target_email,
            token=secrets.token_urlsafe(32),
            message_count=0,
            created_at=utcnow(),
        )
        session.add(digest)
        # The unique key: a second builder of this digest waits here for the first one's
        # commit (PostgreSQL) or the write lock (SQLite), then fails.
        session.flush()
        carried = session.scalars(
            update(Contact)
            .where(*_waiting(campaign_id, target_id, cutoff))
            .values(digest_id=digest.id, status="queued")
            .returning(Contact.id)
            .execution_options(synchronize_session=False)
        ).all()
        if not carried:
            session.rollback()
            return 0
        digest.message_count = len(carried)
        message = outbox.queue(KIND)
        session.flush()
        digest.outbox_id = message.id
        session.commit()
        return len(carried)
    except IntegrityError:
        session.rollback()
        return None
    except BaseException:
        session.rollback()
        raise


# -- content -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sender:
    name: str
    city: str
    email: str

    @property
    def line(self) -> str:
        return ", ".join(part for part in (self.name, self.city, self.email) if part)


@dataclass(frozen=True)
class Edited:
    sender: Sender
    subject: str
    body: str


@dataclass(frozen=True)
class Unchanged:
    """The campaign's message in another language (a translation), sent unchanged by these
    constituents: the office reads it once, like the English one."""

    language: str  # its name in English: "Spanish"
    code: str  # "es"
    subject: str
    body: str
    senders: list[Sender]


@dataclass(frozen=True)
class DistrictCount:
    label: str
    count: int
    own: bool


@dataclass
class DigestContent:
    campaign_title: str
    site_name: str
    target_name: str
    day: date
    total: int
    districts: list[DistrictCount]
    edited: list[Edited]
    template_subject: str
    template_body: str
    unchanged: list[Sender]
    page_url: str
    # Messages whose sender's personal data retention has removed: counted, not shown.
    removed: int = 0
    notes: list[str] = field(default_factory=list)
    # The campaign's message in its other languages, each with those who sent it unchanged.
    unchanged_translations: list[Unchanged] = field(default_factory=list)

    @property
    def day_words(self) -> str:
        return f"{self.day:%B} {self.day.day}, {self.day.year}"

    @property
    def removed_sentence(self) -> str:
        """What is said of the messages retention has emptied."""
        if self.removed == self.total:
            return (
                "The messages and names of these constituents have since been removed under "
                "the site's data retention policy."
            )
        return (
            f"{_people(self.removed)} also wrote; their messages and names have since been "
            "removed under the site's data retention policy."
        )

    @property
    def subject(self) -> str:
        people = "1 constituent" if self.total == 1 else f"{self.total:,} constituents"
        return f"{people} wrote about {self.campaign_title}: digest of {self.day_words}"


def _district_label(chamber: str | None, district: str | None) -> str:
    if not district:
        return "District not known"
    return f"{_CHAMBER_WORDS.get(chamber or '', 'District')} district {district}".replace(
        "District district", "District"
    )


def digest_content(digest: Digest) -> DigestContent:
    """What a digest says, made from the contacts it carries as they are now."""
    rows = db.session.execute(
        select(Contact, Action.legislator_ids, Constituent, Action.language)
        .join(Action, Action.id == Contact.action_id)
        .join(Constituent, Constituent.id == Action.constituent_id)
        .where(Contact.digest_id == digest.id)
        .order_by(Contact.id)
    ).all()
    campaign = db.session.get(Campaign, digest.campaign_id)
    own = legislator_contacts([digest.target_id]).get(digest.target_id)
    # Each sender's district: their own legislator in the recipient's chamber (the House
    # for an official), as the directory has them.
    chamber = own.chamber if own is not None else "lower"
    people = legislator_contacts([str(i) for _, ids, _, _ in rows for i in (ids or [])])
    counts: Counter[tuple[str | None, str | None]] = Counter()
    edited: list[Edited] = []
    unchanged: list[Sender] = []
    removed = 0
    first_unchanged = ""
    # Unchanged messages written from a translation, by its language: (latest contact, senders).
    translated: dict[str, tuple[Contact, list[Sender]]] = {}
    definitions: dict[int, CampaignDefinition | None] = {}
    for contact, ids, constituent, language in rows:
        theirs = [people[str(i)] for i in ids or [] if str(i) in people]
        same = [p for p in theirs if p.chamber == chamber] or theirs
        counts[(same[0].chamber, same[0].district) if same else (None, None)] += 1
        if constituent.anonymised_at is not None or contact.body is None:
            removed += 1
            continue
        city = constituent.city or ""
        city = city.title() if city.isupper() else city  # the Census writes NASHUA
        sender = Sender(constituent.name or "", city, constituent.email or "")
        written_in = _text_language(contact, language, definitions)
        if contact.personalised:
            edited.append(Edited(sender, contact.subject or "", contact.body))
        elif written_in != "en":
            group = translated.setdefault(written_in, (contact, []))
            translated[written_in] = (contact, [*group[1], sender])
        else:
            unchanged.append(sender)
            first_unchanged = first_unchanged or contact.body
    own_key = (own.chamber, own.district) if own is not None else None
    ordered = sorted(
        counts.items(), key=lambda item: (item[0] != own_key, item[0][1] is None, -item[1])
    )
    english = [row[0] for row in rows if _text_language(row[0], row[3], definitions) == "en"]
    subject, body = _template_text(english[-1] if english else None, digest.target_id)
    others = []
    for code, (latest, senders) in sorted(translated.items()):
        other_subject, other_body = _template_text(latest, digest.target_id, code)
        others.append(
            Unchanged(
                LANGUAGE_NAMES.get(code, code),
                code,
                other_subject,
                other_body or latest.body or "",
                senders,
            )
        )
    return DigestContent(
        campaign_title=campaign.title if campaign is not None else "",
        site_name=str(current_app.config["SITE_NAME"]),
        target_name=digest.target_name,
        day=digest.day,
        total=len(rows),
        districts=[
            DistrictCount(_district_label(*key), count, key == own_key) for key, count in ordered
        ],
        edited=edited,
        template_subject=subject,
        template_body=body or first_unchanged,
        unchanged=unchanged,
        page_url=page_url(digest.token),
        removed=removed,
        unchanged_translations=others,
    )


def _text_language(
    contact: Contact, language: str, definitions: dict[int, CampaignDefinition | None]
) -> str:
    """The language of the templates ``contact`` was written from: its sender's, when the
    campaign version had its texts in it, else English."""
    if language == "en":
        return "en"
    version_id = contact.campaign_version_id
    if version_id not in definitions:
        version = db.session.get(CampaignVersion, version_id)
        definitions[version_id] = definition_of(version) if version is not None else None
    definition = definitions[version_id]
    return definition.in_language(language).text_language if definition is not None else "en"


def _template_text(
    contact: Contact | None, target_id: str, language: str = "en"
) -> tuple[str, str]:
    """The campaign's message to this recipient in ``language``, with the sender's own values
    as placeholders (``[your name]``), from the version the latest message was written with."""
    if contact is None:
        return "", ""
    version = db.session.get(CampaignVersion, contact.campaign_version_id)
    if version is None:
        return "", ""
    definition = definition_of(version).in_language(language)
    found = [
        r
        for r in recipients_for(definition, [target_id], contact.target_state or "")
        if r.id == target_id
    ]
    if not found:
        return contact.subject or "", ""
    placeholders = {
        "name": "[name]",
        "first_name": "[first name]",
        "city": "[city]",
        "state": (contact.target_state or "").upper(),
        "state_name": state_name(contact.target_state) if contact.target_state else "[state]",
    }
    try:
        message = fill_message(definition, placeholders, found[0])
    except templating.RenderError:
        return contact.subject or "", ""
    return message.subject, message.body


def digest_text(content: DigestContent) -> str:
    """The digest as a plain-text email."""
    lines = [
        f"Dear {content.target_name},",
        "",
        f'This is the daily digest of the campaign "{content.campaign_title}" on '
        f"{content.site_name} for {content.day_words}: {_people(content.total)} wrote to you "
        "through it since the previous digest. You get one email a day with all of their "
        "messages instead of one email per message.",
        "",
        "How many wrote, by district:",
    ]
    for item in content.districts:
        own = " (your district)" if item.own else ""
        lines.append(f"  {item.label}{own}: {item.count:,}")
    if content.edited:
        lines += [
            "",
            f"Messages the constituents wrote or changed themselves ({len(content.edited):,}):",
        ]
        for number, message in enumerate(content.edited, 1):
            lines += [
                "",
                f"{number}. From {message.sender.line}",
                f"Subject: {message.subject}",
                "",
                message.body.rstrip(),
                "",
                "-" * 40,
            ]
    if content.unchanged:
        lines += [
            "",
            f"The campaign's message, sent unchanged by {_people(len(content.unchanged))} "
            "(each signed with their own name and city):",
            "",
        ]
        if content.template_subject:
            lines += [f"Subject: {content.template_subject}", ""]
        lines += [content.template_body.rstrip(), "", "Sent unchanged by:"]
        lines += [f"  {sender.line}" for sender in content.unchanged]
    for group in content.unchanged_translations:
        lines += [
            "",
            f"The campaign's message in {group.language}, sent unchanged by "
            f"{_people(len(group.senders))} (each signed with their own name and city):",
            "",
        ]
        if group.subject:
            lines += [f"Subject: {group.subject}", ""]
        lines += [group.body.rstrip(), "", "Sent unchanged by:"]
        lines += [f"  {sender.line}" for sender in group.senders]
    if content.removed:
        lines += ["", content.removed_sentence]
    lines += [
        "",
        "To answer a constituent, write to the address given with their name.",
        f"Read this digest on the web: {content.page_url}",
        "",
        "--",
        f"{content.site_name}, sent on behalf of the constituents named above.",
    ]
    return "\n".join(lines) + "\n"


def _people(count: int) -> str:
    return "1 constituent" if count == 1 else f"{count:,} constituents"


def page_url(token: str) -> str:
    """The digest's web page (built without a request: the worker sends the digest)."""
    return str(current_app.config["SITE_URL"]).rstrip("/") + f"/digest/{token}"


def digest_by_token(token: str) -> Digest | None:
    if not 20 <= len(token) <= 64:
        return None
    digest = db.session.scalar(select(Digest).where(Digest.token == token))
    if digest is None or not secrets.compare_digest(digest.token, token):
        return None
    return digest


# -- the outbox kind -----------------------------------------------------------------------


def _left_office(connection: Connection, digest: Digest) -> bool:
    """Whether the digest's recipient no longer holds the seat or office its messages were
    written to (unless staff chose to send them anyway), as for a message of its own."""
    kinds = connection.execute(
        select(Contact.target_kind, func.max(Contact.send_anyway_at))
        .where(Contact.digest_id == digest.id)
        .group_by(Contact.target_kind)
    ).all()
    if not kinds or any(anyway is not None for _, anyway in kinds):
        return False
    seated = {kind for kind, _ in kinds} & {"legislator", "committee"}
    target = {digest.target_id}
    current = still_in_office(
        connection, target if seated else set(), set() if seated else target, site_today()
    )
    return digest.target_id not in current


def _load(
    connection: Connection, rows: Sequence[outbox.Queued]
) -> dict[int, MessageData | outbox.Hold]:
    messages: dict[int, MessageData | outbox.Hold] = {}
    for row in rows:
        digest = db.session.scalar(select(Digest).where(Digest.outbox_id == row.id))
        if digest is None or not digest.target_email:
            continue  # nothing to send: dead-lettered
        if _left_office(connection, digest):
            messages[row.id] = outbox.Hold(LEFT_OFFICE)
            continue
        content = digest_content(digest)
        messages[row.id] = MessageData(
            to_name=digest.target_name,
            to_email=digest.target_email,
            subject=content.subject,
            body=digest_text(content),
        )
    return messages


def _outcome(connection: Connection, row: outbox.Queued, outcome: outbox.Outcome) -> None:
    digest_id = connection.scalar(select(Digest.id).where(Digest.outbox_id == row.id))
    if digest_id is None:
        return
    contacts = update(Contact).where(Contact.digest_id == digest_id)
    if outcome.result == "requeued":
        contacts = contacts.where(Contact.status.in_(("dead", "bounced"))).values(status="queued")
    elif outcome.result in ("sent", "logged"):
        now = utcnow()
        contacts = contacts.values(status=outcome.result, sent_at=now, last_error=None)
        connection.execute(update(Digest).where(Digest.id == digest_id).values(sent_at=now))
    else:
        contacts = contacts.values(
            status=_CONTACT_STATUS.get(outcome.result, "failed"), last_error=outcome.error
        )
    connection.execute(contacts)


def _retryable(campaign_slug: str | None) -> ColumnElement[bool]:
    digests = select(Digest.outbox_id).where(Digest.outbox_id.is_not(None))
    if campaign_slug is not None:
        campaign_id = db.session.scalar(select(Campaign.id).where(Campaign.slug == campaign_slug))
        if campaign_id is None:
            raise outbox.UnknownCampaign(campaign_slug)
        digests = digests.where(Digest.campaign_id == campaign_id)
    return OutboxMessage.id.in_(digests)


def digest_stats(campaign_ids: list[int] | None = None) -> tuple[int, float, int]:
    """Digests sent (or logged), and the average and largest number of messages they carried."""
    query = select(
        func.count(Digest.id), func.avg(Digest.message_count), func.max(Digest.message_count)
    ).where(Digest.sent_at.is_not(None))
    if campaign_ids is not None:
        query = query.where(Digest.campaign_id.in_(campaign_ids))
    count, average, largest = db.session.execute(query).one()
    return int(count or 0), float(average or 0), int(largest or 0)


outbox.register_kind(KIND, load=_load, on_outcome=_outcome, retryable=_retryable)
