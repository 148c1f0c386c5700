"""Cleaning of text typed by visitors before it is stored or sent."""

from __future__ import annotations

import re

# C0 control characters except tab and newline, and DEL. NUL in particular cannot be stored
# in PostgreSQL text; the others have no business in a name, an address or a letter.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def strip_controls(text: str) -> str:
    """``text`` with line endings made ``\\n`` and other control characters removed."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def clean_field(value: object) -> object:
    """WTForms filter: remove control characters, then surrounding whitespace."""
    return strip_controls(value).strip() if isinstance(value, str) else value
