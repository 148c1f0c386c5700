"""The visitor's language: English or Spanish on every public page and email.

A visitor's choice comes from ``?lang=`` on any public URL (the switcher's links, or a partner's
frame) and is remembered in a small cookie; without a choice the browser's Accept-Language
decides. Staff pages and the messages offices receive about the site stay in English.
The texts live in gettext catalogs in ``advocacy/translations`` (docs/translating.md).
"""

from __future__ import annotations

from datetime import date, datetime

from babel.dates import format_date
from babel.numbers import format_decimal
from flask import Flask, Response, current_app, has_request_context, request, url_for
from flask_babel import Babel, force_locale, get_locale, refresh
from flask_babel import gettext as gettext
from flask_babel import lazy_gettext as lazy_gettext
from flask_babel import ngettext as ngettext

DEFAULT = "en"
# code -> the language's own name, as the switcher shows it.
LANGUAGES: dict[str, str] = {"en": "English", "es": "Español"}
COOKIE = "lang"
# Query arguments the switcher's links keep (see ``switch_links``).
SWITCHED_ARGS = {"address", "state", "city"}
COOKIE_DAYS = 365
# Pages for staff and organizers: English whatever the visitor chose.
STAFF_BLUEPRINTS = {"admin", "exports", "exports_api"}
# Public pages read by legislators' offices (a digest on the web), in English like their emails.
OFFICE_ENDPOINTS = {"actions.digest_page"}


def _english_only() -> bool:
    return request.blueprint in STAFF_BLUEPRINTS or request.endpoint in OFFICE_ENDPOINTS


__all__ = ["force_locale", "gettext", "join_and", "lazy_gettext", "long_date", "ngettext", "number"]


def supported(code: object) -> str | None:
    """``code`` when it names a language the site speaks (``es``, ``ES``), else None."""
    if not isinstance(code, str):
        return None
    code = code.strip().lower()
    return code if code in LANGUAGES else None


def _chosen() -> str:
    if not has_request_context() or _english_only():
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


def long_date(value: date | datetime) -> str:
    """A day as a reader of the current language writes it: "December 6, 2026", "6 de
    diciembre de 2026". A datetime is read in its own time zone (convert it first)."""
    day = value.date() if isinstance(value, datetime) else value
    return format_date(day, format="long", locale=language())


def number(value: int) -> str:
    """A count as readers in the United States write it in the current language: "12,345"."""
    return format_decimal(value, locale=f"{language()}_US")


def join_and(items: list[str] | tuple[str, ...]) -> str:
    """ "A", "A and B", "A, B and C" in the current language."""
    items = [str(item) for item in items]
    if len(items) < 2:
        return "".join(items)
    return gettext("%(first)s and %(last)s", first=", ".join(items[:-1]), last=items[-1])


def _remember_choice(response: Response) -> Response:
    """A ``?lang=`` the visitor chose is kept for their next visits."""
    chosen = supported(request.args.get("lang"))
    if chosen and not _english_only() and request.cookies.get(COOKIE) != chosen:
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
    if _english_only():
        return []
    if (
        endpoint is None
        or request.url_rule is None
        or "GET" not in (request.url_rule.methods or ())
    ):
        return []  # (a form's answer to a post: its URL cannot be opened again)
    # Only what the visitor typed on an unkept page (an address, a chosen state or city): a
    # kept page is served to everyone, so it must not carry one visitor's ?source= or the like.
    kept_args = {k: v for k, v in request.args.items() if k in SWITCHED_ARGS}
    args = {**(request.view_args or {}), **kept_args}
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
    app.jinja_env.filters.update(long_date=long_date, join_and=join_and, number=number)
