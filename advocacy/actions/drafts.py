"""A visitor's draft: what they told us between the steps of the flow, and the messages it
fills in."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

from ..campaigns import templating
from ..campaigns.schema import CampaignDefinition
from ..lookup.service import LookupResult
from .recipients import (
    Recipient,
    constituent_values,
    lookup_chambers,
    recipients_for,
    template_context,
)


@dataclass
class Draft:
    """Kept in the (signed) session between steps: ids and the visitor's own words, never
    directory rows."""

    slug: str
    version_id: int
    name: str
    email: str
    street_address: str
    phone: str
    opt_in: bool
    submission_key: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    matched_address: str = ""
    city: str = ""
    state: str = ""
    zip_code: str = ""
    confidence: str = "none"  # exact | approximate | manual | none
    # The visitor's legislators in the chambers the campaign needs (``lookup_chambers``); with
    # ``state``, all a committee or executive target needs to know who they write to.
    legislator_ids: list[str] = field(default_factory=list)
    # The source code of the link the visitor came by (sources.py), or "".
    source: str = ""
    # The language the write page was shown in, set as its form is sent ("" before): the
    # messages are filled from that language's templates and the action keeps it.
    language: str = ""

    def to_session(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_session(cls, data: object) -> Draft | None:
        if not isinstance(data, dict):
            return None
        try:
            return cls(**data)
        except TypeError:
            return None

    def apply_lookup(self, result: LookupResult, definition: CampaignDefinition) -> None:
        """Keep the matched address and the members of the chambers this campaign needs."""
        self.matched_address = result.matched_address or ""
        self.state = result.state or ""
        self.city = result.city or ""
        self.zip_code = result.zip_code or ""
        self.confidence = result.confidence
        self.legislator_ids = result.member_ids(lookup_chambers(definition))

    def apply_choice(self, state: str, city: str, legislator_ids: list[str]) -> None:
        """The visitor chose their districts themselves."""
        self.state = state.upper()
        self.city = city
        self.legislator_ids = legislator_ids
        self.confidence = "manual"
        self.matched_address = ""


@dataclass(frozen=True)
class FilledMessage:
    recipient: Recipient
    subject: str
    body: str

    @property
    def field_name(self) -> str:
        """The form field of this message's text (stable for a recipient, reveals nothing)."""
        who = f"{self.recipient.kind}:{self.recipient.id}"
        return "body-" + hashlib.sha256(who.encode()).hexdigest()[:16]


def fill_message(
    definition: CampaignDefinition, constituent: dict[str, str], recipient: Recipient
) -> FilledMessage:
    """The campaign's message to ``recipient`` from the visitor ``constituent`` (values of
    ``constituent_values``); ``templating.RenderError`` if the template cannot be filled."""
    context = template_context(definition, constituent, recipient)
    message = definition.message
    subject_template = recipient.message_subject or message.subject
    subject = templating.render(subject_template, context, limit=message.max_subject_length)
    body = ""
    if message.mode != "blank":
        body_template = recipient.message_body or message.body
        body = templating.render(body_template, context, limit=message.max_body_length)
    return FilledMessage(recipient, " ".join(subject.split()), body.strip() + "\n")


def fill_messages(
    definition: CampaignDefinition, draft: Draft, recipients: list[Recipient] | None = None
) -> list[FilledMessage]:
    """The draft's messages to its recipients (default: as the directory has them now)."""
    constituent = constituent_values(draft.name, draft.city, draft.state)
    if recipients is None:
        recipients = recipients_for(definition, draft.legislator_ids, draft.state)
    return [fill_message(definition, constituent, recipient) for recipient in recipients]
