"""The visitor's session: Flask's signed cookie, with its signing serializer made once (a
``signing.SigningSerializer``) and a plain JSON payload."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask
from flask.sessions import SecureCookieSessionInterface, session_json_serializer

from .signing import SigningSerializer


def _not_plain_json(value: object) -> Any:
    raise TypeError(f"the session holds only JSON's own types, not {type(value).__name__}")


class PlainJSON:
    """The session payload as plain JSON. Flask's default tags every value so that tuples,
    bytes, Markup, UUIDs and datetimes come back as they went in; that walk cost four times
    the JSON itself, and this site's session holds only strings, numbers, booleans, lists and
    dicts (anything else is refused loudly). A flashed ``(category, message)`` pair comes back
    as a list, which ``get_flashed_messages`` unpacks the same. Cookies written with Flask's
    tags (before this) are still read."""

    def dumps(self, value: object) -> str:
        return json.dumps(value, separators=(",", ":"), default=_not_plain_json)

    def loads(self, value: str | bytes) -> Any:
        text = value.decode() if isinstance(value, bytes) else value
        if '{" ' in text:  # a tag ({" t": ...}); plain JSON from dumps has no such key
            return session_json_serializer.loads(text)
        return json.loads(text)


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session. Flask builds a new serializer for every request, twice
    (to open the session and to save it); it depends only on the secret keys, so it is kept
    for the keys in use and made again when they change."""

    serializer = PlainJSON()  # type: ignore[assignment]

    def __init__(self) -> None:
        self._made: tuple[tuple[object, ...], SigningSerializer | None] | None = None

    def get_signing_serializer(self, app: Flask) -> SigningSerializer | None:
        keys = (*(app.config.get("SECRET_KEY_FALLBACKS") or ()), app.secret_key)
        made = self._made
        if made is None or made[0] != keys:
            made = self._made = (keys, self._serializer(keys) if app.secret_key else None)
        return made[1]

    def _serializer(self, keys: tuple[object, ...]) -> SigningSerializer:
        # As Flask's own, newest key last (itsdangerous signs with the last).
        return SigningSerializer(
            list(keys),
            salt=self.salt,
            serializer=self.serializer,
            signer_kwargs={
                "key_derivation": self.key_derivation,
                "digest_method": self.digest_method,
            },
        )
