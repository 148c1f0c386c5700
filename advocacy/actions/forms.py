from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, StringField, TelField
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp

from ..i18n import lazy_gettext
from .drafts import Draft
from .text import clean_field

strip = clean_field  # every text field: control characters removed, then whitespace stripped


ADDRESS_HELP = lazy_gettext(
    "Street address with city and state, or ZIP, e.g. 12 Main St, Concord, NH 03301"
)
HONEYPOT_LABEL = lazy_gettext("Leave this field empty (it is here to catch automated spam)")


class ActionForm(FlaskForm):
    """The campaign page's form: the first step, which only keeps a draft in the visitor's
    own session and sends nothing. It carries no CSRF token, so the page is the same for
    every visitor and can be served from memory under load; instead, a browser's post from
    another site is refused by its Fetch Metadata (``Sec-Fetch-Site``). The step that sends
    shows the whole message first and requires a token."""

    class Meta:
        csrf = False

    name = StringField(
        lazy_gettext("Your name"),
        filters=[strip],
        validators=[
            DataRequired(lazy_gettext("Please enter your name.")),
            Length(max=120, message=lazy_gettext("Please keep your name under 120 characters.")),
        ],
    )
    email = EmailField(
        lazy_gettext("Email"),
        filters=[strip],
        validators=[
            DataRequired(lazy_gettext("Please enter your email address.")),
            Email(
                lazy_gettext("That email address does not look right."), check_deliverability=False
            ),
            Length(
                max=254,
                message=lazy_gettext("Please keep your email address to 254 characters or fewer."),
            ),
        ],
    )
    street_address = StringField(
        lazy_gettext("Home street address"),
        filters=[strip],
        description=ADDRESS_HELP,
        validators=[
            DataRequired(
                lazy_gettext("Please enter the street address where you are registered or live.")
            ),
            Length(
                min=5,
                max=200,
                message=lazy_gettext("Please enter a full street address (5 to 200 characters)."),
            ),
        ],
    )
    phone = TelField(
        lazy_gettext("Phone (optional)"),
        filters=[strip],
        validators=[
            Optional(),
            Regexp(
                r"^[0-9+().\- ]{7,30}$",
                message=lazy_gettext("Please enter a phone number with digits only."),
            ),
        ],
    )
    opt_in = BooleanField(lazy_gettext("Keep me informed about this campaign"))
    # Honeypot: hidden from people (templates/_action_fields.html), filled in by bots that
    # fill in every field. A submission with it filled records nothing and sends nothing.
    website = StringField(HONEYPOT_LABEL, filters=[strip])

    @property
    def is_bot(self) -> bool:
        return bool(self.website.data)

    def draft(self, campaign: Any) -> Draft:
        """A new draft for ``campaign`` (its ``slug`` and ``version_id``) from what was typed."""
        return Draft(
            slug=campaign.slug,
            version_id=campaign.version_id,
            name=" ".join(self.name.data.split()),
            email=(self.email.data or "").strip(),
            street_address=" ".join(self.street_address.data.split()),
            phone=(self.phone.data or "").strip(),
            opt_in=bool(self.opt_in.data),
        )


class StepForm(FlaskForm):
    """The later steps only need CSRF protection; their fields are per recipient."""
