"""The visitor's language: English or Spanish on every public page and email.

A visitor's choice comes from ``?lang=`` on any public URL (the switcher's links, or a partner's
frame) and is remembered in a small cookie; without a choice the browser's Accept-Language
decides. Staff pages and the messages offices receive about the site stay in English.
The texts live in gettext catalogs in ``advocacy/translations`` (docs/translating.md).
"""

from __future__ import annotations

from flask import Flask, Response, current_app, has_request_context, request, url_for
from flask_babel import Babel, force_locale, get_locale, refresh
from flask_babel import gettext as gettext
from flask_babel import lazy_gettext as lazy_gettext
from flask_babel import ngettext as ngettext

DEFAULT = "en"
# code -> the language's own name, as the switcher shows it.
LANGUAGES: dict[str, str] = {"en": "English", "es": "Español"}
COOKIE = "lang"
COOKIE_DAYS = 365
# Pages for staff and organizers: English whatever the visitor chose.
STAFF_BLUEPRINTS = {"admin", "exports", "exports_api"}
# Query arguments that belong to one visitor, left out of the switcher's links.
_OWN_ARGS = {"source", "refcode"}

__all__ = ["force_locale", "gettext", "lazy_gettext", "ngettext"]


def supported(code: object) -> str | None:
    """``code`` when it names a language the site speaks (``es``, ``ES``), else None."""
    if not isinstance(code, str):
        return None
    code = code.strip().lower()
    return code if code in LANGUAGES else None


def _chosen() -> str:
    if not has_request_context() or request.blueprint in STAFF_BLUEPRINTS:
        return DEFAULT
    chosen = supported(request.args.get("lang")) or supported(request.cookies.get(COOKIE))
    if chosen:
        return chosen
    return request.accept_languages.best_match(list(LANGUAGES), default=DEFAULT) or DEFAULT


def language() -> str:
    """The language of what is being built now: the request's, or the one a job forced
    (``force_locale``) for an email; English outside both."""
    locale = get_locale()
    return locale.language if locale is not None and locale.language in LANGUAGES else DEFAULT


def _remember_choice(response: Response) -> Response:
    """A ``?lang=`` the visitor chose is kept for their next visits."""
    chosen = supported(request.args.get("lang"))
    if (
        chosen
        and request.blueprint not in STAFF_BLUEPRINTS
        and request.cookies.get(COOKIE) != chosen
    ):
        # The session cookie's attributes: inside a partner's frame both are third-party.
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        cookies = app.session_interface
        response.set_cookie(
            COOKIE,
            chosen,
            max_age=COOKIE_DAYS * 24 * 3600,
            secure=cookies.get_cookie_secure(app),
            httponly=True,
            samesite=cookies.get_cookie_samesite(app),
            partitioned=cookies.get_cookie_partitioned(app),
        )
    return response


def switch_links() -> list[tuple[str, str, str, bool]]:
    """(code, name, URL of this page in that language, is current) for the switcher."""
    current = language()
    endpoint = request.endpoint
    if request.blueprint in STAFF_BLUEPRINTS:
        return []
    if (
        endpoint is None
        or request.url_rule is None
        or "GET" not in (request.url_rule.methods or ())
    ):
        return []  # (a form's answer to a post: its URL cannot be opened again)
    # A link's source code (actions/sources.py) is the visitor's own, kept in their session:
    # it must not reach the switcher of a page kept for everyone.
    query = {k: v for k, v in request.args.to_dict().items() if k not in _OWN_ARGS}
    args = {**(request.view_args or {}), **query}
    links = []
    for code, name in LANGUAGES.items():
        links.append((code, name, url_for(endpoint, **{**args, "lang": code}), code == current))
    return links


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=_chosen)
    # Each request chooses afresh (an app context, where the choice is kept, may serve several).
    app.before_request(refresh)
    # {% trans %} blocks are read with their whitespace folded, as extraction reads them.
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.after_request(_remember_choice)
    app.jinja_env.globals.update(language=language, language_links=switch_links)
