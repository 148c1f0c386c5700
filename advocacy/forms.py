"""The base of every form on the site."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.csrf import _FlaskFormCSRF

from .signing import csrf_token


class _KeptSerializerCSRF(_FlaskFormCSRF):
    """Flask-WTF's form CSRF (it still does the checking), with the token made by
    ``signing.csrf_token``."""

    def generate_csrf_token(self, csrf_token_field: Any) -> str:
        return csrf_token()


class SiteForm(FlaskForm):
    class Meta:
        csrf_class = _KeptSerializerCSRF
