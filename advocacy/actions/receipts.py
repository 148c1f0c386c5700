"""The receipt a visitor gets by email after sending: what was sent for them and to whom, the
letters to print, whom to call and what to say, and the link to share."""

from __future__ import annotations

from flask import current_app

from ..campaigns.models import Campaign
from ..campaigns.service import published_campaign
from ..campaigns.sharing import shared_url
from ..extensions import db
from ..i18n import DEFAULT, force_locale, gettext, long_date
from ..urls import site_zone
from . import digests, operations, pages
from .models import Action


def _site_link(path: str) -> str:
    return str(current_app.config["SITE_URL"]).rstrip("/") + path


def receipt_text(action: Action) -> tuple[str, str] | None:
    """The receipt's subject and body, or None when there is nothing to say (the campaign is
    gone, or retention removed the visitor's details). In the language the visitor took part
    in: the outbox builds it in a job, outside any request."""
    with force_locale(action.language or "en"):
        return _receipt_text(action)


def _receipt_text(action: Action) -> tuple[str, str] | None:
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
    if constituent.name:
        lines = [gettext("Hello %(name)s,", name=constituent.name), ""]
    else:
        lines = [gettext("Hello,"), ""]
    sent_on = action.created_at.astimezone(site_zone())
    lines.append(
        gettext(
            'Thank you for taking part in "%(title)s". This is what you sent on %(day)s:',
            title=definition.title,
            day=long_date(sent_on),
        )
    )
    lines.append("")
    for contact in written:
        if contact.channel == "email" and (
            contact.status == digests.AWAITING or contact.digest_id is not None
        ):
            lines.append(
                "- "
                + gettext(
                    "A message to %(name)s, in one daily summary of this campaign's messages "
                    "sent at %(when)s: %(subject)s",
                    name=contact.target_name,
                    when=digests.when_words(),
                    subject=contact.subject,
                )
            )
        elif contact.channel == "email":
            lines.append(
                "- "
                + gettext(
                    "An email to %(name)s: %(subject)s",
                    name=contact.target_name,
                    subject=contact.subject,
                )
            )
        else:
            letter = f"{thanks}/letter/{contact.target_id}"
            lines.append(
                "- "
                + gettext(
                    "A letter to %(name)s, for you to print and post: %(link)s",
                    name=contact.target_name,
                    link=letter,
                )
            )
    if not written:
        lines.append(
            "- " + gettext("No written message: your recipients can only be reached by phone.")
        )
    if callable_recipients:
        lines += ["", gettext("You can also call:")]
        for recipient in callable_recipients:
            lines += ["", f"{recipient.name}: {recipient.phone_numbers}"]
            lines += [f"  {paragraph}" for paragraph in scripts.get(recipient.id, [])]
    page = f"/c/{campaign.slug}"
    if action.language and action.language != DEFAULT:  # (as on the thank-you page)
        page += f"?lang={action.language}"
    share = shared_url(_site_link(page), "receipt")
    lines += [
        "",
        gettext("See what happens to your messages: %(link)s", link=thanks),
        gettext("Ask others to join: %(link)s", link=share),
        "",
        gettext(
            "This email was sent by %(site)s because you took part in this campaign. Please do "
            "not reply to it.",
            site=current_app.config.get("SITE_NAME") or gettext("this site"),
        ),
    ]
    return gettext("What you sent: %(title)s", title=definition.title), "\n".join(lines) + "\n"
