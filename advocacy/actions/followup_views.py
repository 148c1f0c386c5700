"""The "did they reply?" pages: the answer page a follow-up mail links to, and a campaign's
optional public table of reply rates. See ``followups.py``."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from werkzeug.wrappers.response import Response

from ..campaigns.service import get_campaign, published_campaign
from ..i18n import gettext, long_date
from ..security import limit_submissions
from ..urls import site_zone
from . import followups
from .forms import StepForm
from .models import Contact

log = logging.getLogger(__name__)
blueprint = Blueprint("followups", __name__)
Page = str | tuple[str, int] | Response


def _answer_page(slug: str, token: str, contact_id: int, answer_slug: str) -> Page:
    campaign = get_campaign(slug)
    if campaign is None:
        abort(404)
    answer = followups.SLUGS.get(answer_slug)
    follow_up = followups.follow_up_for_token(token)
    contact = followups.asked_about(follow_up, contact_id) if follow_up is not None else None
    context: dict[str, Any] = {"campaign": campaign, "state": "bad"}
    if (
        answer is None
        or follow_up is None
        or contact is None
        or follow_up.action.campaign_id != campaign.id
    ):
        return render_template("actions/reply.html", **context), 404
    zone = site_zone()
    recorded = followups.answer_of(follow_up, contact.id)
    others = [a for a in followups.ANSWERS if a != answer]
    context.update(
        state="expired" if followups.expired(follow_up) else "open",
        answer=answer,
        button=str(followups.BUTTONS[answer]),
        recipient=followups.recipient_label(contact),
        sent_on=long_date((contact.sent_at or contact.created_at).astimezone(zone)),
        until=long_date(follow_up.expires_at.astimezone(zone)),
        recorded=recorded,
        recorded_text=str(followups.RECORDED[recorded.answer]) if recorded else None,
        recorded_on=long_date(recorded.updated_at.astimezone(zone)) if recorded else None,
        others=[
            (
                str(followups.BUTTONS[other]),
                url_for(
                    ".answer_page",
                    slug=slug,
                    token=token,
                    contact_id=contact.id,
                    answer_slug=followups.answer_slug(other),
                ),
            )
            for other in others
        ],
        token=token,
        contact=contact,
        answer_slug=answer_slug,
        form=StepForm(),
    )
    status = 410 if context["state"] == "expired" else 200
    return render_template("actions/reply.html", **context), status


@blueprint.get("/c/<slug>/reply/<token>/<int:contact_id>/<answer_slug>")
def answer_page(slug: str, token: str, contact_id: int, answer_slug: str) -> Page:
    """The link in the follow-up mail: a page with one button. Changes nothing (mail scanners
    open links)."""
    return _answer_page(slug, token, contact_id, answer_slug)


@blueprint.post("/c/<slug>/reply/<token>/<int:contact_id>/<answer_slug>")
@limit_submissions
def answer(slug: str, token: str, contact_id: int, answer_slug: str) -> Page:
    here = url_for(
        ".answer_page", slug=slug, token=token, contact_id=contact_id, answer_slug=answer_slug
    )
    campaign = get_campaign(slug)
    answer = followups.SLUGS.get(answer_slug)
    follow_up = followups.follow_up_for_token(token)
    contact: Contact | None = (
        followups.asked_about(follow_up, contact_id) if follow_up is not None else None
    )
    if (
        campaign is None
        or answer is None
        or follow_up is None
        or contact is None
        or follow_up.action.campaign_id != campaign.id
    ):
        return redirect(here, 303)  # the page says the link is not valid
    if not StepForm().validate_on_submit():
        flash(
            gettext("Your answer did not go through: the page had expired. Please try again."),
            "error",
        )
        return redirect(here, 303)
    name = followups.recipient_label(contact)
    outcome = followups.record_answer(follow_up, contact, answer)
    if outcome == "expired":
        return redirect(here, 303)  # the page says the link has expired
    log.info("campaign %s: follow-up %s answered (%s)", slug, follow_up.id, outcome)
    said = str(followups.RECORDED[answer])
    if outcome == "unchanged":
        flash(
            gettext(
                "We already had your answer about %(name)s: %(said)s. Thank you.",
                name=name,
                said=said,
            ),
            "success",
        )
    elif outcome == "changed":
        flash(
            gettext(
                "We changed your answer about %(name)s to: %(said)s. Thank you.",
                name=name,
                said=said,
            ),
            "success",
        )
    else:
        flash(
            gettext(
                "Thank you. We recorded your answer about %(name)s: %(said)s.",
                name=name,
                said=said,
            ),
            "success",
        )
    return redirect(here, 303)


@blueprint.get("/c/<slug>/responses")
def responses(slug: str) -> Page:
    """How responsive were legislators: a campaign's reply rates, when it publishes them."""
    campaign = published_campaign(slug)
    option = campaign.definition.follow_up if campaign is not None else None
    if campaign is None or option is None or not option.public_results:
        abort(404)
    rates = followups.reply_rates(
        campaign.id, Contact.target_kind != "fixed", min_answers=option.min_answers
    )
    return render_template(
        "actions/responses.html",
        campaign=campaign,
        definition=campaign.definition,
        option=option,
        rates=rates,
    )
