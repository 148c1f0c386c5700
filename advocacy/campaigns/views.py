from __future__ import annotations

from flask import Blueprint, abort, render_template

from ..actions.forms import ActionForm
from . import pages, service

blueprint = Blueprint("campaigns", __name__)


@blueprint.get("/")
def home() -> str:
    campaigns = service.public_campaigns()
    states = {c.id: service.public_state(c) for c in campaigns}
    return render_template("home.html", campaigns=campaigns, states=states)


@blueprint.get("/c/<slug>")
def campaign_page(slug: str) -> str:
    campaign = pages.published(slug, fresh=False)
    if campaign is None:
        abort(404)
    state = service.public_state(campaign)
    return pages.serve(
        (campaign.id, campaign.version_id, state),
        lambda: pages.render_campaign(campaign, campaign.definition, state, ActionForm()),
    )
