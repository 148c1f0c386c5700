from __future__ import annotations

from flask import Blueprint, render_template

from . import service

blueprint = Blueprint("campaigns", __name__)


@blueprint.get("/")
def home() -> str:
    campaigns = service.public_campaigns()
    states = {c.id: service.public_state(c) for c in campaigns}
    return render_template("home.html", campaigns=campaigns, states=states)
