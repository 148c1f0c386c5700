"""What the flow's pages show after the address step, gathered in one place for the views to
render: the write page's messages and the thank-you page's outcome, calls and share links."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..campaigns import templating
from ..campaigns.schema import CampaignDefinition
from ..campaigns.service import PublishedCampaign
from ..campaigns.sharing import share_links
from ..urls import public_url
from . import confirmation, operations
from .drafts import Draft, FilledMessage, fill_messages
from .models import Action, Contact
from .recipients import Recipient, constituent_values, recipients_for


@dataclass
class WritePage:
    messages: list[FilledMessage]
    error: str | None = None
    writable: list[FilledMessage] = field(default_factory=list)  # will be sent
    capped: list[FilledMessage] = field(default_factory=list)  # daily cap reached
    unreachable: list[FilledMessage] = field(default_factory=list)  # no email or address


def write_page(campaign: PublishedCampaign, draft: Draft) -> WritePage:
    try:
        messages = fill_messages(campaign.definition, draft)
    except templating.RenderError as exc:
        return WritePage([], str(exc))
    capped = operations.capped_legislators(
        campaign.id, campaign.definition, [m.recipient for m in messages]
    )
    page = WritePage(messages)
    for message in messages:
        if not message.recipient.channel:
            page.unreachable.append(message)
        elif message.recipient.id in capped:
            page.capped.append(message)
        else:
            page.writable.append(message)
    return page


@dataclass
class ThanksPage:
    contacts: list[Contact]  # written messages (email or post)
    callable: list[Recipient]
    scripts: dict[str, str]  # call script per recipient id
    called: set[str]  # recipients this visitor logged a call to
    postal: dict[str, str]  # postal address per recipient id
    capped_names: list[str]
    confirmation_state: str
    page_url: str
    share: dict[str, str]


def _call_scripts(
    definition: CampaignDefinition, action: Action, recipients: list[Recipient]
) -> dict[str, str]:
    if not definition.call_script:
        return {}
    constituent = action.constituent
    values = constituent_values(
        constituent.name or "", constituent.city or "", constituent.state or ""
    )
    scripts = {}
    for recipient in recipients:
        context = {
            "constituent": values,
            "target": recipient.template_values(),
            "campaign": {"title": definition.title},
        }
        try:
            scripts[recipient.id] = templating.render(definition.call_script, context)
        except templating.RenderError:
            scripts[recipient.id] = ""
    return scripts


def thanks_page(campaign: PublishedCampaign, action: Action) -> ThanksPage:
    definition = campaign.definition
    callable_recipients = operations.call_recipients(action, definition)
    written = [c for c in action.contacts if c.channel != "call"]
    capped_ids = set(action.capped_target_ids or [])
    page_url = public_url("actions.campaign_page", slug=campaign.slug)
    return ThanksPage(
        contacts=written,
        callable=callable_recipients,
        scripts=_call_scripts(definition, action, callable_recipients),
        called={c.target_id for c in action.contacts if c.channel == "call"},
        postal={
            r.id: r.postal_address
            for r in recipients_for(definition, [c.target_id for c in written])
        },
        capped_names=[
            r.name
            for r in recipients_for(definition, sorted(capped_ids))
            if r.kind == "legislator" and r.id in capped_ids
        ],
        confirmation_state=confirmation.state_of(action),
        page_url=page_url,
        share=share_links(definition, page_url),
    )
