"""Committee and executive targets in campaign files: checked like the other targets, with
each problem's line; their defaults left out of the saved campaign (so a file's version stays
the same); and filled in for sample visitors."""

from __future__ import annotations

import textwrap

import yaml

from advocacy.actions.samples import sample_visitors
from advocacy.campaigns.loader import parse_text
from advocacy.campaigns.schema import CampaignDefinition, CommitteeTarget, ExecutiveTarget
from tests.conftest import REPO

HEAD = textwrap.dedent("""\
    slug: sample
    title: Sample campaign
    summary: Words.
    status: live
    message:
      subject: Hello
      mode: editable
      body: |
        Dear {{ target.salutation }},
        {{ constituent.name }}
    targets:
    """)


def problems_of(targets: str) -> list[tuple[int | None, str, str]]:
    result = parse_text(HEAD + textwrap.indent(textwrap.dedent(targets), "  "), "sample.yaml")
    return [(p.line, p.field, p.message) for p in result.problems]


def definition_of(targets: str) -> CampaignDefinition:
    result = parse_text(HEAD + textwrap.indent(textwrap.dedent(targets), "  "), "sample.yaml")
    assert result.ok and result.definition is not None, result.problems
    return result.definition


def test_a_committee_and_an_office_are_read_with_their_defaults() -> None:
    definition = definition_of("""\
        - type: committee
          state: nh
          chamber: lower
          committee: Judiciary
        - type: committee
          state: NE
          chamber: legislature
          committee: ocd-organization/7cd46649-f205-4598-9ee7-e55c93061e0c
          roles: [vice chair, chair]
          members: representing_visitor
        - type: executive
          office: attorney general
        """)
    first, second, office = definition.targets
    assert isinstance(first, CommitteeTarget) and isinstance(second, CommitteeTarget)
    assert (first.state, first.roles, first.members) == ("NH", None, "all")
    assert second.roles == ["chair", "vice chair"]  # one order, whatever the file's
    assert second.depends_on_visitor and not first.depends_on_visitor
    assert isinstance(office, ExecutiveTarget) and office.office == "attorney general"
    assert definition.depends_on_address
    # Defaults are left out of the saved campaign: nothing a file does not say is added.
    dumped = definition.model_dump(mode="json")["targets"]
    assert dumped[0] == {"type": "committee", "state": "NH", "chamber": "lower",
                         "committee": "Judiciary"}  # fmt: skip
    assert dumped[2] == {"type": "executive", "office": "attorney general"}


def test_only_fixed_targets_and_a_whole_committee_do_not_depend_on_the_address() -> None:
    definition = definition_of("""\
        - type: committee
          state: NH
          chamber: upper
          committee: Judiciary
        - type: fixed
          id: board
          name: The Board
          email: board@example.org
        """)
    assert not definition.depends_on_address


def _stripped(value: object) -> object:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dict):
        return {key: _stripped(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_stripped(item) for item in value]
    return value


def test_the_repository_campaigns_keep_their_content_hash() -> None:
    """The new target kinds add nothing to a campaign that does not use them: its saved
    targets are what its file says, so its content hash (and version) stay the same."""
    for path in sorted((REPO / "campaigns").glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        result = parse_text(text, str(path))
        assert result.definition is not None
        dumped = [
            {key: value for key, value in target.items() if value is not None}
            for target in result.definition.model_dump(mode="json")["targets"]
        ]
        assert dumped == _stripped(yaml.safe_load(text)["targets"]), path.name


def test_each_problem_of_a_committee_target_has_its_line_and_field() -> None:
    problems = problems_of("""\
        - type: committee
          state: XX
          chamber: house
          committee: ""
          roles: [chair, chair]
          members: mine
        """)
    assert problems == [
        (13, "targets[0].state", "'XX' is not a state we cover (two letters, e.g. NH)"),
        (14, "targets[0].chamber", "Input should be 'lower', 'upper' or 'legislature'"),
        (15, "targets[0].committee", "String should have at least 1 character"),
        (16, "targets[0].roles", "list each role once"),
        (17, "targets[0].members", "Input should be 'all' or 'representing_visitor'"),
    ]


def test_an_unknown_office_and_a_missing_field() -> None:
    problems = problems_of("""\
        - type: executive
          office: king
        - type: committee
          state: NH
          committee: Judiciary
        """)
    assert problems == [
        (
            13,
            "targets[0].office",
            "Input should be 'governor', 'lieutenant governor', 'attorney general', "
            "'secretary of state', 'treasurer', 'auditor' or 'chief election officer'",
        ),
        (14, "targets[1].chamber", "missing required field"),
    ]


def test_an_office_or_a_committee_named_twice_is_reported_at_the_second() -> None:
    problems = problems_of("""\
        - type: executive
          office: governor
        - type: executive
          office: governor
        - type: committee
          state: NH
          chamber: lower
          committee: Finance
        - type: committee
          state: nh
          chamber: lower
          committee: FINANCE
        """)
    assert problems == [
        (15, "targets[1].office", "targets[0] already names governor: name it once"),
        (
            23,
            "targets[3].committee",
            "targets[2] already names the FINANCE committee: name it once",
        ),
    ]


def test_an_unknown_target_type_names_every_kind() -> None:
    [(line, field, message)] = problems_of("- type: mayor\n")
    assert (line, field) == (12, "targets[0]")
    assert message == (
        "unknown target type; use 'state_legislators', 'fixed', 'committee' or 'executive'"
    )


def test_a_target_of_its_own_has_its_message_checked_where_it_is() -> None:
    problems = problems_of("""\
        - type: executive
          office: governor
          message:
            subject: Hi
            body: |
              Dear {{ target.salutaton }},
        - type: committee
          state: NH
          chamber: lower
          committee: Judiciary
          call_script: "{{ nobody }}"
        """)
    assert [(line, field) for line, field, _ in problems] == [
        (17, "targets[0].message.body"),
        (22, "targets[1].call_script"),
    ]
    assert "salutaton" in problems[0][2] and "nobody" in problems[1][2]


def test_sample_visitors_write_to_a_committee_member_and_an_official() -> None:
    definition = definition_of("""\
        - type: committee
          state: NH
          chamber: lower
          committee: Judiciary
          roles: [chair]
        - type: executive
          office: secretary of state
          message:
            subject: For the Secretary
            body: "From {{ constituent.city }}, {{ target.salutation }}."
        """)
    samples = sample_visitors(definition)
    labels = [s.label for s in samples]
    assert labels == [
        "address matched (Concord, NH), writing to Representative Chen "
        "(Chair, House Judiciary Committee)",
        "district chosen by hand, no city (NH), writing to Representative Chen "
        "(Chair, House Judiciary Committee)",
        "address matched (Concord, NH), writing to Secretary of State Example (its own message)",
        "district chosen by hand, no city (NH), writing to Secretary of State Example "
        "(its own message)",
    ]
    chair = samples[0].context["target"]
    assert (chair["district"], chair["chamber"], chair["organisation"]) == (
        "Judiciary",
        "House",
        "House Judiciary Committee",
    )
    assert [s.target for s in samples] == [0, 0, 1, 1]
    # The visitor without a city leaves "From ," in the secretary's own letter: a warning at
    # the target's own template.
    result = parse_text(
        HEAD
        + textwrap.indent(
            textwrap.dedent("""\
            - type: executive
              office: secretary of state
              message:
                subject: For the Secretary
                body: "From {{ constituent.city }}, {{ target.salutation }}."
            """),
            "  ",
        ),
        "sample.yaml",
        sample_visitors,
    )
    [warning] = result.warnings
    assert (warning.line, warning.field) == (16, "targets[0].message.body")
    assert warning.sample.startswith("district chosen by hand, no city (NH)")
