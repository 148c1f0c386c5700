from __future__ import annotations

from flask import Blueprint, abort, render_template

from ..actions.forms import ActionForm
from . import service

blueprint = Blueprint("campaigns", __name__)


@blueprint.get("/")
def home() -> str:
    campaigns = service.public_campaigns()
    states = {c.id: service.public_state(c) for c in campaigns}
    return render_template("home.html", campaigns=campaigns, states=states)


@blueprint.get("/c/<slug>")
def campaign_page(slug: str) -> str:
    campaign = service.get_campaign(slug)
    if campaign is None or campaign.current_version is None or campaign.status == "draft":
        abort(404)
    definition = service.definition_of(campaign.current_version)
    state = service.public_state(campaign)
    form = ActionForm() if state.actionable else None
    return render_template(
        "campaign.html",
        campaign=campaign,
        definition=definition,
        state=state,
        form=form,
        summary_html=service.render_markdown(definition.summary),
    )
