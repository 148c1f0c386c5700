"""Hardening of every response and of the abuse-prone routes (see SECURITY.md).

``init_app(app)`` (called by ``create_app``):

* trusts the ``X-Forwarded-*`` headers of ADVOCACY_TRUSTED_PROXIES reverse proxies;
* answers only to ADVOCACY_TRUSTED_HOSTS (any other Host: a small 400 page, never a 500);
* adds the security headers to every response: a Content-Security-Policy without
  ``unsafe-inline``, HSTS (one year) when ADVOCACY_SITE_URL is https, nosniff, frame and
  referrer policies;
* sets up the rate limits (Flask-Limiter's ``limiter``, defined here) from the
  ADVOCACY_RATELIMIT_* settings, with a friendly 429 page (JSON under ``/api/``) that says when
  to try again (``Retry-After``).

Views opt in with one decorator line each: ``@limit_submissions`` (public form posts),
``@limit_lookups`` (address lookups) and ``@limit_sign_in`` (staff sign-in posts). Limits are
counted per client address (an IPv6 client per /64 network, which one machine usually holds).
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from flask import Flask, current_app, g, has_request_context, jsonify, render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask_limiter import Limiter, RateLimitExceeded
from limits import parse_many
from limits.errors import ConfigurationError as StorageConfigurationError
from markupsafe import escape
from werkzeug.exceptions import SecurityError, TooManyRequests
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers.response import Response

from .config import ENV_PREFIX, ConfigError, is_https
from .i18n import gettext, lazy_gettext, ngettext

log = logging.getLogger(__name__)

# Browsers that saw the site over https refuse plain http to it for this long.
HSTS_SECONDS = 365 * 24 * 3600

# The policy of every page. No inline script or style anywhere: the one stylesheet is
# static/site.css. A template that must inline a <style> (the dashboard's SVG charts) asks for
# ``csp_nonce()`` and the nonce is added to style-src for that response only.
CSP_DIRECTIVES: tuple[tuple[str, str], ...] = (
    ("default-src", "'self'"),
    ("script-src", "'self'"),
    ("style-src", "'self'"),
    ("img-src", "'self' data:"),
    ("frame-ancestors", "'none'"),
    ("form-action", "'self'"),
    ("base-uri", "'none'"),
    ("object-src", "'none'"),
)
STATIC_HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Links to other sites carry no path (thank-you pages have the submission key in theirs).
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": (
        "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
        "microphone=(), payment=(), usb=()"
    ),
    "Cross-Origin-Opener-Policy": "same-origin",
}
# Staff pages show personal data and tokens: never kept in a browser's or a proxy's cache.
NO_STORE_BLUEPRINTS = frozenset({"admin", "exports"})

# Hosts of the developer's own machine: browsers treat them as secure (Secure cookies work).
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})

SUBMIT, LOOKUP, SIGNIN = "RATELIMIT_SUBMIT", "RATELIMIT_LOOKUP", "RATELIMIT_SIGNIN"
COACH = "RATELIMIT_COACH"

BAD_HOST_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Bad request</title></head>
<body><main><h1>Bad request</h1>
<p>This site does not answer to the host name {host}. Please check the address.</p>
</main></body>
</html>
"""


# -- rate limits ---------------------------------------------------------------------------


def client_key() -> str:
    """Whom a limit counts: the client's address (after ProxyFix), IPv6 by its /64 network."""
    address = request.remote_addr or ""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address or "unknown"
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


# One limiter for the process (the decorators below are bound to it); each app's settings give
# its storage and limits. A storage error (Redis down) never fails a request: the limits are
# counted in memory meanwhile.
limiter = Limiter(
    key_func=client_key,
    strategy="moving-window",
    swallow_errors=True,
    in_memory_fallback_enabled=True,
    headers_enabled=False,
    key_prefix="advocacy",
)


def _configured(setting: str) -> Callable[[], str]:
    return lambda: str(current_app.config.get(setting) or "")


def _no_limit(setting: str) -> Callable[[], bool]:
    return lambda: not current_app.config.get(setting)


def _not_a_lookup() -> bool:
    """Only requests that reach the Census count as lookups (not the empty /find page)."""
    if not current_app.config.get(LOOKUP):
        return True
    return not any(name in request.args for name in ("address", "street"))


#: Public form posts: the campaign form, the district choice, send, "I called" (one budget).
limit_submissions = limiter.shared_limit(
    _configured(SUBMIT), scope="submit", methods=["POST"], exempt_when=_no_limit(SUBMIT)
)
#: Address lookups that reach the Census: /api/lookup and /find?address=.
limit_lookups = limiter.shared_limit(_configured(LOOKUP), scope="lookup", exempt_when=_not_a_lookup)
#: The write page's coach, asked as the visitor types (a pause in typing makes one request).
limit_coach = limiter.shared_limit(
    _configured(COACH), scope="coach", methods=["POST"], exempt_when=_no_limit(COACH)
)
#: Staff sign-in attempts (the page itself, GET, is not counted).
limit_sign_in = limiter.shared_limit(
    _configured(SIGNIN), scope="sign-in", methods=["POST"], exempt_when=_no_limit(SIGNIN)
)


@limiter.request_filter
def _limits_off_for_this_app() -> bool:
    """The limiter object is one per process; each app's own setting decides (tests and tools
    may build several apps in one process, with limits on and off)."""
    return not current_app.config.get("RATELIMIT_ENABLED", False)


_REFUSED_BECAUSE = {
    "actions": lazy_gettext(
        "You have sent this form too many times in a short while, so nothing more was sent or "
        "recorded."
    ),
    "lookup_api": lazy_gettext("Too many address lookups from your network in a short while."),
    "lookup_pages": lazy_gettext("Too many address lookups from your network in a short while."),
    "admin": lazy_gettext("Too many sign-in attempts from your network in a short while."),
}


def _retry_after() -> int:
    """Seconds until the breached limit lets this client through again (at least 1)."""
    try:
        breached = limiter.current_limit
        if breached is not None:
            return max(1, int(breached.reset_at - time.time()))
    except Exception:  # a storage problem: fall back to a minute
        log.warning("could not read the rate limit's reset time", exc_info=True)
    return 60


def _wait_text(seconds: int) -> str:
    if seconds < 90:
        return gettext("a minute")
    if seconds < 90 * 60:
        minutes = round(seconds / 60)
        return ngettext("%(num)d minute", "%(num)d minutes", minutes)
    hours = round(seconds / 3600)
    return ngettext("%(num)d hour", "%(num)d hours", hours)


def _too_many_requests(error: RateLimitExceeded) -> Response:
    seconds = _retry_after()
    # No client address in the log (personal data); the metrics count 429s per endpoint.
    log.info("rate limit %s reached on %s", error.description, request.endpoint)
    what = _REFUSED_BECAUSE.get(request.blueprint or "") or gettext(
        "Too many requests in a short while."
    )
    message = gettext(
        "%(refused)s Please wait %(wait)s and try again.", refused=what, wait=_wait_text(seconds)
    )
    if request.path.startswith("/api/") or request.is_json:  # (the write page's coach)
        response = jsonify(error=message)
    else:
        page = render_template("errors/generic.html", error=TooManyRequests(description=message))
        response = current_app.make_response(page)
    response.status_code = 429
    response.headers["Retry-After"] = str(seconds)
    response.headers["Cache-Control"] = "no-store"
    return response


def _check_limits(app: Flask) -> None:
    for setting in (SUBMIT, LOOKUP, SIGNIN, COACH):
        value = str(app.config.get(setting) or "")
        if not value:
            continue
        try:
            parse_many(value)
        except ValueError as exc:
            raise ConfigError(
                f"{ENV_PREFIX}{setting}: {value!r} is not a rate limit such as "
                "'10 per minute;100 per day'"
            ) from exc


def _init_rate_limits(app: Flask) -> None:
    # Flask-Limiter logs each refusal with the client's address at INFO: keep its warnings
    # (storage down, fallback) and drop those lines, as no personal data is logged at INFO.
    logging.getLogger("flask-limiter").setLevel(logging.WARNING)
    # RATELIMIT_ENABLED is Flask-Limiter's own switch, not a setting: on unless an app is built
    # with it off (as most tests are). A deployer switches a limit off by leaving it empty.
    enabled = bool(app.config.get("RATELIMIT_ENABLED", True))
    app.config["RATELIMIT_ENABLED"] = enabled  # explicit: the limiter object is per process
    app.register_error_handler(RateLimitExceeded, _too_many_requests)
    if not enabled:
        return  # (init_app would switch the process's limiter off for every app)
    _check_limits(app)
    url = str(app.config.get("RATELIMIT_STORAGE_URL") or "memory://").strip()
    app.config["RATELIMIT_STORAGE_URI"] = url
    try:
        limiter.init_app(app)
    except StorageConfigurationError as exc:  # unknown scheme, or its client not installed
        hint = ""
        if url.startswith(("redis", "rediss")):
            hint = " (redis:// needs the redis client: pip install 'redis<8')"
        raise ConfigError(f"{ENV_PREFIX}RATELIMIT_STORAGE_URL={url!r}: {exc}{hint}") from exc


# -- hosts and proxies ---------------------------------------------------------------------


def _host_list(value: object) -> list[str] | None:
    if isinstance(value, list | tuple | set):
        hosts = [str(host).strip() for host in value]
    else:
        hosts = [host.strip() for host in str(value or "").split(",")]
    hosts = [host for host in hosts if host]
    return hosts or None


def _bad_host(error: SecurityError) -> Response:
    """Host not in ADVOCACY_TRUSTED_HOSTS. Built without url_for (no URL can be built for an
    untrusted host) and without the site's templates."""
    host = request.environ.get("HTTP_HOST", "")[:200]
    if request.path.startswith("/api/"):
        response = jsonify(error="This site does not answer to that host name.")
    else:
        response = Response(
            BAD_HOST_PAGE.format(host=escape(host) or "given"), mimetype="text/html"
        )
    response.status_code = 400
    return response


def _init_proxies(app: Flask) -> int:
    """Trust the X-Forwarded-For, -Proto, -Host and -Port of ADVOCACY_TRUSTED_PROXIES proxies."""
    proxies = app.config.get("TRUSTED_PROXIES") or 0
    if not isinstance(proxies, int) or proxies < 0:
        raise ConfigError(f"{ENV_PREFIX}TRUSTED_PROXIES must be a number of proxies, 0 or more")
    if proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies
        )
    return proxies


def _warn_untrusted_forwarding(trusted: bool) -> Callable[[], None]:
    """Say once per process when requests come through a proxy the site does not trust:
    every visitor then shares the proxy's address, and so its rate limits."""
    warned: list[bool] = []

    def check() -> None:
        if trusted or warned or "X-Forwarded-For" not in request.headers:
            return
        warned.append(True)
        log.warning(
            "requests carry X-Forwarded-For but no proxy is trusted: rate limits count every "
            "visitor as the proxy's address. Set %sTRUSTED_PROXIES.",
            ENV_PREFIX,
        )

    return check


# -- headers -------------------------------------------------------------------------------


def csp_nonce() -> str:
    """A nonce for an inline ``<style>`` of this response (added to its style-src)."""
    nonce = g.get("_csp_nonce")
    if nonce is None:
        nonce = g._csp_nonce = secrets.token_urlsafe(18)
    return str(nonce)


def allow_framing(origins: Sequence[str]) -> None:
    """Let pages of ``origins`` (and only them) show this response in a frame: the embedded
    action on a campaign's partners' pages. Every other response stays unframeable."""
    g._frame_ancestors = " ".join(origins) or "'none'"


def _not_framed_yet() -> None:
    g.pop("_frame_ancestors", None)  # (``g`` may outlive one request in tests)


def framed() -> bool:
    """Whether this response may be shown in another site's frame (``allow_framing``)."""
    return bool(g.get("_frame_ancestors"))


def content_security_policy(nonce: str | None = None, frame_ancestors: str | None = None) -> str:
    parts = []
    for name, value in CSP_DIRECTIVES:
        if nonce and name == "style-src":
            value = f"{value} 'nonce-{nonce}'"
        if frame_ancestors and name == "frame-ancestors":
            value = frame_ancestors
        parts.append(f"{name} {value}")
    return "; ".join(parts)


class FramedSessionInterface(SecureCookieSessionInterface):
    """The session cookie of a response in a partner's frame is a third-party cookie, which
    browsers keep and send back only with ``SameSite=None; Secure``: it gets those (and
    ``Partitioned``, so it belongs to that partner's page alone) over https, and on the
    developer's own machine (localhost), which browsers treat as secure. Everywhere else it
    keeps the site's ``Lax``: a browser refuses ``SameSite=None`` without ``Secure``."""

    def _third_party(self, app: Flask) -> bool:
        if not has_request_context() or not framed():
            return False
        # An https ADVOCACY_SITE_URL makes cookies Secure (config.py) even when a proxy the
        # site does not trust ends TLS, so the request looks like plain http.
        https = request.is_secure or super().get_cookie_secure(app)
        return https or urlsplit(f"//{request.host}").hostname in LOOPBACK_HOSTS

    def get_cookie_samesite(self, app: Flask) -> str | None:
        return "None" if self._third_party(app) else super().get_cookie_samesite(app)

    def get_cookie_secure(self, app: Flask) -> bool:
        return True if self._third_party(app) else super().get_cookie_secure(app)

    def get_cookie_partitioned(self, app: Flask) -> bool:
        return True if self._third_party(app) else super().get_cookie_partitioned(app)


def _header_hook(app: Flask) -> Callable[[Response], Response]:
    default_policy = content_security_policy()
    headers = dict(STATIC_HEADERS)
    if is_https(app.config.get("SITE_URL")):
        headers["Strict-Transport-Security"] = f"max-age={HSTS_SECONDS}"
    # (name, lower-case name, value) of every header a response gets unless it set its own.
    fixed = [(name, name.lower(), value) for name, value in headers.items()]

    def add_headers(response: Response) -> Response:
        headers = response.headers
        present = {name.lower() for name in headers.keys()}
        frame_ancestors = g.get("_frame_ancestors")
        if "content-security-policy" not in present:
            nonce = g.get("_csp_nonce")
            headers.add(
                "Content-Security-Policy",
                content_security_policy(nonce, frame_ancestors)
                if nonce or frame_ancestors
                else default_policy,
            )
        for name, lower, value in fixed:
            # X-Frame-Options cannot name sites: frame-ancestors alone decides when framed.
            if lower not in present and not (frame_ancestors and lower == "x-frame-options"):
                headers.add(name, value)
        if request.blueprint in NO_STORE_BLUEPRINTS and "cache-control" not in present:
            headers.add("Cache-Control", "no-store")
        return response

    return add_headers


def init_app(app: Flask) -> None:
    proxies = _init_proxies(app)
    app.config["TRUSTED_HOSTS"] = _host_list(app.config.get("TRUSTED_HOSTS"))
    app.register_error_handler(SecurityError, _bad_host)
    app.before_request(_warn_untrusted_forwarding(trusted=proxies > 0))
    app.before_request(_not_framed_yet)
    app.after_request(_header_hook(app))
    app.session_interface = FramedSessionInterface()
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    _init_rate_limits(app)
