"""Forms of the token pages (CSRF-protected like every staff form)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from .tokens import MAX_NAME


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


class TokenForm(FlaskForm):
    name = StringField(
        "Name",
        description="Who or what uses it, e.g. “Coalition dashboard”.",
        filters=[_strip],
        validators=[DataRequired(message="Please fill this in."), Length(max=MAX_NAME)],
    )
    campaign = SelectField(
        "Campaigns it can read",
        description="A token for one campaign gets “403 Forbidden” for every other.",
        choices=[SelectChoice("", "Every campaign")],
    )


class RevokeForm(FlaskForm):
    """Only the CSRF token."""
