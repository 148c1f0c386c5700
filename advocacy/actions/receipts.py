"""The receipt a visitor gets by email after sending: what was sent for them and to whom, the
letters to print, whom to call and what to say, and the link to share."""

from __future__ import annotations

from flask import current_app

from ..campaigns.models import Campaign
from ..campaigns.service import published_campaign
from ..campaigns.sharing import shared_url
from ..extensions import db
from ..urls import site_zone
from . import digests, operations, pages
from .models import Action


def _site_link(path: str) -> str:
    return str(current_app.config["SITE_URL"]).rstrip("/") + path


def receipt_text(action: Action) -> tuple[str, str] | None:
    """The receipt's subject and body, or None when there is nothing to say (the campaign is
    gone, or retention removed the visitor's details)."""
    constituent = action.constituent
    listed = db.session.get(Campaign, action.campaign_id)
    campaign = published_campaign(listed.slug, action.language) if listed is not None else None
    if campaign is None or constituent.anonymised_at is not None:
        return None
    definition = campaign.definition
    written = [c for c in action.contacts if c.channel in ("email", "postal")]
    callable_recipients = operations.call_recipients(action, definition)
    scripts = pages.call_scripts(definition, action, callable_recipients)
    thanks = _site_link(f"/c/{campaign.slug}/thanks/{action.submission_key}")
    lines = [f"Hello {constituent.name}," if constituent.name else "Hello,", ""]
    sent_on = action.created_at.astimezone(site_zone())
    lines.append(
        f'Thank you for taking part in "{definition.title}". This is what you sent on '
        f"{sent_on:%B %-d, %Y}:"
    )
    lines.append("")
    for contact in written:
        if contact.channel == "email" and (
            contact.status == digests.AWAITING or contact.digest_id is not None
        ):
            lines.append(
                f"- A message to {contact.target_name}, in one daily summary of this campaign's "
                f"messages sent at {digests.when_words()}: {contact.subject}"
            )
        elif contact.channel == "email":
            lines.append(f"- An email to {contact.target_name}: {contact.subject}")
        else:
            letter = f"{thanks}/letter/{contact.target_id}"
            lines.append(
                f"- A letter to {contact.target_name}, for you to print and post: {letter}"
            )
    if not written:
        lines.append("- No written message: your recipients can only be reached by phone.")
    if callable_recipients:
        lines += ["", "You can also call:"]
        for recipient in callable_recipients:
            lines += ["", f"{recipient.name}: {recipient.phone_numbers}"]
            lines += [f"  {paragraph}" for paragraph in scripts.get(recipient.id, [])]
    lines += [
        "",
        f"See what happens to your messages: {thanks}",
        f"Ask others to join: {shared_url(_site_link(f'/c/{campaign.slug}'), 'receipt')}",
        "",
        f"This email was sent by {current_app.config.get('SITE_NAME') or 'this site'} because "
        "you took part in this campaign. Please do not reply to it.",
    ]
    return f"What you sent: {definition.title}", "\n".join(lines) + "\n"
