"""The base of every form on the site."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.csrf import _FlaskFormCSRF
from wtforms import Field
from wtforms.csrf.core import CSRFTokenField

from .signing import csrf_token


class _TokenWhenShownField(CSRFTokenField):
    """WTForms' CSRF field, which makes the token only when something asks for it (the
    field is rendered, ``current_token`` is read). WTForms makes it as soon as the form is
    built; a POST that ends in a 303 never shows it, and signing it was a tenth of the
    form's cost. The token checked is the one posted (``data``), as before."""

    def process(self, *args: Any, **kwargs: Any) -> None:
        Field.process(self, *args, **kwargs)  # WTForms' field processing, without the token

    @property  # type: ignore[override]
    def current_token(self) -> str:
        return str(self.csrf_impl.generate_csrf_token(self))

    def _value(self) -> str:
        return self.current_token


class _KeptSerializerCSRF(_FlaskFormCSRF):
    """Flask-WTF's form CSRF (it still does the checking), with the token made by
    ``signing.csrf_token`` when it is shown."""

    field_class = _TokenWhenShownField

    def generate_csrf_token(self, csrf_token_field: Any) -> str:
        return csrf_token()


class SiteForm(FlaskForm):
    class Meta:
        csrf_class = _KeptSerializerCSRF
