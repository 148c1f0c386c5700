"""Signed tokens made with less work are still itsdangerous's tokens: the same bytes when zlib
would not shorten them, readable by the stock serializer either way, and the CSRF token is
the one Flask-WTF checks."""

from __future__ import annotations

import re

import pytest
from flask import Flask, g, session
from flask_wtf.csrf import generate_csrf, validate_csrf
from itsdangerous import BadSignature, URLSafeTimedSerializer
from itsdangerous.signer import Signer
from wtforms import ValidationError

from advocacy import signing
from advocacy.signing import COMPRESS_FROM, SigningSerializer, csrf_field, csrf_token

SECRET = "a-secret-for-signing-tests"
SALT = "some-salt"


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: 1_790_000_000.25)


@pytest.mark.parametrize(
    "payload",
    [
        "3f1c0a9be4d27781c0d0e5f3a9b1c2d3e4f5a6b7",  # a CSRF token
        {"csrf_token": "3f1c0a9be4d27781c0d0e5f3a9b1c2d3e4f5a6b7", "draft": {"opt_in": True}},
        "é and ü, not ASCII",
    ],
)
def test_short_payloads_give_the_stock_serializers_bytes(
    frozen_clock: None, payload: object
) -> None:
    ours = SigningSerializer(SECRET, salt=SALT).dumps(payload)
    assert ours == URLSafeTimedSerializer(SECRET, salt=SALT).dumps(payload)


def test_a_short_payload_that_zlib_would_shorten_is_left_as_it_is(frozen_clock: None) -> None:
    payload = "a" * (COMPRESS_FROM // 2)
    ours = SigningSerializer(SECRET, salt=SALT).dumps(payload)
    stock = URLSafeTimedSerializer(SECRET, salt=SALT)
    assert stock.dumps(payload).startswith(".")  # itsdangerous would compress it
    assert not ours.startswith(".")
    assert stock.loads(ours) == payload


def test_long_payloads_are_compressed_and_both_sides_read_each_other() -> None:
    payload = {"_flashes": [["warning", "Check the address. " * 20]]}
    ours = SigningSerializer(SECRET, salt=SALT)
    stock = URLSafeTimedSerializer(SECRET, salt=SALT)
    token = ours.dumps(payload)
    assert token.startswith(".")
    assert stock.loads(token) == payload
    assert ours.loads(stock.dumps(payload)) == payload


def test_signers_and_their_keys_are_made_once(monkeypatch: pytest.MonkeyPatch) -> None:
    derived: list[bytes] = []
    original = Signer.derive_key

    def counting(self: Signer, secret_key: str | bytes | None = None) -> bytes:
        key = original(self, secret_key)
        derived.append(key)
        return key

    monkeypatch.setattr(Signer, "derive_key", counting)
    serializer = SigningSerializer(SECRET, salt=SALT)
    tokens = [serializer.dumps(f"value {n}") for n in range(5)]
    assert [serializer.loads(token) for token in tokens] == [f"value {n}" for n in range(5)]
    assert serializer.make_signer() is serializer.make_signer()
    assert len(derived) == 1


def test_old_keys_still_verify_and_wrong_ones_do_not() -> None:
    old = URLSafeTimedSerializer("old-secret", salt=SALT).dumps("kept")
    rotated = SigningSerializer(["old-secret", SECRET], salt=SALT)
    assert rotated.loads(old) == "kept"
    assert URLSafeTimedSerializer(SECRET, salt=SALT).loads(rotated.dumps("new")) == "new"
    with pytest.raises(BadSignature):
        SigningSerializer("another-secret", salt=SALT).loads(old)


def test_the_csrf_token_is_flask_wtfs_and_kept_for_the_request(app: Flask) -> None:
    with app.test_request_context("/"):
        token = csrf_token()
        assert re.fullmatch(r"[0-9a-f]{40}", session["csrf_token"])
        assert generate_csrf() == token == csrf_token()  # Flask-WTF reuses it from g
        validate_csrf(token)  # raises if Flask-WTF does not accept it
        assert app.jinja_env.globals["csrf_token"] is csrf_token
    with app.test_request_context("/"):
        g.pop("csrf_token")  # g lives as long as the test's app context
        session["csrf_token"] = "0" * 40  # another visitor's session
        with pytest.raises(ValidationError):
            validate_csrf(token)


def test_the_csrf_serializer_follows_the_secret_key(app: Flask) -> None:
    with app.test_request_context("/"):
        first = csrf_token()
    app.secret_key = "a-rotated-secret"
    with app.test_request_context("/"):
        g.pop("csrf_token")  # g lives as long as the test's app context
        session["csrf_token"] = "1" * 40
        second = csrf_token()
        validate_csrf(second)
        with pytest.raises(ValidationError):
            validate_csrf(first)
    assert len(app.extensions[signing._SERIALIZERS_KEY]) == 2


def test_a_form_renders_the_same_token(app: Flask) -> None:
    from advocacy.actions.forms import StepForm

    app.config["WTF_CSRF_ENABLED"] = True  # the suite turns it off; the browser tests do not
    with app.test_request_context("/"):
        field = StepForm().csrf_token
        assert field.current_token == csrf_token()
        validate_csrf(field.current_token)
        assert str(csrf_field()) == str(field)  # the templates' field is WTForms' markup
    app.config["WTF_CSRF_ENABLED"] = False
    with app.test_request_context("/"):
        assert "csrf_token" not in StepForm() and csrf_field() == ""


def test_a_posted_form_signs_no_token_unless_it_is_shown(app: Flask) -> None:
    from advocacy.actions.forms import StepForm

    app.config["WTF_CSRF_ENABLED"] = True
    with app.test_request_context("/"):
        token = csrf_token()
        secret = session["csrf_token"]
    with app.test_request_context("/", method="POST", data={"csrf_token": token}):
        g.pop("csrf_token")  # g lives as long as the test's app context
        session["csrf_token"] = secret
        form = StepForm()
        assert form.validate_on_submit()  # the posted token is checked
        assert "csrf_token" not in g  # and no new one was signed for a page not shown
        shown = str(form.csrf_token)
        assert g.csrf_token in shown and form.csrf_token.current_token == g.csrf_token
    with app.test_request_context("/", method="POST", data={"csrf_token": "forged"}):
        session["csrf_token"] = secret
        assert not StepForm().validate_on_submit()
