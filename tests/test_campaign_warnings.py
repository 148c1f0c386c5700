"""Templates filled for sample visitors: what an empty value leaves ("in ,", a line that is only
", NH", a doubled space), with the file line, the template and the sample; the samples
themselves; `campaigns validate` failing on warnings while `campaigns sync` loads the file."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask

from advocacy import create_app
from advocacy.actions.drafts import fill_message
from advocacy.actions.recipients import constituent_values, fixed_recipient
from advocacy.actions.samples import VISITORS, sample_visitors
from advocacy.campaigns import templating
from advocacy.campaigns.filled import Sample, read_filled
from advocacy.campaigns.loader import load_file, parse_text, validate_data
from advocacy.campaigns.models import Campaign
from advocacy.campaigns.schema import CampaignDefinition
from advocacy.cli import sync_command, validate_command
from advocacy.extensions import db
from advocacy.lookup.divisions import divisions_for_census_district
from advocacy.lookup.registry import registry_district
from tests.conftest import REPO

# -- filling with a trace ----------------------------------------------------------------------


def context(**constituent: str) -> dict[str, dict[str, str]]:
    values = templating.sample_context()
    values["constituent"].update(constituent)
    return values


def test_render_traced_tells_lines_literal_text_and_gaps() -> None:
    source = (
        "Dear {{ target.salutation }},\n"
        "I live in {{ constituent.city }}, and\n"
        "{% if constituent.city %}{{ constituent.city }}, {% endif %}{{ constituent.state }}\n"
    )
    filled = templating.render_traced(source, context(city=""))
    assert filled.text == templating.render(source, context(city=""))
    assert filled.text == "Dear Representative Ortiz,\nI live in , and\nNH\n"
    spot = filled.text.index(", and")
    assert filled.gaps == ((spot, 2),)  # {{ constituent.city }} printed nothing on line 2
    assert filled.lines[spot] == 2 and source[filled.offsets[spot]] == ","  # type: ignore[index]
    nh = filled.text.index("NH")
    assert filled.lines[nh] == 3 and filled.offsets[nh] is None  # printed by an expression
    assert templating.render_traced(source, context()).gaps == ()


def test_printed_placeholders_leave_out_if_tests() -> None:
    source = "{% if constituent.city %}\nin {{ constituent.city | upper }}{% endif %}"
    assert [(name, line) for name, line, _ in templating.printed_placeholders(source)] == [
        ("constituent.city", 2)
    ]


# -- the rules, on small templates ----------------------------------------------------------------

NO_CITY = Sample("no city", context(city=""))
FIXED = {
    "type": "fixed",
    "id": "board",
    "name": "The Board",
    "email": "board@example.org",
    "phone": "555-0100",
}


def campaign(body: str, **fields: Any) -> CampaignDefinition:
    data: dict[str, Any] = {
        "slug": "sample",
        "title": "Sample",
        "summary": "Words.",
        "status": "live",
        "targets": [{"type": "state_legislators", "chambers": "both"}],
        "message": {"subject": "Hello", "body": body, "mode": "editable"},
    }
    data.update(fields)
    return CampaignDefinition.model_validate(data)


def messages(body: str, sample: Sample = NO_CITY) -> list[str]:
    return [finding.message for finding in read_filled(campaign(body), [sample])]


CITY = "{{ constituent.city }} is empty for this sample"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "As your constituent in {{ constituent.city }}, I ask you.",
            CITY + ', leaving an empty interpolation: "in ,"',
        ),
        (
            "I am a resident of {{ constituent.city }}, {{ constituent.state }}.",
            CITY + ', leaving an empty interpolation: "of ,"',
        ),
        (
            "Sincerely,\nAlex\n{{ constituent.city }}, {{ constituent.state }}",
            CITY + ', leaving a line that is only ", NH"',
        ),
        (
            "Thanks, {{ constituent.name }}, {{ constituent.city }}, for asking.",
            CITY + ', leaving an empty interpolation: ", ,"',
        ),
        (
            "We met {{ constituent.city }}. Thank you.",
            CITY + ', leaving a space before "."',
        ),
        (
            "Dear {{ target.title }} {{ constituent.city }} {{ target.last_name }},",
            CITY + ", leaving a doubled space",
        ),
        (
            "{{ constituent.city }} is my home.",
            CITY + ", leaving a space at the start of the line",
        ),
        (
            "My home is {{ constituent.city }}\nThanks.",
            CITY + ", leaving a space at the end of the line",
        ),
        (
            "I live in {{ constituent.city }}\nThanks.",
            CITY + ', leaving a line that ends in "in"',
        ),
        (
            "My town ({{ constituent.city }}) is lovely.",
            CITY + " and prints nothing",
        ),
        (
            "Alex\n{{ constituent.city }}\nNH",
            CITY + ", leaving an empty line",
        ),
        (
            # Only half guarded: no expression printed nothing, the comma is left over.
            "Alex\n{% if constituent.city %}{{ constituent.city }}{% endif %}, "
            "{{ constituent.state }}",
            'the filled text has a line that is only ", NH"',
        ),
        (
            "I am your constituent {% if constituent.city %}in {{ constituent.city }}"
            "{% endif %}, and I ask you.",
            'the filled text has a space before ","',
        ),
    ],
)
def test_each_rule_finds_what_an_empty_value_leaves(body: str, message: str) -> None:
    assert messages(body) == [message]


@pytest.mark.parametrize(
    "body",
    [
        "I am your constituent{% if constituent.city %} in {{ constituent.city }}{% endif %}, "
        "and I ask you.",
        "Sincerely,\nAlex\n{% if constituent.city %}{{ constituent.city }}, {% endif %}"
        "{{ constituent.state_name }}",
        "Please come in, and sit down. Thank you.  Two spaces after a period are typed.",
        "Typed as  written, with a list:\n  - first point;\n  - second point.",
        "1. recognizes every child;\n2. names buyers.",
        "Hello, {{ constituent.name }}: {{ constituent.city | default('your town', true) }}.",
    ],
)
def test_text_that_reads_right_has_no_finding(body: str) -> None:
    assert messages(body) == []


def test_with_a_city_the_same_template_reads_right() -> None:
    body = "As your constituent in {{ constituent.city }}, I ask you."
    assert messages(body, Sample("with a city", context())) == []
    assert len(messages(body)) == 1


def test_a_finding_names_its_sample_and_the_filled_line() -> None:
    [finding] = read_filled(campaign("Hi.\nI live in {{ constituent.city }}, NH.\nBye."), [NO_CITY])
    assert finding.sample == "no city"
    assert finding.rendered == "I live in , NH."
    assert finding.loc == ("message", "body") and finding.template_line == 2


def test_a_long_filled_line_is_shortened_around_the_spot() -> None:
    body = "word " * 40 + "in {{ constituent.city }}, " + "more " * 40
    [finding] = read_filled(campaign(body), [NO_CITY])
    assert finding.rendered.startswith("…") and finding.rendered.endswith("…")
    assert "in ," in finding.rendered and len(finding.rendered) < 110


def test_the_same_finding_for_several_samples_is_told_once() -> None:
    other = Sample("also no city", context(city=""))
    [finding] = read_filled(campaign("From {{ constituent.city }}, hi."), [NO_CITY, other])
    assert (finding.sample, finding.other_samples) == ("no city", 1)


def test_which_templates_a_sample_gets() -> None:
    legislator = Sample("to a legislator", context(city=""))
    fixed_values = context(city="")
    fixed_values["target"].update(district="", chamber="", title="")
    to_board = Sample("to the board", fixed_values, target=0)
    no_phone = Sample("to the board, no phone", fixed_values, target=0, calls=False)
    body = "Dear {{ target.salutation }},\nAs a voter of district {{ target.district }}, hi."
    script = "I am calling {{ target.title }} {{ target.chamber }} now."
    own = {"subject": "Hi", "body": "From {{ constituent.city }}, hello."}

    # The campaign's message goes to a fixed target without its own.
    definition = campaign(body, call_script=script, targets=[FIXED])
    found = {(f.loc, f.sample) for f in read_filled(definition, [legislator, to_board])}
    assert found == {(("message", "body"), "to the board"), (("call_script",), "to the board")}
    # Its own message and call script replace the campaign's; no phone, no call script.
    board = {**FIXED, "message": own, "call_script": "Hi {{ constituent.city }}, yes."}
    definition = campaign(body, call_script=script, targets=[board])
    assert {f.loc for f in read_filled(definition, [to_board])} == {
        ("targets", 0, "message", "body"),
        ("targets", 0, "call_script"),
    }
    assert {f.loc for f in read_filled(definition, [no_phone])} == {
        ("targets", 0, "message", "body")
    }


def test_a_blank_message_body_is_a_prompt_and_is_not_filled() -> None:
    definition = campaign("Tell them about {{ constituent.city }}, in your words.")
    blank = definition.model_copy(
        update={"message": definition.message.model_copy(update={"mode": "blank"})}
    )
    assert read_filled(definition, [NO_CITY]) and read_filled(blank, [NO_CITY]) == []


# -- file lines ------------------------------------------------------------------------------------

FILE = textwrap.dedent("""\
    slug: sample
    title: Sample campaign
    summary: Words.
    status: live
    targets:
      - type: state_legislators
        chambers: lower
      - type: fixed
        id: board
        name: The Board
        email: board@example.org
        phone: "555-0100"
        message:
          subject: "A letter from {{ constituent.city }}"
          body: |
            Dear Board,

            I write as a resident of {{ constituent.city }}, {{ constituent.state }}.
    message:
      subject: Hello {{ target.name }}
      mode: editable
      body: |
        Dear {{ target.salutation }},

        As your constituent in {{ constituent.city }}, I ask you to act.

        Sincerely,
        {{ constituent.name }}
        {% if constituent.city %}{{ constituent.city }}{% endif %}, {{ constituent.state }}
    call_script: >-
      Hello, my name is {{ constituent.name }}, and I am
      calling from {{ constituent.city }}. Thank you.
    """)


def line_of(text: str, needle: str) -> int:
    [number] = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    return number


def test_each_warning_has_the_file_line_of_its_spot() -> None:
    result = parse_text(FILE, "sample.yaml", sample_visitors)
    assert result.ok and result.problems == []
    where = {(w.line, w.field, w.message.split(", leaving")[0]) for w in result.warnings}
    assert where == {
        (line_of(FILE, 'subject: "A letter'), "targets[1].message.subject",
         "{{ constituent.city }} is empty for this sample"),
        (line_of(FILE, "resident of"), "targets[1].message.body",
         "{{ constituent.city }} is empty for this sample"),
        (line_of(FILE, "constituent in"), "message.body",
         "{{ constituent.city }} is empty for this sample"),
        (line_of(FILE, "{% endif %}, {{"), "message.body",
         'the filled text has a line that is only ", NH"'),
        (line_of(FILE, "calling from"), "call_script",
         "{{ constituent.city }} is empty for this sample"),
    }  # fmt: skip
    assert [w.line for w in result.warnings] == sorted(w.line or 0 for w in result.warnings)


def test_a_warning_prints_with_file_line_field_sample_and_filled_line() -> None:
    result = parse_text(FILE, "sample.yaml", sample_visitors)
    [warning] = [w for w in result.warnings if w.field == "message.body" and "{{" in w.message]
    assert str(warning).splitlines() == [
        f"sample.yaml:{line_of(FILE, 'constituent in')}: message.body: warning: "
        '{{ constituent.city }} is empty for this sample, leaving an empty interpolation: "in ,"',
        "    sample: district chosen by hand, no city (NH), writing to Representative Whitfield "
        "(House district Merrimack 18)",
        '    filled: "As your constituent in , I ask you to act."',
    ]


def test_warnings_need_samples_and_data_has_no_lines() -> None:
    assert parse_text(FILE, "sample.yaml").warnings == []
    from_data = validate_data(yaml.safe_load(FILE), "form", sample_visitors)
    assert from_data.ok and len(from_data.warnings) == 5
    assert {w.line for w in from_data.warnings} == {None}


# -- the sample visitors ----------------------------------------------------------------------


def samples_of(**fields: Any) -> list[Sample]:
    return sample_visitors(campaign("Hi", **fields))


def test_the_address_matched_sample_writes_to_both_members_of_a_two_seat_district() -> None:
    found = [s for s in samples_of() if s.label.startswith("address matched (Concord, NH)")]
    house = [s for s in found if s.context["target"]["chamber"] == "House"]
    assert {s.context["target"]["district"] for s in house} == {"Merrimack 12"}
    assert len(house) == registry_district("nh", "lower", "Merrimack 12").seats == 2  # type: ignore[union-attr]
    assert all(s.context["constituent"]["city"] == "Concord" for s in found)


def test_the_sample_without_a_city() -> None:
    found = [s for s in samples_of() if s.label.startswith("district chosen by hand, no city")]
    assert found and all(s.context["constituent"]["city"] == "" for s in found)
    assert {s.context["constituent"]["state_name"] for s in found} == {"New Hampshire"}
    # A directory row without a family name: the last word of the name.
    assert "Representative Whitfield" in {s.context["target"]["salutation"] for s in found}


def test_the_nebraska_sample_writes_to_a_senator_of_the_one_chamber() -> None:
    for chambers in ("lower", "upper", "both"):
        samples = samples_of(targets=[{"type": "state_legislators", "chambers": chambers}])
        [nebraska] = [s for s in samples if s.label.startswith("Nebraska")]
        target = nebraska.context["target"]
        assert (target["title"], target["chamber"]) == ("Senator", "Nebraska Legislature")
        assert target["salutation"] == "Senator Hale" and target["district"] == "29"
        assert "writing to Senator Hale (Nebraska Legislature district 29)" in nebraska.label


def test_the_floterial_sample_writes_to_the_base_and_the_floterial_members() -> None:
    found = [s for s in samples_of() if s.label.startswith("a multi-member district")]
    districts = [s.context["target"]["district"] for s in found]
    # Hillsborough 23 lies under the floterial Hillsborough 40 (the division data says so).
    covering = divisions_for_census_district(
        "lower", "33523", code="523", basename="Hillsborough 23",
        name="State House District Hillsborough 23",
    )  # fmt: skip
    assert sorted(set(districts)) == sorted(d.district for d in covering)
    assert districts.count("Hillsborough 23") == 2
    assert districts.count("Hillsborough 40") >= 2
    assert sum(s.label.endswith(", a floterial)") for s in found) == districts.count(
        "Hillsborough 40"
    )


def test_legislator_samples_follow_the_campaigns_chambers_and_fixed_targets_are_written_to() -> (
    None
):
    only_fixed = samples_of(targets=[FIXED])
    assert [s.label for s in only_fixed] == [
        "address matched (Concord, NH), writing to The Board",
        "district chosen by hand, no city (NH), writing to The Board",
    ]
    upper = samples_of(targets=[{"type": "state_legislators", "chambers": "upper"}])
    assert {s.context["target"]["title"] for s in upper} == {"Senator"}
    own = samples_of(targets=[{**FIXED, "message": {"subject": "Hi", "body": "Hello"}}])
    assert all(s.label.endswith("writing to The Board (its own message)") for s in own)
    assert all(s.target == 0 and s.calls for s in own)


def test_a_fixed_target_sample_is_filled_as_the_site_fills_its_message() -> None:
    definition = campaign(
        "Campaign {{ target.salutation }}",
        targets=[{**FIXED, "message": {"subject": "Own {{ constituent.city }}", "body": "Own"}}],
    )
    [with_city, _] = sample_visitors(definition)
    visitor = VISITORS[0]
    site = fill_message(
        definition,
        constituent_values(visitor.name, visitor.city, visitor.state),
        fixed_recipient(definition.fixed_targets[0]),
    )
    board = fixed_recipient(definition.fixed_targets[0])
    assert with_city.context["target"] == board.template_values()
    assert site.subject == templating.render("Own {{ constituent.city }}", with_city.context)


def test_the_repository_campaigns_have_no_warnings() -> None:
    paths = sorted((REPO / "campaigns").glob("*.yaml"))
    assert len(paths) == 2
    for path in paths:
        result = load_file(path, sample_visitors)
        assert result.ok and result.warnings == [], [str(w) for w in result.warnings]


# -- the command line ------------------------------------------------------------------------


def test_validate_fails_on_warnings_with_file_line_sample_and_filled_line(tmp_path: Path) -> None:
    (tmp_path / "sample.yaml").write_text(FILE)
    app = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "x"})
    result = app.test_cli_runner().invoke(validate_command, [str(tmp_path)])
    assert result.exit_code == 1
    path = tmp_path / "sample.yaml"
    assert f"{path}:{line_of(FILE, 'constituent in')}: message.body: warning: " in result.output
    assert "    sample: district chosen by hand, no city (NH)" in result.output
    assert '    filled: "As your constituent in , I ask you to act."' in result.output
    assert "1 of 1 campaign file(s) have warnings" in result.stderr
    assert f"ok  {path}" not in result.output


def test_sync_loads_a_file_with_warnings_and_prints_them(app: Flask, campaigns_dir: Path) -> None:
    (campaigns_dir / "sample.yaml").write_text(FILE)
    result = app.test_cli_runner().invoke(sync_command)
    assert result.exit_code == 0, result.output
    assert "created   sample" in result.stdout
    assert "message.body: warning: {{ constituent.city }} is empty" in result.stderr
    assert db.session.query(Campaign).filter_by(slug="sample").count() == 1
