"""Committees and executive officials in the directory (``directory.replace_state`` loads them
with a state's roster): the people a campaign's committee or executive target names, and their
roles and titles in words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from ..extensions import db
from ..i18n import lazy_gettext
from .directory import holding_office, holding_seat
from .models import Committee, CommitteeMember, ExecutiveOfficial, Legislator
from .registry import state_info

# Committee roles by what a campaign asks for: Open States' words (lower case, hyphens read as
# spaces). A party's own chair ("democratic chair", Pennsylvania's minority chairs) is not the
# committee's chair.
CHAIR_ROLES = frozenset(
    {
        "chair",
        "co chair",
        "cochair",
        "lead co chair",
        "senior chair",
        "chairman",
        "chairwoman",
        "chairperson",
        "chair/ex officio",
        "presidente",
        "presidenta",
    }
)
VICE_CHAIR_ROLES = frozenset(
    {
        "vice chair",
        "co vice chair",
        "first vice chair",
        "1st vice chair",
        "second vice chair",
        "2nd vice chair",
        "vice chairman",
        "vice chairwoman",
        "vice presidente",
        "vice presidenta",
        "vicepresidente",
        "vicepresidenta",
    }
)


def role_kind(role: str) -> str:
    """ "chair", "vice chair" or "member": what a member's role counts as for a campaign."""
    words = " ".join(role.lower().replace("-", " ").replace("_", " ").split())
    if words in CHAIR_ROLES:
        return "chair"
    if words in VICE_CHAIR_ROLES:
        return "vice chair"
    return "member"


def role_title(role: str) -> str:
    """A member's role as a page shows it: "Chair", "Vice chair", "Member", "Ranking member"."""
    words = " ".join(role.replace("_", " ").split())
    return words[:1].upper() + words[1:] if words else "Member"


# The state offices a campaign may write to (openstates.OFFICES), as a page names them in the
# reader's language; messages to offices keep ``office_title``.
_OFFICE_WORDS = {
    "governor": lazy_gettext("Governor"),
    "lieutenant governor": lazy_gettext("Lieutenant Governor"),
    "attorney general": lazy_gettext("Attorney General"),
    "secretary of state": lazy_gettext("Secretary of State"),
    "treasurer": lazy_gettext("Treasurer"),
    "auditor": lazy_gettext("Auditor"),
    "chief election officer": lazy_gettext("Chief Election Officer"),
}


def office_words(office: str) -> str:
    """An office's title for a page, in the reader's language."""
    return str(_OFFICE_WORDS.get(office.lower(), office_title(office)))


def office_title(office: str) -> str:
    """ "governor" -> "Governor", "secretary of state" -> "Secretary of State"."""
    small = {"of", "the", "and", "for"}
    return " ".join(
        word if word in small and index else word.capitalize()
        for index, word in enumerate(office.split())
    )


# Words that already say what kind of body a committee is.
_BODY_WORDS = ("committee", "commission", "council", "task force", "board", "panel", "caucus")


def committee_chamber_name(state: str, chamber: str) -> str:
    """ "House", "Senate", ...; a single chamber's own name (Nebraska's "Legislature"); "Joint"
    for a committee of both chambers of a two-chamber legislature."""
    info = state_info(state.lower())
    if chamber == "legislature" and not info.unicameral:
        return "Joint"
    return info.chamber_names.get(chamber, "")


def committee_label(name: str, chamber_name: str) -> str:
    """ "House Judiciary Committee", "Joint Committee on Rules", "Agriculture Committee" (a
    single chamber's committee is not prefixed with its long name)."""
    text = name if any(word in name.lower() for word in _BODY_WORDS) else f"{name} Committee"
    if chamber_name not in ("House", "Senate", "Assembly") or text.startswith(chamber_name):
        return text
    return f"{chamber_name} {text}"


# -- finding ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FoundCommittee:
    """A committee a target names, or why it could not be found (``committee`` None)."""

    committee: Committee | None
    problem: str | None = None


def find_committee(state: str, chamber: str, name_or_id: str) -> FoundCommittee:
    """The committee of ``state``'s ``chamber`` with this id, or this name (any case); a name
    two committees share must be given by id."""
    state = state.lower()
    if name_or_id.startswith("ocd-organization/"):
        committee = db.session.get(Committee, name_or_id)
        if committee is None or committee.state != state or committee.chamber != chamber:
            return FoundCommittee(None, f"no committee {name_or_id} in the directory")
        return FoundCommittee(committee)
    found = list(
        db.session.scalars(
            select(Committee)
            .where(
                Committee.state == state,
                Committee.chamber == chamber,
                func.lower(Committee.name) == name_or_id.lower(),
            )
            .order_by(Committee.id)
        )
    )
    if not found:
        return FoundCommittee(None, f"no committee named {name_or_id!r} in the directory")
    if len(found) > 1:
        ids = ", ".join(c.id for c in found)
        return FoundCommittee(
            None, f"{len(found)} committees are named {name_or_id!r} ({ids}): give its id"
        )
    return FoundCommittee(found[0])


@dataclass(frozen=True)
class SeatedMember:
    """A committee member who holds their legislative seat on the day asked."""

    legislator: Legislator
    role: str  # as Open States writes it


def seated_members(committee_id: str, day: date) -> list[SeatedMember]:
    """The committee's members, in its file's order, who hold their seat on ``day`` (members
    named without an id, or no longer in the directory, cannot be written to)."""
    rows = db.session.execute(
        select(CommitteeMember.role, Legislator)
        .join(Legislator, Legislator.id == CommitteeMember.person_id)
        .where(CommitteeMember.committee_id == committee_id, holding_seat(day))
        .order_by(CommitteeMember.position)
    ).all()
    seen: set[str] = set()
    members = []
    for role, legislator in rows:
        if legislator.id not in seen:
            seen.add(legislator.id)
            members.append(SeatedMember(legislator, role))
    return members


def office_holder(state: str, office: str, day: date) -> ExecutiveOfficial | None:
    """Who holds a state's executive office on ``day``; with two on record (a duplicate in
    the source), the one whose term began last."""
    return db.session.scalars(
        select(ExecutiveOfficial)
        .where(
            ExecutiveOfficial.state == state.lower(),
            ExecutiveOfficial.office == office,
            holding_office(day),
        )
        .order_by(
            ExecutiveOfficial.starts_on.is_(None),
            ExecutiveOfficial.starts_on.desc(),
            ExecutiveOfficial.id,
        )
        .limit(1)
    ).first()


def committees_in_state(state: str) -> list[tuple[Committee, int]]:
    """A state's committees with how many members each lists, by chamber and name."""
    counts = (
        select(CommitteeMember.committee_id, func.count().label("members"))
        .group_by(CommitteeMember.committee_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Committee, func.coalesce(counts.c.members, 0))
        .outerjoin(counts, counts.c.committee_id == Committee.id)
        .where(Committee.state == state.lower())
        .order_by(Committee.chamber, Committee.name)
    ).all()
    return [(committee, int(members)) for committee, members in rows]


def officials_in_state(state: str) -> list[ExecutiveOfficial]:
    return list(
        db.session.scalars(
            select(ExecutiveOfficial)
            .where(ExecutiveOfficial.state == state.lower())
            .order_by(ExecutiveOfficial.office, ExecutiveOfficial.name)
        )
    )


def still_in_office(
    connection: Connection, legislator_ids: set[str], official_ids: set[str], day: date
) -> set[str]:
    """Which of these people hold their seat or office on ``day``."""
    current: set[str] = set()
    if legislator_ids:
        current.update(
            connection.scalars(
                select(Legislator.id).where(Legislator.id.in_(legislator_ids), holding_seat(day))
            )
        )
    if official_ids:
        current.update(
            connection.scalars(
                select(ExecutiveOfficial.id).where(
                    ExecutiveOfficial.id.in_(official_ids), holding_office(day)
                )
            )
        )
    return current
