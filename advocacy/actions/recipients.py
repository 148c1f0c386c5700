"""Who a visitor writes to: their legislators (by the campaign's chamber rule), a committee's
members, their state's executive officials, and fixed targets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date

from ..campaigns.schema import (
    CampaignDefinition,
    CommitteeTarget,
    ExecutiveTarget,
    FixedTarget,
    StateLegislatorsTarget,
)
from ..i18n import gettext, lazy_gettext
from ..lookup import titles
from ..lookup.directory import (
    districts_in_state,
    legislator_contacts,
    legislators_in_state,
    office_phones,
    site_today,
)
from ..lookup.models import Committee, ExecutiveOfficial, Legislator
from ..lookup.offices import (
    committee_chamber_name,
    committee_label,
    find_committee,
    office_holder,
    office_title,
    office_words,
    role_kind,
    role_title,
    seated_members,
)
from ..lookup.openstates import holds_on
from ..lookup.registry import STATES, state_info, state_name

# A single-chamber legislature (Nebraska, DC) counts for every rule.
_CHAMBERS_FOR_RULE = {
    "lower": {"lower", "legislature"},
    "upper": {"upper", "legislature"},
    "both": {"lower", "upper", "legislature"},
}


# The chambers whose members sit on a committee of each chamber (a joint one: all of them).
_COMMITTEE_CHAMBERS = {
    "lower": {"lower", "legislature"},
    "upper": {"upper", "legislature"},
    "legislature": {"lower", "upper", "legislature"},
}


def chambers_for(definition: CampaignDefinition) -> set[str]:
    """The directory chambers whose members this campaign writes to (none: no legislators)."""
    return _CHAMBERS_FOR_RULE.get(definition.legislator_chambers or "", set())


def lookup_chambers(definition: CampaignDefinition) -> set[str]:
    """The chambers whose members the visitor's address (or district choice) must find: those
    the campaign writes to, and the chambers of a committee that writes only to the visitor's
    own legislators (a joint committee: every chamber)."""
    chambers = set(chambers_for(definition))
    for target in definition.targets:
        if isinstance(target, CommitteeTarget) and target.depends_on_visitor:
            chambers |= _COMMITTEE_CHAMBERS[target.chamber]
    return chambers


# The directory's phone labels (lookup/directory.py PHONE_OFFICES), as a visitor reads them.
_PHONE_OFFICE_WORDS = {
    "Capitol office": lazy_gettext("Capitol office"),
    "District office": lazy_gettext("District office"),
    "Other office line": lazy_gettext("Other office line"),
}


def _phone_office_words(label: str) -> str:
    return str(_PHONE_OFFICE_WORDS.get(label, label))


# A committee member's role for a page ("Chair, House Judiciary Committee"); the committee's
# name is its own.
_ROLE_WORDS = {
    "Chair": lazy_gettext("Chair"),
    "Vice chair": lazy_gettext("Vice chair"),
    "Member": lazy_gettext("Member"),
    "Ranking member": lazy_gettext("Ranking member"),
}


def _role_words(role: str) -> str:
    title = role_title(role)
    return str(_ROLE_WORDS.get(title, title))


@dataclass(frozen=True)
class Recipient:
    """A target as the message and the contact log see it (a snapshot, not a live row)."""

    kind: str  # "legislator" | "committee" | "executive" | "fixed"
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
    # A committee member's committee name, an official's office ("Governor"): what tallies
    # group them by, as a legislator by their district.
    district: str = ""
    # What they are, in words, for the pages: "Chair, House Judiciary Committee", "Governor of
    # New Hampshire" (empty for legislators and fixed targets: the pages say it their way).
    position: str = ""
    # As the directory records it ("Female", "Male", or empty): a Spanish title's form.
    gender: str = ""
    # A target's own templates (empty: the campaign's message and call script).
    message_subject: str = ""
    message_body: str = ""
    call_script: str = ""

    @property
    def is_person(self) -> bool:
        """A person in the directory (a photo or initials are shown for them)."""
        return self.kind in ("legislator", "committee", "executive")

    @property
    def phone_office(self) -> str:
        """Which office ``phone`` reaches ("Capitol office"...); empty when not known."""
        return _phone_office_words(self.phones[0][0]) if self.phones else ""

    @property
    def phones_in_words(self) -> list[tuple[str, str]]:
        """(which office, in the reader's language; number) for each number on record."""
        return [(_phone_office_words(office), number) for office, number in self.phones]

    @property
    def phone_numbers(self) -> str:
        """Every number in words: "555-0100 (capitol office), or 555-0199 (district office)"."""
        return (
            gettext(", or ").join(
                f"{number} ({_phone_office_words(office).lower()})" if office else number
                for office, number in self.phones
            )
            or self.phone
        )

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
        gender=legislator.gender or "",
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
        **_own_templates(target),
    )


def _own_templates(target: FixedTarget | CommitteeTarget | ExecutiveTarget) -> dict[str, str]:
    return {
        "message_subject": target.message.subject if target.message else "",
        "message_body": target.message.body if target.message else "",
        "call_script": target.call_script or "",
    }


def committee_recipient(
    legislator: Legislator, committee: Committee, role: str, target: CommitteeTarget | None
) -> Recipient:
    """A legislator written to as a member of ``committee``: their district for a message is
    the committee, their chamber the committee's."""
    chamber_name = committee_chamber_name(committee.state, committee.chamber)
    label = committee_label(committee.name, chamber_name)
    return replace(
        legislator_recipient(legislator),
        kind="committee",
        organisation=label,
        chamber=committee.chamber,
        chamber_name=chamber_name,
        district=committee.name,
        position=gettext("%(role)s, %(committee)s", role=_role_words(role), committee=label),
        **(_own_templates(target) if target is not None else {}),
    )


def executive_recipient(
    official: ExecutiveOfficial, target: ExecutiveTarget | None = None
) -> Recipient:
    """A state executive official; their district for a message is their office."""
    title = office_title(official.office)
    last_name = official.family_name or official.name.split()[-1]
    return Recipient(
        kind="executive",
        id=official.id,
        name=official.name,
        last_name=last_name,
        title=title,
        salutation=f"{title} {last_name}",
        gender=official.gender or "",
        party=official.party or "",
        email=official.email or "",
        phone=official.phone or "",
        phones=(("", official.phone),) if official.phone else (),
        postal_address=official.address or "",
        state=official.state.upper(),
        chamber="executive",
        district=title,
        position=gettext(
            "%(office)s of %(state)s",
            office=office_words(official.office),
            state=state_name(official.state),
        ),
        **(_own_templates(target) if target is not None else {}),
    )


@dataclass
class Resolved:
    """Who a visitor writes to, and a sentence for each target that gives them no one they
    might expect (an office with no holder on record, a committee none of theirs sits on)."""

    recipients: list[Recipient] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Targets the directory cannot resolve (for staff: the committee's name is wrong...).
    problems: list[str] = field(default_factory=list)


def resolve(
    definition: CampaignDefinition,
    legislator_ids: list[str],
    state: str = "",
    day: date | None = None,
) -> Resolved:
    """Each target of the campaign, in its order, as the directory has them on ``day``
    (default today): the chosen legislators holding their seat (chamber rule applied), the
    committees' members, the officials of ``state`` (the visitor's) and the fixed targets.
    Someone named by two targets gets one message, as the first target that names them."""
    day = day or site_today()
    state = state.lower()
    result = Resolved()
    seen: set[str] = set()
    found = legislator_contacts(legislator_ids)

    def add(recipient: Recipient) -> None:
        if recipient.id not in seen:
            seen.add(recipient.id)
            result.recipients.append(recipient)

    for target in definition.targets:
        if isinstance(target, StateLegislatorsTarget):
            allowed = _CHAMBERS_FOR_RULE[target.chambers]
            for person_id in legislator_ids:
                legislator = found.get(person_id)
                if (
                    legislator is not None
                    and legislator.chamber in allowed
                    and holds_on(legislator.starts_on, legislator.ends_on, day)
                ):
                    add(legislator_recipient(legislator))
        elif isinstance(target, FixedTarget):
            add(fixed_recipient(target))
        elif isinstance(target, CommitteeTarget):
            _committee(target, legislator_ids, day, add, result)
        elif isinstance(target, ExecutiveTarget) and state in STATES:
            official = office_holder(state, target.office, day)
            if official is None:
                result.notes.append(
                    gettext(
                        "We have no record of who is %(office)s of %(state)s right now, so no "
                        "message goes to that office.",
                        office=office_words(target.office),
                        state=state_name(state),
                    )
                )
            else:
                add(executive_recipient(official, target))
    return result


def _committee(
    target: CommitteeTarget,
    legislator_ids: list[str],
    day: date,
    add: Callable[[Recipient], None],
    result: Resolved,
) -> None:
    found = find_committee(target.state, target.chamber, target.committee)
    if found.committee is None:
        result.problems.append(f"{target.state} {target.chamber}: {found.problem}")
        return
    committee = found.committee
    members = seated_members(committee.id, day)
    if target.roles:
        members = [m for m in members if role_kind(m.role) in target.roles]
    if target.depends_on_visitor:
        ids = set(legislator_ids)
        members = [m for m in members if m.legislator.id in ids]
        if not members:
            label = committee_label(
                committee.name, committee_chamber_name(committee.state, committee.chamber)
            )
            result.notes.append(
                gettext("None of your own legislators sits on the %(committee)s.", committee=label)
            )
    for member in members:
        add(committee_recipient(member.legislator, committee, member.role, target))


def recipients_for(
    definition: CampaignDefinition, legislator_ids: list[str], state: str = ""
) -> list[Recipient]:
    """Who the visitor writes to today (``resolve``)."""
    return resolve(definition, legislator_ids, state).recipients


def template_context(
    definition: CampaignDefinition, constituent: dict[str, str], recipient: Recipient
) -> dict[str, dict[str, str]]:
    """What a template is filled with: the visitor's values (``constituent_values``), the
    recipient's and the campaign's, in the language of the definition's texts (a Spanish
    letter says "Senador/a Ortiz", "Carolina del Norte")."""
    code = definition.text_language
    target = recipient.template_values()
    if code != "en":
        constituent = {
            **constituent,
            "state_name": titles.in_language(code, "state", constituent.get("state_name", "")),
        }
        target |= _target_words(definition, recipient)
    return {
        "constituent": constituent,
        "target": target,
        "campaign": {"title": definition.title},
    }


def salutation_in(definition: CampaignDefinition, recipient: Recipient) -> str:
    """How a message in the language of ``definition``'s texts names ``recipient``."""
    if definition.text_language == "en":
        return recipient.salutation or recipient.name
    return _target_words(definition, recipient)["salutation"] or recipient.name


def _target_words(definition: CampaignDefinition, recipient: Recipient) -> dict[str, str]:
    """The recipient's title, salutation, chamber (and an official's office) in the language
    of ``definition``'s texts: a fixed target's from the campaign's translation, anyone
    else's from the directory's titles."""
    code = definition.text_language
    if recipient.kind == "fixed":
        given = definition.own_words(recipient.id)
        title = given.title if given is not None and given.title else ""
        if given is not None and given.salutation:
            return {"title": title, "salutation": given.salutation}
        return {"title": title, "salutation": f"{title} {recipient.name}".strip()}
    words = {
        "title": titles.title_for(code, recipient.title, recipient.gender),
        "salutation": titles.salutation(
            code, recipient.title, recipient.last_name, recipient.gender
        ),
        "chamber": titles.in_language(code, "chamber", recipient.chamber_name),
    }
    if recipient.kind == "executive":
        words["district"] = words["title"]
    return words


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
            return [], gettext(
                "That district is not one this campaign writes to. Please choose again."
            )
        if chosen.setdefault(chamber, district) != district:
            return [], gettext("Please choose only your own district: one per chamber.")
    if chambers and not chosen:
        return [], gettext("Please choose your district.")
    people = [
        person
        for person in legislators_in_state(state)
        if chosen.get(person.chamber) == person.district
    ]
    if chambers and not people:
        return [], gettext("No one sits for the district you chose right now. Please check it.")
    return people, None
