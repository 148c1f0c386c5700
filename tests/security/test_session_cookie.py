"""The session cookie: one signed with a retired key is refused unless the key is kept as a
fallback (key rotation)."""

from __future__ import annotations

from flask import Flask, session


def _routes(app: Flask) -> None:
    @app.get("/_test/remember/<value>")
    def remember(value: str) -> str:
        session["value"] = value
        return "ok"

    @app.get("/_test/recall")
    def recall() -> str:
        return str(session.get("value", "(nothing)"))


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
