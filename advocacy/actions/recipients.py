"""Who a visitor writes to: their legislators (by the campaign's chamber rule) and fixed targets."""

from __future__ import annotations

from dataclasses import dataclass

from ..campaigns.schema import CampaignDefinition, FixedTarget
from ..lookup.directory import (
    districts_in_state,
    legislator_contacts,
    legislators_in_state,
    office_phones,
)
from ..lookup.models import Legislator
from ..lookup.registry import state_info, state_name

# A single-chamber legislature (Nebraska, DC) counts for every rule.
_CHAMBERS_FOR_RULE = {
    "lower": {"lower", "legislature"},
    "upper": {"upper", "legislature"},
    "both": {"lower", "upper", "legislature"},
}


def chambers_for(definition: CampaignDefinition) -> set[str]:
    """The directory chambers whose members this campaign writes to (none: no legislators)."""
    return _CHAMBERS_FOR_RULE.get(definition.legislator_chambers or "", set())


@dataclass(frozen=True)
class Recipient:
    """A target as the message and the contact log see it (a snapshot, not a live row)."""

    kind: str  # "legislator" | "fixed"
    id: str
    name: str
    last_name: str
    title: str
    salutation: str
    organisation: str = ""
    party: str = ""
    email: str = ""
    phone: str = ""  # the first of ``phones``
    # Each number to call as (which office, number), the capitol office first.
    phones: tuple[tuple[str, str], ...] = ()
    postal_address: str = ""
    state: str = ""
    chamber: str = ""
    chamber_name: str = ""
    district: str = ""
    # A fixed target's own templates (empty: the campaign's message and call script).
    message_subject: str = ""
    message_body: str = ""
    call_script: str = ""

    @property
    def phone_office(self) -> str:
        """Which office ``phone`` reaches ("Capitol office"...); empty when not known."""
        return self.phones[0][0] if self.phones else ""

    @property
    def phone_numbers(self) -> str:
        """Every number in words: "555-0100 (capitol office), or 555-0199 (district office)"."""
        return ", or ".join(
            f"{number} ({office.lower()})" if office else number for office, number in self.phones
        ) or self.phone

    @property
    def channel(self) -> str | None:
        """How the written message reaches them; None when it cannot (call only, or nothing)."""
        if self.email:
            return "email"
        if self.postal_address:
            return "postal"
        return None

    def template_values(self) -> dict[str, str]:
        return {
            "name": self.name,
            "last_name": self.last_name,
            "title": self.title,
            "salutation": self.salutation,
            "district": self.district,
            "chamber": self.chamber_name,
            "organisation": self.organisation,
        }


def legislator_recipient(legislator: Legislator) -> Recipient:
    try:
        info = state_info(legislator.state)
        title = info.chamber_titles.get(legislator.chamber, "")
        chamber_name = info.chamber_names.get(legislator.chamber, "")
    except KeyError:
        title, chamber_name = "", ""
    last_name = legislator.family_name or legislator.name.split()[-1]
    phones = tuple(office_phones(legislator))
    return Recipient(
        kind="legislator",
        id=legislator.id,
        name=legislator.name,
        last_name=last_name,
        title=title,
        salutation=f"{title} {last_name}".strip(),
        party=legislator.party or "",
        email=legislator.email or "",
        phone=phones[0][1] if phones else "",
        phones=phones,
        postal_address=legislator.capitol_address or legislator.district_address or "",
        state=legislator.state.upper(),
        chamber=legislator.chamber,
        chamber_name=chamber_name,
        district=legislator.district,
    )


def fixed_recipient(target: FixedTarget) -> Recipient:
    name = target.name
    title = target.title or ""
    return Recipient(
        kind="fixed",
        id=target.id,
        name=name,
        last_name=name.split()[-1],
        title=title,
        salutation=target.salutation or (f"{title} {name}".strip()),
        organisation=target.organisation or "",
        email=str(target.email or ""),
        phone=target.phone or "",
        phones=(("", target.phone),) if target.phone else (),
        postal_address=target.postal_address or "",
        message_subject=target.message.subject if target.message else "",
        message_body=target.message.body if target.message else "",
        call_script=target.call_script or "",
    )


def recipients_for(definition: CampaignDefinition, legislator_ids: list[str]) -> list[Recipient]:
    """Current directory rows for the chosen legislators (chamber rule applied) + fixed targets."""
    allowed = chambers_for(definition)
    chosen: list[Recipient] = []
    seen: set[str] = set()
    found = legislator_contacts(legislator_ids)
    for person_id in legislator_ids:
        legislator = found.get(person_id)
        if legislator is None or legislator.chamber not in allowed or person_id in seen:
            continue
        seen.add(person_id)
        chosen.append(legislator_recipient(legislator))
    return chosen + [fixed_recipient(t) for t in definition.fixed_targets]


def template_context(
    definition: CampaignDefinition, constituent: dict[str, str], recipient: Recipient
) -> dict[str, dict[str, str]]:
    """What a template is filled with: the visitor's values (``constituent_values``), the
    recipient's and the campaign's."""
    return {
        "constituent": constituent,
        "target": recipient.template_values(),
        "campaign": {"title": definition.title},
    }


def constituent_values(name: str, city: str, state: str) -> dict[str, str]:
    return {
        "name": name,
        "first_name": name.split()[0] if name.split() else name,
        "city": city.title() if city.isupper() else city,
        "state": state.upper(),
        "state_name": state_name(state) if state else "",
    }


def people_in_districts(
    state: str, chambers: set[str], picked: list[str]
) -> tuple[list[Legislator], str | None]:
    """The legislators of the districts a visitor chose by hand (``chamber|district`` values,
    at most one per chamber), or a sentence saying what is wrong with the choice."""
    chosen: dict[str, str] = {}
    known = {(d.chamber, d.district) for d in districts_in_state(state)}
    for value in filter(None, picked):
        chamber, _, district = value.partition("|")
        if chamber not in chambers or (chamber, district) not in known:
            return [], "That district is not one this campaign writes to. Please choose again."
        if chosen.setdefault(chamber, district) != district:
            return [], "Please choose only your own district: one per chamber."
    if chambers and not chosen:
        return [], "Please choose your district."
    people = [
        person
        for person in legislators_in_state(state)
        if chosen.get(person.chamber) == person.district
    ]
    if chambers and not people:
        return [], "No one sits for the district you chose right now. Please check it."
    return people, None
