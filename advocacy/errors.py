"""Friendly error pages (HTML) and JSON errors for the API; never a traceback."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, RequestEntityTooLarge
from werkzeug.wrappers.response import Response

from .i18n import gettext, lazy_gettext

# An error's name and its usual explanation, in the visitor's language (werkzeug's are English).
_NAMES = {
    400: lazy_gettext("Bad Request"),
    403: lazy_gettext("Forbidden"),
    404: lazy_gettext("Not Found"),
    405: lazy_gettext("Method Not Allowed"),
    409: lazy_gettext("Conflict"),
    410: lazy_gettext("Gone"),
    413: lazy_gettext("Request Entity Too Large"),
    429: lazy_gettext("Too Many Requests"),
    500: lazy_gettext("Internal Server Error"),
    503: lazy_gettext("Service Unavailable"),
}
_DESCRIPTIONS = {
    400: lazy_gettext("The page could not understand what was sent. Please go back and try again."),
    403: lazy_gettext("This page cannot be opened from here."),
    405: lazy_gettext(
        "This address cannot be used that way. Please use the page's own links and buttons."
    ),
    409: lazy_gettext("This could not be done right now. Please go back and try again."),
    410: lazy_gettext("This page is no longer available."),
    503: lazy_gettext("The site is not available right now. Please try again in a moment."),
}


def error_name(error: HTTPException) -> str:
    return str(_NAMES.get(error.code or 500, error.name))


def error_description(error: HTTPException) -> str:
    """A description the site wrote for this error (already in the visitor's language), else
    the usual one for its code."""
    if error.description != type(error).description:
        return str(error.description or "")
    return str(_DESCRIPTIONS.get(error.code or 500, error.description or ""))


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def register_error_handlers(app: Flask) -> None:
    app.jinja_env.globals.update(error_name=error_name, error_description=error_description)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[str | Response, int]:
        if _wants_json():
            return jsonify(error=gettext("The form expired. Reload the page and try again.")), 400
        return render_template("errors/csrf.html"), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str | Response, int]:
        code = error.code or 500
        if code == 413:
            limit = (app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024)
            error = RequestEntityTooLarge(
                gettext(
                    "Nothing was saved: what you sent is larger than this site accepts "
                    "(%(limit)s MB at most). A share picture may be up to 5 MB; please choose "
                    "a smaller file.",
                    limit=limit,
                )
            )
        if _wants_json():
            return jsonify(error=error.description or error.name), code
        template = "errors/404.html" if code == 404 else "errors/generic.html"
        return render_template(template, error=error), code

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> tuple[str | Response, int]:
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        wrapped = InternalServerError()
        if _wants_json():
            return jsonify(
                error=gettext("Something went wrong on our side. Please try again.")
            ), 500
        return render_template("errors/generic.html", error=wrapped), 500
