"""Signed values that every visitor gets: the session cookie and the CSRF token.

Both are itsdangerous URL-safe timed tokens. As shipped, itsdangerous does three things on
every signing that need doing once: it makes a new signer, derives the signer's key from the
secret again (one more HMAC or hash), and runs the payload through zlib to see whether that
makes it shorter. For the short payloads here (a CSRF token is 42 bytes of JSON) zlib never
does, and setting it up (about 256 KB of state) cost more than the rest of the signing.
``SigningSerializer`` keeps the signers and their keys, and only tries zlib from
``COMPRESS_FROM`` bytes. Its tokens are the ones itsdangerous writes (byte for byte when zlib
would not have shortened them), and either side reads the other's.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import current_app, g, session
from itsdangerous import Serializer, Signer, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode, want_bytes
from markupsafe import Markup

COMPRESS_FROM = 200  # bytes of JSON; shorter payloads are never made shorter by zlib here
CSRF_SALT = "wtf-csrf-token"  # Flask-WTF's, so that its validate_csrf checks our tokens
_SERIALIZERS_KEY = "advocacy.csrf_serializers"


class KeyKeepingSigner(TimestampSigner):
    """A timestamp signer that derives each secret's key once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._derived: dict[bytes, bytes] = {}

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        secret = self.secret_keys[-1] if secret_key is None else want_bytes(secret_key)
        key = self._derived.get(secret)
        if key is None:
            key = self._derived[secret] = super().derive_key(secret)
        return key


class SigningSerializer(URLSafeTimedSerializer):
    """``URLSafeTimedSerializer`` with its signers kept per salt (they hold no state that
    changes) and zlib tried only on payloads of ``COMPRESS_FROM`` bytes or more."""

    default_signer = KeyKeepingSigner

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._signers: dict[str | bytes | None, Signer] = {}

    def make_signer(self, salt: str | bytes | None = None) -> Signer:
        if salt is None:
            salt = self.salt
        signer = self._signers.get(salt)
        if signer is None:
            signer = self._signers[salt] = super().make_signer(salt)
        return signer

    def dump_payload(self, obj: Any) -> bytes:
        json = Serializer.dump_payload(self, obj)
        if len(json) < COMPRESS_FROM:
            return base64_encode(json)
        return super().dump_payload(obj)


def csrf_token() -> str:
    """This visitor's signed CSRF token, made as Flask-WTF's ``generate_csrf`` makes it
    (Flask-WTF checks it, and reuses it from ``g`` for the rest of the request), with the
    serializer kept per secret key instead of made for each token."""
    config = current_app.config
    field = config.get("WTF_CSRF_FIELD_NAME") or "csrf_token"
    token = g.get(field)
    if token is None:
        if field not in session:
            session[field] = secrets.token_hex(20)
        secret = config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key
        serializers = current_app.extensions.setdefault(_SERIALIZERS_KEY, {})
        serializer = serializers.get(secret)
        if serializer is None:
            serializer = serializers[secret] = SigningSerializer(secret, salt=CSRF_SALT)
        token = serializer.dumps(session[field])
        setattr(g, field, token)
    return str(token)


def csrf_field() -> Markup:
    """The hidden input with this visitor's CSRF token, as WTForms writes ``form.csrf_token``
    (its widget machinery cost a tenth of the write page); nothing, as there, when
    WTF_CSRF_ENABLED is off."""
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return Markup("")
    field = current_app.config.get("WTF_CSRF_FIELD_NAME") or "csrf_token"
    return Markup('<input id="%s" name="%s" type="hidden" value="%s">') % (
        field,
        field,
        csrf_token(),
    )
