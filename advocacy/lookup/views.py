"""Public "find your legislators" pages, with a manual path when the address fails."""

from __future__ import annotations

import re

from flask import Blueprint, abort, render_template, request

from ..security import limit_lookups
from . import directory
from .directory import natural_key
from .photos import initials, photo_names
from .registry import STATES, state_info, state_name
from .service import BadAddress, CensusUnavailable, lookup_address, unavailable_sentence

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
            error = (
                f"{unavailable_sentence(exc)} You can try again in a minute, or choose your "
                "state and district below."
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
