"""A small campaign with exactly known tallies, made directly with the models.

Six actions by five people (alice acts twice) in three states, to New Hampshire's two-member
House district Hillsborough 23 and Senate district 15, Nebraska's unicameral Legislature,
Pennsylvania, and one fixed recipient with no state. Times straddle local midnight in New York
and the start of daylight saving time there (2026-03-08 07:00 UTC):

action  UTC                 New York             contacts
a1      2026-03-01 12:00    03-01 07:00 EST      NH-A sent*, NH-B sent, NH-C dead, ORG logged*
a2      2026-03-02 03:30    03-01 22:30 EST      NH-A queued, NH-B sent*, NH-C sent, NH-C called
a3      2026-03-02 05:30    03-02 00:30 EST      NE-D sent*, ORG logged
a4      2026-03-08 06:30    03-08 01:30 EST      PA-E bounced, PA-F sent
a5      2026-03-09 04:30    03-09 00:30 EDT      PA-E sent*, PA-F failed  (03-08 without DST)
a6      2026-03-10 15:00    03-10 11:00 EDT      NH-A sent, NH-C sent     (Tokyo: 03-11 00:00)
(* personalised beyond the template)
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from advocacy.actions.models import Action, Constituent, Contact
from advocacy.campaigns.models import Campaign
from advocacy.delivery import outbox
from advocacy.extensions import db
from tests.delivery import factory

SLUG = "tally-test"
OTHER_SLUG = "other-campaign"


@dataclass(frozen=True)
class Target:
    id: str
    name: str
    party: str | None
    state: str | None
    chamber: str | None
    district: str | None
    kind: str = "legislator"


NH_A = Target("ocd-person/nh-a", "Avery Lindqvist", "Democratic", "NH", "lower", "Hillsborough 23")
NH_B = Target("ocd-person/nh-b", "Blake Okafor", "Republican", "NH", "lower", "Hillsborough 23")
NH_C = Target("ocd-person/nh-c", "Casey Castellanos", "Democratic", "NH", "upper", "15")
NE_D = Target("ocd-person/ne-d", "Dana Thibodeau", "Nonpartisan", "NE", "legislature", "12")
PA_E = Target("ocd-person/pa-e", "Emery Ortiz", "Republican", "PA", "lower", "12")
PA_F = Target("ocd-person/pa-f", "Finley Novak", "Democratic", "PA", "upper", "3")
ORG = Target("some-organisation", "Some Organisation", None, None, None, None, kind="fixed")


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    street: str
    city: str
    state: str
    zip_code: str
    phone: str | None
    opt_in: bool


ALICE = Person("Alice Voter", "alice@example.org", "1 Elm St", "Nashua", "NH", "03060", None, True)
ALICE_MOVED = Person(
    "Alice Voter", "Alice@Example.org", "9 Oak St", "Concord", "NH", "03301", None, True
)
BOB = Person("Bob Quiet", "bob@example.org", "2 Pine St", "Nashua", "NH", "03060", None, False)
CAROL = Person(
    "@Carol Formula", "carol@example.org", "3 Main St", "Lincoln", "NE", "68508",
    "+1 402 555 0100", True,
)
DAN = Person("Dan Private", "dan@example.org", "4 Oak Ave", "Erie", "PA", "16501", None, False)
ERIN = Person("Erin Voter", "erin@example.org", "5 Elm Ave", "Erie", "PA", "16501", None, True)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# (person, UTC time, [(target, channel, status, personalised)])
ACTIONS = [
    (ALICE, "2026-03-01 12:00", [
        (NH_A, "email", "sent", True), (NH_B, "email", "sent", False),
        (NH_C, "email", "dead", False), (ORG, "postal", "logged", True),
    ]),
    (BOB, "2026-03-02 03:30", [
        (NH_A, "email", "queued", False), (NH_B, "email", "sent", True),
        (NH_C, "email", "sent", False), (NH_C, "call", "called", False),
    ]),
    (CAROL, "2026-03-02 05:30", [(NE_D, "email", "sent", True), (ORG, "postal", "logged", False)]),
    (DAN, "2026-03-08 06:30", [(PA_E, "email", "bounced", False), (PA_F, "email", "sent", False)]),
    (ERIN, "2026-03-09 04:30", [(PA_E, "email", "sent", True), (PA_F, "email", "failed", False)]),
    (ALICE_MOVED, "2026-03-10 15:00", [
        (NH_A, "email", "sent", False), (NH_C, "email", "sent", False),
    ]),
]


def make_campaign(slug: str) -> Campaign:
    return factory.make_campaign(slug, source="admin")


def add_action(
    campaign: Campaign,
    person: Person,
    at: datetime,
    contacts: list[tuple[Target, str, str, bool]],
) -> Action:
    constituent = Constituent(
        name=person.name,
        email=person.email,
        phone=person.phone,
        street_address=person.street,
        city=person.city,
        state=person.state,
        zip_code=person.zip_code,
        opt_in=person.opt_in,
        created_at=at,
    )
    key = hashlib.sha256(f"{campaign.id}:{person.email.lower()}".encode()).hexdigest()
    action = Action(
        submission_key=uuid.uuid4().hex,
        campaign_id=campaign.id,
        campaign_version_id=campaign.current_version_id,
        constituent=constituent,
        duplicate_key=key,
        matched_address=f"{person.street.upper()}, {person.city.upper()}, {person.state}",
        state=person.state,
        created_at=at,
    )
    db.session.add(action)
    for target, channel, status, personalised in contacts:
        contact = Contact(
            action=action,
            campaign_id=campaign.id,
            campaign_version_id=campaign.current_version_id,
            channel=channel,
            target_kind=target.kind,
            target_id=target.id,
            target_name=target.name,
            target_party=target.party,
            target_state=target.state,
            target_chamber=target.chamber,
            target_district=target.district,
            subject="Protect children",
            body=f"Dear {target.name},\n\nPlease act.\n\n{person.name}"
            + ("\n\nI care about this personally." if personalised else ""),
            personalised=personalised,
            status=status,
            created_at=at,
        )
        db.session.add(contact)
        if status == "queued":
            db.session.flush()
            outbox.queue("contact", contact_id=contact.id)
    db.session.flush()
    return action


def seed() -> Campaign:
    """The dataset above, plus one action on another campaign that must never be counted."""
    campaign = make_campaign(SLUG)
    for person, when, contacts in ACTIONS:
        add_action(campaign, person, utc(when), contacts)
    other = make_campaign(OTHER_SLUG)
    add_action(other, DAN, utc("2026-03-05 12:00"), [(PA_E, "email", "sent", False)])
    db.session.commit()
    return campaign
