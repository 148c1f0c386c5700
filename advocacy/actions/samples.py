"""The sample visitors a campaign's templates are checked with (``campaigns validate`` and the
admin editor): a small, fixed set that covers the ways a visitor's values can differ, filled
with the site's own functions (``constituent_values``, ``legislator_recipient``,
``fixed_recipient``), so a check sees exactly what a visitor would.

- an address the Census matched: a city, and a House district with two seats;
- a district chosen by hand, with no city;
- Nebraska: one chamber, whose members are senators;
- a New Hampshire House district with two seats under a floterial district;
- each fixed target of the campaign, by a visitor with a city and by one without;
- a member of each committee target (its chair when it writes to chairs), and the holder of
  each executive target's office, by the same two visitors.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..campaigns.filled import Sample
from ..campaigns.schema import CampaignDefinition, CommitteeTarget, ExecutiveTarget, FixedTarget
from ..lookup.models import Committee, ExecutiveOfficial, Legislator
from ..lookup.registry import state_info
from .recipients import (
    Recipient,
    chambers_for,
    committee_recipient,
    constituent_values,
    executive_recipient,
    fixed_recipient,
    legislator_recipient,
    template_context,
)


@dataclass(frozen=True)
class Member:
    """A made-up legislator in a real district."""

    name: str
    family_name: str | None  # None: as in some directory rows (the last word is used)
    chamber: str
    district: str
    note: str = ""  # what is special about the seat, for the sample's label


@dataclass(frozen=True)
class Visitor:
    """A made-up visitor: how they found their legislators, and who those are."""

    how: str
    name: str
    city: str  # empty: a district chosen by hand without a city
    state: str
    members: tuple[Member, ...]


VISITORS: tuple[Visitor, ...] = (
    Visitor(
        "address matched (Concord, NH)",
        "Alex Rivera",
        "Concord",
        "nh",
        (
            Member("Jordan Ortiz", "Ortiz", "lower", "Merrimack 12"),
            Member("Casey Lund", "Lund", "lower", "Merrimack 12"),
            Member("Morgan Okafor", "Okafor", "upper", "15"),
        ),
    ),
    Visitor(
        "district chosen by hand, no city (NH)",
        "Sam Lee",
        "",
        "nh",
        (
            Member("Dana M. Whitfield", None, "lower", "Merrimack 18"),
            Member("Morgan Okafor", "Okafor", "upper", "15"),
        ),
    ),
    Visitor(
        "Nebraska (Lincoln, NE)",
        "Jamie Novak",
        "Lincoln",
        "ne",
        (Member("Avery Hale", "Hale", "legislature", "29"),),
    ),
    Visitor(
        "a multi-member district with a floterial (Nashua, NH)",
        "Taylor Brooks",
        "Nashua",
        "nh",
        (
            Member("Robin Park", "Park", "lower", "Hillsborough 23"),
            Member("Quinn Adler", "Adler", "lower", "Hillsborough 23"),
            Member("Drew Santos", "Santos", "lower", "Hillsborough 40", "floterial"),
            Member("Kai Bennett", "Bennett", "lower", "Hillsborough 40", "floterial"),
        ),
    ),
)
# Fixed targets are written to by a visitor with a city and by one without.
FIXED_TARGET_VISITORS = (VISITORS[0], VISITORS[1])


def _legislator(visitor: Visitor, number: int, member: Member) -> Recipient:
    return legislator_recipient(
        Legislator(
            id=f"sample-{visitor.state}-{number}",
            state=visitor.state,
            chamber=member.chamber,
            district=member.district,
            name=member.name,
            family_name=member.family_name,
            email=f"member{number}@example.org",
            capitol_phone="555-0100",
        )
    )


def sample_visitors(definition: CampaignDefinition) -> list[Sample]:
    """Every sample visitor writing to every recipient this campaign gives them."""
    chambers = chambers_for(definition)
    samples = []
    for visitor in VISITORS:
        constituent = constituent_values(visitor.name, visitor.city, visitor.state)
        for number, member in enumerate(visitor.members):
            if member.chamber not in chambers:
                continue
            recipient = _legislator(visitor, number, member)
            seat = f"{recipient.chamber_name} district {recipient.district}"
            if member.note:
                seat += f", a {member.note}"
            samples.append(
                Sample(
                    f"{visitor.how}, writing to {recipient.salutation} ({seat})",
                    template_context(definition, constituent, recipient),
                    calls=bool(recipient.phone),
                )
            )
    for index, target in enumerate(definition.targets):
        if isinstance(target, FixedTarget):
            recipient = fixed_recipient(target)
            who = recipient.name
        elif isinstance(target, CommitteeTarget):
            recipient = _committee_member(target)
            who = f"{recipient.salutation} ({recipient.position})"
        elif isinstance(target, ExecutiveTarget):
            recipient = executive_recipient(_official(target.office), target)
            who = recipient.salutation
        else:
            continue
        own = " (its own message)" if recipient.message_subject else ""
        for visitor in FIXED_TARGET_VISITORS:
            # A committee's members are written to by visitors of its state.
            state = target.state if isinstance(target, CommitteeTarget) else visitor.state
            constituent = constituent_values(visitor.name, visitor.city, state)
            samples.append(
                Sample(
                    f"{visitor.how}, writing to {who}{own}",
                    template_context(definition, constituent, recipient),
                    target=index,
                    calls=bool(recipient.phone),
                )
            )
    return samples


def _committee_member(target: CommitteeTarget) -> Recipient:
    """A made-up member of the committee a target names (its chair when it writes to
    chairs), in a real district of the committee's chamber."""
    state = target.state.lower()
    # A joint committee's member sits in one of the two chambers.
    joint = target.chamber == "legislature" and not state_info(state).unicameral
    chamber = "lower" if joint else target.chamber
    name = target.committee
    if name.startswith("ocd-organization/"):
        name = "Judiciary"  # the name is in the directory, not the file
    committee = Committee(id="sample", state=state, chamber=target.chamber, name=name)
    member = Legislator(
        id="sample-committee-member",
        state=state,
        chamber=chamber,
        district="1",
        name="Riley Chen",
        family_name="Chen",
        email="member@example.org",
        capitol_phone="555-0100",
    )
    role = "chair" if not target.roles or "chair" in target.roles else "vice chair"
    return committee_recipient(member, committee, role, target)


def _official(office: str) -> ExecutiveOfficial:
    return ExecutiveOfficial(
        id="sample-official",
        state="nh",
        office=office,
        name="Jordan Avery Example",
        family_name="Example",
        email="office@example.org",
        phone="555-0100",
    )
