from __future__ import annotations

from flask import Blueprint, abort, render_template

from ..actions.forms import ActionForm
from ..extensions import db
from . import pages, service
from .models import Campaign, CampaignVersion

blueprint = Blueprint("campaigns", __name__)


@blueprint.get("/")
def home() -> str:
    campaigns = service.public_campaigns()
    states = {c.id: service.public_state(c) for c in campaigns}
    return render_template("home.html", campaigns=campaigns, states=states)


@blueprint.get("/c/<slug>")
def campaign_page(slug: str) -> str:
    head = pages.campaign_head(slug)
    if head is None or head.current_version_id is None or head.status == "draft":
        abort(404)
    state = service.public_state(head)

    def render() -> str:
        # The version the key names, even if a newer one was saved since.
        campaign = db.session.get(Campaign, head.id)
        version = db.session.get(CampaignVersion, head.current_version_id)
        if campaign is None or version is None:  # deleted between the two queries
            abort(404)
        definition = service.definition_of(version)
        return pages.render_campaign(campaign, definition, state, ActionForm())

    return pages.serve((head.id, head.current_version_id, state), render)
