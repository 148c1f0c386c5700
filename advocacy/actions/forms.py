from __future__ import annotations

from wtforms import BooleanField, EmailField, StringField, TelField
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp

from ..forms import SiteForm
from .text import clean_field

strip = clean_field  # every text field: control characters removed, then whitespace stripped


ADDRESS_HELP = "Street address with city and state, or ZIP, e.g. 12 Main St, Concord, NH 03301"


HONEYPOT_LABEL = "Leave this field empty (it is here to catch automated spam)"


class ActionForm(SiteForm):
    name = StringField(
        "Your name",
        filters=[strip],
        validators=[
            DataRequired("Please enter your name."),
            Length(max=120, message="Please keep your name under 120 characters."),
        ],
    )
    email = EmailField(
        "Email",
        filters=[strip],
        validators=[
            DataRequired("Please enter your email address."),
            Email("That email address does not look right.", check_deliverability=False),
            Length(max=254),
        ],
    )
    street_address = StringField(
        "Home street address",
        filters=[strip],
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
        filters=[strip],
        validators=[
            Optional(),
            Regexp(
                r"^[0-9+().\- ]{7,30}$", message="Please enter a phone number with digits only."
            ),
        ],
    )
    opt_in = BooleanField("Keep me informed about this campaign")
    # Honeypot: hidden from people (templates/actions/_honeypot.html), filled in by bots that
    # fill in every field. A submission with it filled records nothing and sends nothing.
    website = StringField(HONEYPOT_LABEL, filters=[strip])

    @property
    def is_bot(self) -> bool:
        return bool(self.website.data)


class StepForm(SiteForm):
    """The later steps only need CSRF protection; their fields are per recipient."""
