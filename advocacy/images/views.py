"""``GET /images/<name>``: the site's own pictures, from the database."""

from __future__ import annotations

from flask import Blueprint, Response, abort, request

from .service import find

blueprint = Blueprint("images", __name__)
# A name's bytes never change (the name holds a hash of its source): browsers and proxies may
# keep a picture for a year without asking again.
CACHE_CONTROL = "public, max-age=31536000, immutable"


@blueprint.get("/images/<name>")
def image(name: str) -> Response:
    stored = find(name)  # only kind-<hash>.<ext> names are looked up: no path, no traversal
    if stored is None:
        abort(404)
    response = Response(stored.data, mimetype=stored.content_type)
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.set_etag(name)
    return response.make_conditional(request)
