"""``GET /api/campaigns/<slug>/tallies``: the tallies as JSON for partners' dashboards.

Authenticated by a per-user API token (``Authorization: Bearer <token>``), never by the
session cookie, so it is exempt from CSRF (it only reads). 401 for a missing, unknown or
revoked token; 403 when the token belongs to another campaign; 400 for a bad query.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from werkzeug.wrappers.response import Response

from ..campaigns import service as campaign_service
from . import tallies, tokens

blueprint = Blueprint("exports_api", __name__, url_prefix="/api")
NO_STORE = {"Cache-Control": "no-store"}


def _error(message: str, status: int) -> tuple[Response, int, dict[str, str]]:
    headers = dict(NO_STORE)
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="advocacy tallies"'
    return jsonify(error=message), status, headers


@blueprint.get("/campaigns/<slug>/tallies")
def campaign_tallies(slug: str) -> tuple[Response, int, dict[str, str]]:
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return _error("send an API token: Authorization: Bearer <token>", 401)
    bearer = tokens.authenticate(secret.strip())
    if bearer is None:
        return _error("this API token is unknown or has been revoked", 401)
    campaign = campaign_service.get_campaign(slug)
    if bearer.token.campaign_id is not None and (campaign is None or not bearer.may_read(campaign)):
        return _error("this API token is for another campaign", 403)
    if campaign is None:
        return _error(f"no campaign {slug!r}", 404)
    try:
        tally = tallies.tally_request(
            campaign,
            by=",".join(request.args.getlist("by")) or None,
            start=request.args.get("from"),
            end=request.args.get("to"),
            state=request.args.get("state"),
        )
    except tallies.TallyProblem as exc:
        return _error(str(exc), 400)
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
