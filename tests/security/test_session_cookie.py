"""The session cookie's signing serializer is made once for the keys in use, and made again
when they change: a cookie signed with a retired key is refused unless it is a fallback. Its
payload is plain JSON, and cookies written with Flask's tagged JSON are still read."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask, session
from flask.sessions import SecureCookieSessionInterface, session_json_serializer

from advocacy.sessions import PlainJSON


def _routes(app: Flask) -> None:
    @app.get("/_test/remember/<value>")
    def remember(value: str) -> str:
        session["value"] = value
        return "ok"

    @app.get("/_test/recall")
    def recall() -> str:
        return str(session.get("value", "(nothing)"))


def test_the_serializer_is_made_once_for_the_same_keys(app: Flask) -> None:
    interface = app.session_interface
    first = interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    assert first is not None
    assert interface.get_signing_serializer(app) is first  # type: ignore[attr-defined]


def test_a_new_secret_key_refuses_old_cookies_unless_kept_as_a_fallback(app: Flask) -> None:
    _routes(app)
    client = app.test_client()
    client.get("/_test/remember/blue")
    assert client.get("/_test/recall").get_data(as_text=True) == "blue"

    old_key = app.secret_key
    app.secret_key = "a-new-secret"
    assert client.get("/_test/recall").get_data(as_text=True) == "(nothing)"

    app.config["SECRET_KEY_FALLBACKS"] = [old_key]
    assert client.get("/_test/recall").get_data(as_text=True) == "blue"


def test_the_payload_is_plain_json_and_other_types_are_refused() -> None:
    plain = PlainJSON()
    flashes = {"_flashes": [("warning", "Check the address.")], "draft": {"opt_in": True}}
    text = plain.dumps(flashes)
    assert text == '{"_flashes":[["warning","Check the address."]],"draft":{"opt_in":true}}'
    assert plain.loads(text) == {
        "_flashes": [["warning", "Check the address."]],
        "draft": {"opt_in": True},
    }
    with pytest.raises(TypeError, match="JSON's own types"):
        plain.dumps({"when": datetime(2026, 1, 1, tzinfo=UTC)})


def test_a_cookie_written_with_flasks_tags_is_still_read(app: Flask) -> None:
    _routes(app)
    tagged = SecureCookieSessionInterface().get_signing_serializer(app)
    assert tagged is not None
    cookie = tagged.dumps({"value": "green", "_flashes": [("error", "Tagged flash")]})
    assert '" t"' in session_json_serializer.dumps({"f": ("a", "b")})  # Flask does tag tuples
    client = app.test_client()
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
    assert client.get("/_test/recall").get_data(as_text=True) == "green"
    with client.session_transaction() as current:
        assert current["_flashes"] == [("error", "Tagged flash")]  # untagged back to a tuple
