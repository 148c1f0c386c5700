"""The wrong-district report form, shared by /find and the campaign flow: what the site showed
for the visitor's address, and a picker of their state's districts."""

from __future__ import annotations

from flask import render_template, request
from flask_wtf import FlaskForm

from . import directory, reports

ALL_CHAMBERS = {"upper", "lower", "legislature"}


class ReportForm(FlaskForm):
    """A wrong-district report: its fields are the district pickers, read from the request;
    the form checks the CSRF token."""


def picked_districts() -> list[str]:
    """The district picker's values (``chamber|district``) of the posted form."""
    return [
        value
        for name in request.form
        if name.startswith("district-")
        for value in request.form.getlist(name)
    ]


def report_page(
    *,
    address: str,
    state: str,
    shown: list[str],
    action: str,
    back_url: str,
    hidden_address: str = "",
    error: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    """The wrong-district report form: what we showed, and a picker of the state's
    districts (the campaign flow and /find share it)."""
    return render_template(
        "lookup/report.html",
        address=address,
        shown=[reports.district_label(state, key) for key in shown],
        chambers=directory.district_choices(state.lower(), ALL_CHAMBERS),
        picked=set(picked_districts()) if request.method == "POST" else set(),
        action=action,
        back_url=back_url,
        hidden_address=hidden_address,
        error=error,
    ), status
