"""Source codes: ``?source=`` (or ``?refcode=``, Action Network's name for it) on a campaign
link says who brought the visitor (a partner's newsletter, a share), so organizers can credit
each action. A valid code is remembered in the visitor's session for that campaign when any of
its pages is opened with one, and kept on the action they send.

Read from each request rather than baked into a page: the campaign page is one kept page for
everyone (pagecache.py), and one visitor's code must never reach another.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from flask import session

# At most 64 letters, digits, "_", "." or "-". Anything else is dropped, never an error: a
# mangled link must still let its visitor take part.
CODE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
SESSION_KEY = "source"


def source_from_args(args: Mapping[str, str]) -> str | None:
    """The valid source code of a request's query string, if any. ``source`` wins over
    ``refcode`` when both are given (even if it is the invalid one: nothing is guessed)."""
    raw = args.get("source") or args.get("refcode") or ""
    return raw if CODE.fullmatch(raw) else None


def remember_source(slug: str, args: Mapping[str, str]) -> None:
    """Keep the code of this request's link (if valid) for campaign ``slug``: the latest link
    a visitor came by is the one credited. A link without a code leaves a kept one alone, so
    "start again" and the back button keep the credit."""
    code = source_from_args(args)
    if code is not None:
        session[SESSION_KEY] = {"slug": slug, "code": code}


def remembered_source(slug: str) -> str | None:
    """The code kept for campaign ``slug`` in this visitor's session, if any."""
    kept = session.get(SESSION_KEY)
    if not isinstance(kept, dict) or kept.get("slug") != slug:
        return None
    code = kept.get("code")
    return code if isinstance(code, str) and CODE.fullmatch(code) else None


def forget_source(slug: str) -> None:
    """The action was sent: its code is used up (a later action must come by its own link)."""
    if remembered_source(slug) is not None:
        session.pop(SESSION_KEY, None)
