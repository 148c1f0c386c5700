from __future__ import annotations

from flask import Blueprint, jsonify, request
from werkzeug.wrappers.response import Response

from ..i18n import gettext
from ..security import limit_lookups
from .service import BadAddress, CensusUnavailable, lookup_json, unavailable_sentence

blueprint = Blueprint("lookup_api", __name__, url_prefix="/api")


@blueprint.get("/lookup")
@limit_lookups
def lookup() -> tuple[Response, int]:
    try:
        if "street" in request.args and "address" not in request.args:
            args = request.args
            body = lookup_json(
                parts=(args.get("street", ""), args.get("city"), args.get("state"), args.get("zip"))
            )
        else:
            body = lookup_json(request.args.get("address", ""))
    except BadAddress as exc:
        return jsonify(error=str(exc)), 400
    except CensusUnavailable as exc:
        said = gettext(
            "%(problem)s Please try again in a minute.", problem=unavailable_sentence(exc)
        )
        return jsonify(error=said, reason=exc.reason), 503
    return Response(body, mimetype="application/json"), 200
