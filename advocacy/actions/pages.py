"""What the flow's pages show after the address step, gathered in one place for the views to
render: the write page's messages and the thank-you page's outcome, calls and share links."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app, url_for
from markupsafe import Markup

from ..campaigns import templating
from ..campaigns.schema import (
    CampaignDefinition,
    CommitteeTarget,
    ExecutiveTarget,
    FixedTarget,
    StateLegislatorsTarget,
)
from ..campaigns.service import PublishedCampaign, public_state, summary_lead
from ..campaigns.shareimage import DEFAULT_FILE, share_image
from ..campaigns.sharing import share_links
from ..dbtypes import utcnow
from ..i18n import (
    DEFAULT,
    force_locale,
    gettext,
    language,
    lazy_gettext,
    long_date,
    ngettext,
    number,
)
from ..lookup.offices import office_words
from ..lookup.photos import photo_names
from ..urls import day_start, public_url, site_zone
from . import coach, confirmation, digests, operations
from .coach import Figures
from .drafts import Draft, FilledMessage, fill_messages
from .models import Action, Contact
from .recipients import (
    Recipient,
    constituent_values,
    recipients_for,
    resolve,
    salutation_in,
    template_context,
)


@dataclass(frozen=True)
class CampaignCard:
    """A campaign as the home page lists it and its own page heads it."""

    slug: str
    title: str
    lead: str  # the summary's first sentence
    state_key: str
    state_message: str
    actionable: bool
    taking_part: int
    goal: int | None
    text_language: str = "en"  # the language of its title and lead

    @property
    def progress(self) -> str:
        """The social-proof sentence, e.g. "1,234 people have taken part."."""
        said = ngettext(
            "%(people)s person has taken part.",
            "%(people)s people have taken part.",
            self.taking_part,
            people=number(self.taking_part),
        )
        if self.goal:
            said += " " + gettext("Help us reach %(goal)s.", goal=number(self.goal))
        return said


def campaign_card(campaign: PublishedCampaign) -> CampaignCard:
    state = public_state(campaign)
    definition = campaign.definition
    return CampaignCard(
        slug=campaign.slug,
        title=definition.title,
        lead=summary_lead(definition.summary),
        state_key=state.key,
        state_message=state.message,
        actionable=state.actionable,
        taking_part=operations.people_taking_part(campaign.id),
        goal=definition.goal,
        text_language=definition.text_language,
    )


def lang_attribute(text_language: str) -> Markup:
    """`` lang="en"`` on a block of a campaign's own text when it is not in the page's
    language (a campaign without a translation), so screen readers pronounce it right."""
    if text_language == language():
        return Markup("")
    return Markup(' lang="{}"').format(text_language)


def sent_language(campaign: PublishedCampaign, action: Action) -> str:
    """The language the action's messages were written in: its visitor's, when the campaign
    has its texts in it, else English."""
    return campaign.definition.in_language(action.language).text_language


@dataclass(frozen=True)
class ShareCard:
    """What a link to a campaign page shows when it is shared: the page's Open Graph and X
    card, its canonical address and description. Every URL is absolute (ADVOCACY_SITE_URL)."""

    site_name: str
    title: str
    description: str
    url: str
    image_url: str
    image_width: int
    image_height: int
    image_alt: str


def share_card(campaign: PublishedCampaign) -> ShareCard:
    definition = campaign.definition
    image = share_image(definition)
    image_url = (
        public_url("images.image", name=image.name)
        if image.name
        else public_url("static", filename=DEFAULT_FILE)
    )
    return ShareCard(
        site_name=str(current_app.config["SITE_NAME"]),
        title=definition.title,
        description=summary_lead(definition.summary),
        url=public_url("actions.campaign_page", slug=campaign.slug, embedded=False),
        image_url=image_url,
        image_width=image.width,
        image_height=image.height,
        image_alt=image.alt,
    )


@dataclass(frozen=True)
class KnownRecipients:
    """Who a campaign writes to before the visitor gives an address: the recipients every
    visitor has (fixed targets, every member of a committee), and the others in words."""

    recipients: list[Recipient]
    found_from_address: list[str]  # "your own state legislators", "your state's Governor"
    # The states whose directory the listed people come from (a kept page's source).
    states: tuple[str, ...]
    photos: dict[str, str] = field(default_factory=dict)  # by person id
    # Whether the address finds the visitor's own legislators (state or committee members).
    finds_legislators: bool = False


def known_recipients(definition: CampaignDefinition) -> KnownRecipients:
    fixed_now = [
        t
        for t in definition.targets
        if isinstance(t, FixedTarget)
        or (isinstance(t, CommitteeTarget) and not t.depends_on_visitor)
    ]
    words = []
    finds_legislators = False
    for target in definition.targets:
        if isinstance(target, StateLegislatorsTarget):
            words.append(gettext("your own state legislators"))
            finds_legislators = True
        elif isinstance(target, ExecutiveTarget):
            words.append(gettext("your state's %(office)s", office=office_words(target.office)))
        elif isinstance(target, CommitteeTarget) and target.depends_on_visitor:
            words.append(
                gettext(
                    "your own legislators on the %(committee)s committee",
                    committee=target.committee,
                )
            )
            finds_legislators = True
    recipients = []
    if fixed_now:
        recipients = resolve(definition.model_copy(update={"targets": fixed_now}), []).recipients
    states = tuple(sorted({t.state.lower() for t in fixed_now if isinstance(t, CommitteeTarget)}))
    return KnownRecipients(
        recipients, list(dict.fromkeys(words)), states, _photos(recipients), finds_legislators
    )


@dataclass
class WritePage:
    messages: list[FilledMessage]
    error: str | None = None
    writable: list[FilledMessage] = field(default_factory=list)  # will be sent
    capped: list[FilledMessage] = field(default_factory=list)  # daily cap reached
    unreachable: list[FilledMessage] = field(default_factory=list)  # no email or address
    photos: dict[str, str] = field(default_factory=dict)  # legislators' photos, by person id
    # Targets that give this visitor no one (no governor on record, no member of theirs on
    # the committee), in the visitor's words.
    notes: list[str] = field(default_factory=list)
    # Whether the visitor can say the legislators found for their address are not theirs.
    can_report: bool = False
    # The personalization coach's figures for each editable message, by its field name.
    coach: dict[str, Figures] = field(default_factory=dict)
    # Recipients (by id) whose message goes in the campaign's daily digest, and when it leaves.
    in_digest: set[str] = field(default_factory=set)
    digest_when: str = ""

    # How each message names its recipient, in the language of its text ("Senador/a Okafor").
    salutations: dict[str, str] = field(default_factory=dict)

    def digest_sentence(self, recipient: Recipient) -> str:
        return digest_sentence(recipient.salutation or recipient.name, self.digest_when)


def write_page(
    campaign: PublishedCampaign,
    draft: Draft,
    edits: dict[str, str] | None = None,
    *,
    coached: bool = True,
) -> WritePage:
    """The write page; ``edits`` are the visitor's texts when the page shows them again."""
    resolved = resolve(campaign.definition, draft.legislator_ids, draft.state)
    try:
        messages = fill_messages(campaign.definition, draft, resolved.recipients)
    except templating.RenderError as exc:
        return WritePage([], str(exc))
    capped = operations.capped_legislators(
        campaign.id, campaign.definition, [m.recipient for m in messages]
    )
    page = WritePage(
        messages,
        salutations={
            m.recipient.id: salutation_in(campaign.definition, m.recipient) for m in messages
        },
        photos=_photos([m.recipient for m in messages]),
        notes=resolved.notes,
        can_report=bool(draft.matched_address) and bool(draft.legislator_ids),
    )
    page.in_digest = {
        m.recipient.id for m in messages if digests.in_digest(campaign.definition, m.recipient)
    }
    page.digest_when = digests.when_words() if page.in_digest else ""
    for message in messages:
        if not message.recipient.channel:
            page.unreachable.append(message)
        elif message.recipient.id in capped:
            page.capped.append(message)
        else:
            page.writable.append(message)
    if coached and campaign.definition.message.mode != "locked":  # locked: nothing to edit
        for message in page.writable:
            if edits is None:  # the campaign's text as written: compared once the visitor edits
                page.coach[message.field_name] = coach.figures(message.body, message.body, [])
            else:
                text = edits.get(message.field_name, message.body)
                page.coach[message.field_name] = coach_figures(campaign, message, text)
    return page


def coach_figures(campaign: PublishedCampaign, message: FilledMessage, text: str) -> Figures:
    """The coach's figures for ``text``, the visitor's version of ``message``."""
    since = day_start(utcnow())
    others = coach.recent_bodies(
        campaign.id, message.recipient.id, since, coach.same_text_languages(campaign.definition)
    )
    return coach.figures(text, message.body, others)


def coach_for_field(
    campaign: PublishedCampaign, draft: Draft, field_name: str, text: str
) -> Figures | None:
    """The coach's figures for the visitor's text of one of their messages (by its form
    field), or None when the draft has no such editable message."""
    if campaign.definition.message.mode == "locked":
        return None
    page = write_page(campaign, draft, coached=False)
    message = next((m for m in page.writable if m.field_name == field_name), None)
    return None if message is None else coach_figures(campaign, message, text)


def digest_sentence(name: str, when: str) -> str:
    return gettext(
        "Your message will reach %(name)s in one daily summary of this campaign's messages, "
        "sent at %(when)s.",
        name=name,
        when=when,
    )


def _photos(recipients: list[Recipient]) -> dict[str, str]:
    return photo_names(r.id for r in recipients if r.is_person)


@dataclass(frozen=True)
class Outcome:
    """What happens to one written message, in the visitor's words."""

    name: str
    channel: str  # email | postal
    text: str
    letter_target: str | None = None  # for a letter: the target id of its printable page


# (Each follows the recipient's name and a colon, so it starts in lower case.)
_EMAIL_OUTCOMES = {
    "sent": lazy_gettext("your email has been sent."),
    "logged": lazy_gettext("your email has been recorded."),
    "failed": lazy_gettext("your email is delayed; we will keep trying to deliver it."),
    "unconfirmed": lazy_gettext(
        "your email will be sent once you confirm it (see the email we sent you)."
    ),
    "expired": lazy_gettext("your email was not sent, because it was never confirmed."),
    "recipient_left": lazy_gettext(
        "they left office before your email could be sent, so it is held while the campaign's "
        "staff decide whether to send it."
    ),
    "discarded": lazy_gettext(
        "they left office before your email could be sent, and the campaign's staff decided "
        "not to send it."
    ),
}
_DIGEST_OUTCOMES = {
    "sent": lazy_gettext(
        "your message is in this campaign's daily summary to them, which has been sent."
    ),
    "logged": lazy_gettext(
        "your message is in this campaign's daily summary to them, which has been recorded."
    ),
    "queued": lazy_gettext(
        "your message is in this campaign's daily summary to them, which is being sent."
    ),
}


def _outcome(contact: Contact, postal_address: str, salutation: str = "") -> Outcome:
    if contact.status == digests.AWAITING:
        sentence = digest_sentence(salutation or contact.target_name, digests.when_words())
        return Outcome(contact.target_name, "email", sentence[0].lower() + sentence[1:])
    if contact.digest_id is not None and contact.status in _DIGEST_OUTCOMES:
        return Outcome(contact.target_name, "email", str(_DIGEST_OUTCOMES[contact.status]))
    if contact.channel == "postal":
        if postal_address:
            text = gettext(
                "your letter is ready. Please print it and post it to %(address)s.",
                address=postal_address,
            )
        else:
            text = gettext("your letter is ready. Please print it and post it.")
        return Outcome(contact.target_name, "postal", text, contact.target_id)
    call = ""
    if contact.target_phone:
        call = " " + gettext("You can still call %(phone)s.", phone=contact.target_phone)
    if contact.status == "bounced":
        text = gettext("the recipient's mail server refused your email.") + call
    elif contact.status == "dead" and (contact.last_error or "").startswith("delivery may"):
        text = gettext(
            "we could not confirm that your email arrived; the site's team will check it."
        )
    elif contact.status == "dead":
        text = gettext("your email could not be delivered; the site's team has been told.") + call
    else:
        text = str(
            _EMAIL_OUTCOMES.get(
                contact.status, lazy_gettext("your email is queued and will be sent soon.")
            )
        )
    return Outcome(contact.target_name, "email", text)


def paragraphs(text: str) -> list[str]:
    """Text as its paragraphs, each on one line (a script's line breaks are the file's)."""
    return [" ".join(block.split()) for block in text.split("\n\n") if block.strip()]


@dataclass
class ThanksPage:
    outcomes: list[Outcome]
    callable: list[Recipient]
    scripts: dict[str, list[str]]  # call script per recipient id, as paragraphs
    called: set[str]  # recipients this visitor logged a call to
    capped_names: list[str]
    confirmation_state: str
    page_url: str
    share: dict[str, str]
    photos: dict[str, str]  # legislators' photos, by person id

    @property
    def emails(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.channel == "email"]


def call_scripts(
    definition: CampaignDefinition, action: Action, recipients: list[Recipient]
) -> dict[str, list[str]]:
    constituent = action.constituent
    values = constituent_values(
        constituent.name or "", constituent.city or "", constituent.state or ""
    )
    scripts = {}
    for recipient in recipients:
        script = recipient.call_script or definition.call_script
        if not script:
            continue
        context = template_context(definition, values, recipient)
        try:
            scripts[recipient.id] = paragraphs(templating.render(script, context))
        except templating.RenderError:
            continue
    return scripts


def thanks_page(campaign: PublishedCampaign, action: Action) -> ThanksPage:
    definition = campaign.definition
    callable_recipients = operations.call_recipients(action, definition)
    written = [c for c in action.contacts if c.channel != "call"]
    found = recipients_for(definition, [c.target_id for c in written], action.state or "")
    postal = {r.id: r.postal_address for r in found}
    salutations = {r.id: r.salutation for r in found}
    capped_ids = set(action.capped_target_ids or [])
    # Those the visitor asks to join open the campaign in the language they wrote in.
    in_language = {"lang": action.language} if action.language not in ("", DEFAULT) else {}
    page_url = public_url(
        "actions.campaign_page", slug=campaign.slug, embedded=False, **in_language
    )
    return ThanksPage(
        outcomes=[
            _outcome(c, postal.get(c.target_id, ""), salutations.get(c.target_id, ""))
            for c in written
        ],
        callable=callable_recipients,
        scripts=call_scripts(definition, action, callable_recipients),
        called={c.target_id for c in action.contacts if c.channel == "call"},
        capped_names=[
            r.name
            for r in recipients_for(definition, sorted(capped_ids), action.state or "")
            if r.kind in operations.LEGISLATOR_KINDS and r.id in capped_ids
        ],
        confirmation_state=confirmation.state_of(action),
        page_url=page_url,
        share=share_links(definition, page_url),
        photos=_photos(callable_recipients),
    )


def address_lines(address: str) -> list[str]:
    """A postal address as the lines of an envelope. Open States separates lines with ";"
    ("State House; 107 North Main Street; Concord, NH 03301"); a campaign file writes
    "4025 Chestnut Street, Philadelphia, PA 19104": street, then town with state and ZIP."""
    if ";" in address:
        return [part.strip() for part in address.split(";") if part.strip()]
    parts = [part.strip() for part in address.split(",")]
    return [parts[0], ", ".join(parts[1:])] if len(parts) > 1 else parts


@dataclass(frozen=True)
class LetterPage:
    sender: list[str]  # name, then the address as the visitor gave it
    date: str
    recipient: list[str]  # name, organisation, address lines
    subject: str
    regarding: str  # the subject line as the letter shows it ("Re: ...")
    body: list[str]  # paragraphs; a paragraph's own line breaks (a signature) are kept
    back_url: str
    language: str = "en"  # the letter's own: that of the templates it was written from


def letter_page(campaign: PublishedCampaign, action: Action, target_id: str) -> LetterPage | None:
    """The printable letter of ``action`` to ``target_id``, if it wrote one."""
    contact = next(
        (c for c in action.contacts if c.channel == "postal" and c.target_id == target_id), None
    )
    constituent = action.constituent
    if contact is None or not contact.body or constituent.anonymised_at is not None:
        return None
    found = [
        r
        for r in recipients_for(campaign.definition, [target_id], action.state or "")
        if r.id == target_id
    ]
    recipient = found[0] if found else None
    lines = [contact.target_name]
    if recipient is not None:
        if recipient.organisation and recipient.organisation != recipient.name:
            lines.append(recipient.organisation)
        lines += address_lines(recipient.postal_address)
    sent = action.created_at.astimezone(site_zone())
    # The letter is in the language the visitor wrote it in, whatever the page's.
    written_in = sent_language(campaign, action)
    with force_locale(written_in):
        dated = long_date(sent)
        regarding = gettext("Re: %(subject)s", subject=contact.subject or "")
    return LetterPage(
        sender=[constituent.name or "", constituent.street_address or ""],
        date=dated,
        language=written_in,
        recipient=[line for line in lines if line],
        subject=contact.subject or "",
        regarding=regarding,
        body=[block.strip("\n") for block in contact.body.split("\n\n") if block.strip()],
        back_url=url_for("actions.thanks", slug=campaign.slug, key=action.submission_key),
    )
