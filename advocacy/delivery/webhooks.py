"""Webhook transport: sign a payload as the Standard Webhooks specification says and POST it
to an endpoint staff configured, refusing addresses the site must never reach (SSRF).

An endpoint's host is resolved and every address it resolves to is checked with
``ipaddress`` when it is saved and again when a message is sent; the address the connection
actually reaches is checked too, before anything is written to it, so a name that resolves
to a public address at the check and a private one at the connection (DNS rebinding) is
still refused. Private, loopback, link-local, multicast, reserved and unspecified addresses
are refused unless the endpoint allows private addresses. Redirects are never followed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix, not a secret
TIMEOUT_SECONDS = 5.0
MAX_URL_LENGTH = 500
MAX_ERROR_LENGTH = 300


class UnsafeEndpoint(ValueError):
    """The endpoint's address may not be used (scheme, host, or an address it resolves to)."""


class HostNotFound(UnsafeEndpoint):
    """The endpoint's host does not resolve (perhaps only for now: retried when sending)."""


@dataclass(frozen=True)
class WebhookPost:
    """One signed HTTP POST, as a webhook kind's ``load`` gives it to the worker."""

    url: str
    secret: str
    webhook_id: str
    body: str
    allow_private: bool = False


def new_secret() -> str:
    """A signing secret: ``whsec_`` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def signature(secret: str, webhook_id: str, timestamp: int, body: str) -> str:
    """The ``webhook-signature`` header: ``v1,`` and the base64 HMAC-SHA256 of
    ``{id}.{timestamp}.{body}`` keyed with the secret's base64-decoded part after ``whsec_``."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    message = f"{webhook_id}.{timestamp}.{body}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(post: WebhookPost, timestamp: int) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "webhook-id": post.webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(post.secret, post.webhook_id, timestamp, post.body),
    }


def refused_address(address: str) -> bool:
    """Whether an IP address is one the site must not reach without explicit permission."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_unspecified


def check_url(url: str, *, allow_http: bool, allow_private: bool) -> str:
    """``url`` if the site may POST to it; raises ``UnsafeEndpoint`` saying why not.

    Resolves the host: every address must be public unless ``allow_private``.
    """
    url = url.strip()
    if not url or len(url) > MAX_URL_LENGTH:
        raise UnsafeEndpoint(f"Enter an address of at most {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeEndpoint("That is not a web address.") from exc
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UnsafeEndpoint("The address must start with https:// and name a host.")
    if parts.scheme == "http" and not allow_http:
        raise UnsafeEndpoint("The address must use https:// (plain http only in development).")
    if parts.username or parts.password:
        raise UnsafeEndpoint("The address must not contain a user name or password.")
    for address in resolve(parts.hostname, port or (443 if parts.scheme == "https" else 80)):
        if not allow_private and refused_address(address):
            raise UnsafeEndpoint(
                f"{parts.hostname} resolves to {address}, a private, loopback, link-local "
                "or reserved address; the site does not send to those."
            )
    return url


def resolve(host: str, port: int) -> list[str]:
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise HostNotFound(f"The host {host} could not be found.") from exc
    return sorted({str(info[4][0]) for info in found})


def _check_peer(sock: socket.socket) -> None:
    address = str(sock.getpeername()[0])
    if refused_address(address):
        raise UnsafeEndpoint(f"the connection reached {address}, a refused address")


class _PeerChecked:
    """A urllib3 connection that refuses a refused peer as soon as the socket is open."""

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        try:
            _check_peer(sock)
        except UnsafeEndpoint:
            sock.close()
            raise
        return sock


class _CheckedHTTPConnection(_PeerChecked, HTTPConnection):
    pass


class _CheckedHTTPSConnection(_PeerChecked, HTTPSConnection):
    pass


class _CheckedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _CheckedHTTPConnection


class _CheckedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


class _CheckedAdapter(HTTPAdapter):
    """Every connection it opens is checked against the refused addresses."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _CheckedHTTPPool,
            "https": _CheckedHTTPSPool,
        }


@dataclass(frozen=True)
class PostResult:
    """``status_code`` is None when no answer came (refused, unreachable, timed out)."""

    ok: bool
    status_code: int | None
    error: str | None
    permanent: bool = False


def post(webhook: WebhookPost, *, timestamp: int, allow_http: bool) -> PostResult:
    """POST one signed webhook. 2xx is success; a redirect is a failure that is not retried
    (it is never followed); other answers and network errors may be retried."""
    try:
        check_url(webhook.url, allow_http=allow_http, allow_private=webhook.allow_private)
    except UnsafeEndpoint as exc:
        return PostResult(False, None, str(exc), permanent=not isinstance(exc, HostNotFound))
    with requests.Session() as session:
        session.trust_env = False  # no proxies from the environment
        if not webhook.allow_private:
            session.mount("https://", _CheckedAdapter())
            session.mount("http://", _CheckedAdapter())
        try:
            response = session.post(
                webhook.url,
                data=webhook.body.encode("utf-8"),
                headers=signed_headers(webhook, timestamp),
                timeout=TIMEOUT_SECONDS,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            cause: BaseException | None = exc
            while cause is not None and not isinstance(cause, UnsafeEndpoint):
                cause = cause.__context__ or cause.__cause__
            if isinstance(cause, UnsafeEndpoint):
                return PostResult(False, None, str(cause), permanent=True)
            return PostResult(False, None, _short(f"{type(exc).__name__}: {exc}"))
        except UnsafeEndpoint as exc:
            return PostResult(False, None, str(exc), permanent=True)
    code = response.status_code
    if 200 <= code < 300:
        return PostResult(True, code, None)
    if 300 <= code < 400:
        where = response.headers.get("location", "")
        return PostResult(
            False,
            code,
            _short(f"HTTP {code}: a redirect to {where or 'elsewhere'} (not followed)"),
            permanent=True,
        )
    return PostResult(False, code, _short(f"HTTP {code}: {response.reason or ''}".strip()))


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR_LENGTH else text[: MAX_ERROR_LENGTH - 1] + "\u2026"
