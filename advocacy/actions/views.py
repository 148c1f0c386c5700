from __future__ import annotations

from flask import Blueprint, abort, render_template

from ..campaigns import service as campaign_service
from ..lookup.service import BadAddress, CensusUnavailable, lookup_address
from .forms import ActionForm

blueprint = Blueprint("actions", __name__)


@blueprint.post("/c/<slug>/act")
def start(slug: str) -> tuple[str, int]:
    campaign = campaign_service.get_campaign(slug)
    if campaign is None or campaign.current_version is None or campaign.status == "draft":
        abort(404)
    definition = campaign_service.definition_of(campaign.current_version)
    state = campaign_service.public_state(campaign)
    if not state.actionable:
        return render_template(
            "campaign.html",
            campaign=campaign,
            definition=definition,
            state=state,
            form=None,
            summary_html=campaign_service.render_markdown(definition.summary),
        ), 409
    form = ActionForm()
    result = error = None
    if form.validate_on_submit():
        try:
            result = lookup_address(form.street_address.data or "")
        except BadAddress as exc:
            form.street_address.errors = [str(exc)]
        except CensusUnavailable:
            error = (
                "The address service is not answering right now. Please try again in a "
                "minute, or choose your district yourself."
            )
    if result is None:
        return render_template(
            "campaign.html",
            campaign=campaign,
            definition=definition,
            state=state,
            form=form,
            summary_html=campaign_service.render_markdown(definition.summary),
            error=error,
        ), 400
    return render_template(
        "actions/recipients.html",
        campaign=campaign,
        definition=definition,
        result=result,
        form=form,
    ), 200
