"""Friendly error pages (HTML) and JSON errors for the API; never a traceback."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, RequestEntityTooLarge
from werkzeug.wrappers.response import Response


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[str | Response, int]:
        if _wants_json():
            return jsonify(error="The form expired. Reload the page and try again."), 400
        return render_template("errors/csrf.html"), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str | Response, int]:
        code = error.code or 500
        if code == 413:
            limit = (app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024)
            error = RequestEntityTooLarge(
                f"Nothing was saved: what you sent is larger than this site accepts ({limit} MB "
                "at most). A share picture may be up to 5 MB; please choose a smaller file."
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
            return jsonify(error="Something went wrong on our side. Please try again."), 500
        return render_template("errors/generic.html", error=wrapped), 500
