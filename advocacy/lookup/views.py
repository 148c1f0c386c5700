"""Public "find your legislators" pages, with a manual path when the address fails."""

from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers.response import Response

from ..i18n import gettext
from ..security import limit_lookups, limit_submissions
from . import directory, reports
from .directory import natural_key
from .photos import initials, photo_names
from .registry import STATES, state_info, state_name
from .reportform import ReportForm, picked_districts, report_page
from .service import (
    BadAddress,
    CensusUnavailable,
    LookupResult,
    lookup_address,
    unavailable_sentence,
)

blueprint = Blueprint("lookup_pages", __name__)


@blueprint.app_template_filter("tel_href")
def tel_href(phone: str) -> str:
    """A ``tel:`` URI for a US phone number as Open States writes it ("(603) 271-3661")."""
    number = re.split(r"(?i)\s*(?:ext\.?|x)\s*\d", phone, maxsplit=1)[0]
    digits = re.sub(r"\D", "", number)
    if len(digits) == 10:
        return f"tel:+1{digits}"
    if len(digits) == 11 and digits.startswith("1"):
        return f"tel:+{digits}"
    return f"tel:{digits}"


@blueprint.app_template_filter("initials")
def initials_filter(name: str) -> str:
    return initials(name)


@blueprint.get("/find")
@limit_lookups  # only requests with an address
def find() -> tuple[str, int]:
    address = request.args.get("address")
    result = error = None
    status = 200
    if address is not None:
        try:
            result = lookup_address(address)
        except BadAddress as exc:
            error, status = str(exc), 400
        except CensusUnavailable as exc:
            error = gettext(
                "%(problem)s You can try again in a minute, or choose your state and district "
                "below.",
                problem=unavailable_sentence(exc),
            )
            status = 503
    states = [(abbr, state_name(abbr)) for abbr in STATES]
    shown = [m.id for group in result.districts for m in group.members] if result else []
    return render_template(
        "lookup/find.html",
        address=address or "",
        result=result,
        photos=photo_names(shown),
        error=error,
        states=sorted(states, key=lambda s: s[1]),
    ), status


def _matched(address: str) -> tuple[LookupResult | None, str | None]:
    """The lookup of a typed address, or a sentence saying why there is none to report on."""
    try:
        result = lookup_address(address)
    except BadAddress as exc:
        return None, str(exc)
    except CensusUnavailable:
        return None, gettext(
            "The address service is not answering right now. Please try again soon."
        )
    if result.confidence == "none" or not result.state:
        return None, gettext("We could not find that address, so there are no districts to report.")
    return result, None


@blueprint.route("/find/report", methods=["GET", "POST"])
@limit_lookups  # only requests with an address
@limit_submissions  # POST only
def report_districts() -> tuple[str, int] | Response:
    """A visitor of /find says the districts shown for their address are not theirs."""
    address = " ".join((request.values.get("address") or "").split())[:200]
    result, problem = _matched(address) if address else (None, None)
    if result is None or result.state is None:
        flash(problem or gettext("Please look up your address."), "error")
        return redirect(url_for(".find"), 303)
    shown = reports.shown_districts(result.districts)
    page = {
        "address": address,
        "state": result.state,
        "shown": shown,
        "action": url_for(".report_districts"),
        "back_url": url_for(".find", address=address),
        "hidden_address": address,
    }
    if request.method == "GET":
        return report_page(**page)
    if not ReportForm().validate_on_submit():
        expired = gettext("The page had expired. Please send it again.")
        return report_page(**page, error=expired, status=400)
    try:
        reports.file_report(address, result.state, shown, picked_districts())
    except reports.ReportProblem as exc:
        return report_page(**page, error=str(exc), status=400)
    flash(gettext("Thank you. Our staff will check the districts for your address."), "success")
    return redirect(url_for(".find", address=address), 303)


@blueprint.get("/find/<state>")
def browse_state(state: str) -> str:
    state = state.lower()
    if state not in STATES:
        abort(404)
    info = state_info(state)
    legislators = directory.legislators_in_state(state)
    by_district: dict[tuple[str, str], list[object]] = {}
    for legislator in legislators:
        by_district.setdefault((legislator.chamber, legislator.district), []).append(legislator)
    districts = sorted(
        directory.districts_in_state(state), key=lambda d: (d.chamber, natural_key(d.district))
    )
    loaded = {row.state: row for row in directory.directory_states()}.get(state)
    return render_template(
        "lookup/state.html",
        info=info,
        districts=districts,
        by_district=by_district,
        loaded=loaded,
        photos=photo_names(legislator.id for legislator in legislators),
    )
