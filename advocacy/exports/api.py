"""``GET /api/campaigns/<slug>/tallies``: the tallies as JSON for partners' dashboards, and
``GET /api/campaigns/<slug>/replies``: each recipient's "did they reply?" answers and rate.

Authenticated by a per-user API token (``Authorization: Bearer <token>``), never by the
session cookie, so it is exempt from CSRF (it only reads). 401 for a missing, unknown or
revoked token; 403 when the token belongs to another campaign; 400 for a bad query.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from werkzeug.wrappers.response import Response

from ..actions.followups import REPLY_COLUMNS
from ..campaigns import service as campaign_service
from ..campaigns.models import Campaign
from . import tallies, tokens

blueprint = Blueprint("exports_api", __name__, url_prefix="/api")
NO_STORE = {"Cache-Control": "no-store"}


def _error(message: str, status: int) -> tuple[Response, int, dict[str, str]]:
    headers = dict(NO_STORE)
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="advocacy tallies"'
    return jsonify(error=message), status, headers


Answer = tuple[Response, int, dict[str, str]]


def _readable_request(slug: str) -> tallies.TallyRequest | Answer:
    """The tally request of the query, for a bearer of a token that may read the campaign;
    else the error answer."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return _error("send an API token: Authorization: Bearer <token>", 401)
    bearer = tokens.authenticate(secret.strip())
    if bearer is None:
        return _error("this API token is unknown or has been revoked", 401)
    campaign: Campaign | None = campaign_service.get_campaign(slug)
    if bearer.token.campaign_id is not None and (campaign is None or not bearer.may_read(campaign)):
        return _error("this API token is for another campaign", 403)
    if campaign is None:
        return _error(f"no campaign {slug!r}", 404)
    try:
        return tallies.tally_request(
            campaign,
            by=",".join(request.args.getlist("by")) or None,
            start=request.args.get("from"),
            end=request.args.get("to"),
            state=request.args.get("state"),
        )
    except tallies.TallyProblem as exc:
        return _error(str(exc), 400)


@blueprint.get("/campaigns/<slug>/tallies")
def campaign_tallies(slug: str) -> Answer:
    tally = _readable_request(slug)
    if not isinstance(tally, tallies.TallyRequest):
        return tally
    rows = tallies.tally_dicts(tally)
    body = {
        **tally.describe(),
        "columns": list(tally.header),
        "rows": rows,
        "total": sum(row[tallies.COUNT_COLUMN] for row in rows),
        # Messages carried per daily digest (digest campaigns; zero otherwise).
        "digests": tallies.digest_figures(tally).as_dict(),
    }
    return jsonify(body), 200, dict(NO_STORE)


@blueprint.get("/campaigns/<slug>/replies")
def campaign_replies(slug: str) -> Answer:
    """Reply rates: one row per recipient with at least one answer (``from``, ``to`` and
    ``state`` filter the messages asked about, as for the tallies)."""
    tally = _readable_request(slug)
    if not isinstance(tally, tallies.TallyRequest):
        return tally
    rows = tallies.reply_dicts(tally)
    description = {key: value for key, value in tally.describe().items() if key != "by"}
    body = {
        **description,
        "columns": list(REPLY_COLUMNS),
        "rows": rows,
        "answers": sum(row["answers"] for row in rows),
    }
    return jsonify(body), 200, dict(NO_STORE)
