from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, StringField, TelField
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp

ADDRESS_HELP = "Street address with city and state, or ZIP, e.g. 12 Main St, Concord, NH 03301"


class ActionForm(FlaskForm):
    name = StringField(
        "Your name",
        validators=[
            DataRequired("Please enter your name."),
            Length(max=120, message="Please keep your name under 120 characters."),
        ],
    )
    email = EmailField(
        "Email",
        validators=[
            DataRequired("Please enter your email address."),
            Email("That email address does not look right.", check_deliverability=False),
            Length(max=254),
        ],
    )
    street_address = StringField(
        "Home street address",
        description=ADDRESS_HELP,
        validators=[
            DataRequired("Please enter the street address where you are registered or live."),
            Length(
                min=5, max=200, message="Please enter a full street address (5 to 200 characters)."
            ),
        ],
    )
    phone = TelField(
        "Phone (optional)",
        validators=[
            Optional(),
            Regexp(
                r"^[0-9+().\- ]{7,30}$", message="Please enter a phone number with digits only."
            ),
        ],
    )
    opt_in = BooleanField("Keep me informed about this campaign")
