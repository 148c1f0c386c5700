"""Every kind of campaign file problem is reported with its file, line and field."""

from __future__ import annotations

import textwrap
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask

from advocacy.campaigns import templating
from advocacy.campaigns.loader import load_file, parse_text, validate_data
from advocacy.cli import validate_command
from tests.conftest import REPO

VALID = textwrap.dedent("""\
    slug: sample
    title: Sample campaign
    summary: Some *words*.
    status: live
    targets:
      - type: state_legislators
        chambers: both
      - type: fixed
        id: some-org
        name: Some Org
        email: office@example.org
    message:
      subject: Hello {{ target.name }}
      mode: editable
      body: |
        Dear {{ target.salutation }},
        I live in {{ constituent.city }}.
        {{ constituent.name }}
    """)


def problems_of(text: str) -> list[tuple[int | None, str, str]]:
    result = parse_text(text, "sample.yaml")
    return [(p.line, p.field, p.message) for p in result.problems]


def test_valid_file_has_no_problems() -> None:
    result = parse_text(VALID, "sample.yaml")
    assert result.ok, result.problems
    assert result.definition is not None
    assert result.definition.legislator_chambers == "both"
    assert [t.id for t in result.definition.fixed_targets] == ["some-org"]


def test_yaml_syntax_error_has_line() -> None:
    # The parser notices on line 5; the unclosed [ is on line 4, in the status field.
    broken = VALID.replace("status: live", "status: [live")
    [(line, field, message)] = problems_of(broken)
    assert (line, field) == (4, "status")
    assert message.startswith("YAML syntax error: expected ',' or ']'")
    assert "on line 5" in message


def test_yaml_syntax_error_names_the_top_level_field() -> None:
    unclosed_quote = VALID.replace("mode: editable", "mode: 'editable")
    assert [(line, field) for line, field, _ in problems_of(unclosed_quote)] == [(14, "message")]
    mapping_in_value = VALID.replace("title: Sample campaign", "title: a: b")
    assert [(line, field) for line, field, _ in problems_of(mapping_in_value)] == [(2, "title")]


def test_yaml_syntax_error_outside_any_field_names_the_file() -> None:
    text = "- a\n- [b\n"
    [problem] = parse_text(text, "sample.yaml").problems
    assert (problem.line, problem.field) == (2, "")
    assert str(problem).startswith("sample.yaml:2: (file): YAML syntax error")


def test_unknown_field() -> None:
    text = VALID.replace("status: live\n", "status: live\ncolour: blue\n")
    assert (5, "colour", "unknown field") in problems_of(text)


def test_unknown_field_inside_target() -> None:
    text = VALID.replace(
        "    email: office@example.org\n", "    email: office@example.org\n    fax: 123\n"
    )
    assert (12, "targets[1].fax", "unknown field") in problems_of(text)


def test_missing_field_points_at_its_parent() -> None:
    text = VALID.replace("title: Sample campaign\n", "")
    assert (1, "title", "missing required field") in problems_of(text)


def test_wrong_type() -> None:
    text = VALID.replace("status: live", "status: 12")
    [(line, field, message)] = problems_of(text)
    assert (line, field) == (4, "status")
    assert "'draft', 'live', 'paused' or 'closed'" in message


def test_wrong_chamber_value() -> None:
    text = VALID.replace("chambers: both", "chambers: senate")
    [(line, field, _)] = problems_of(text)
    assert (line, field) == (7, "targets[0].chambers")


def test_unknown_placeholder_in_body_has_the_file_line() -> None:
    text = VALID.replace("I live in {{ constituent.city }}.", "I live in {{ constituent.town }}.")
    [(line, field, message)] = problems_of(text)
    assert (line, field) == (17, "message.body")
    assert "unknown placeholder {{ constituent.town }}" in message


def test_unknown_top_level_placeholder_in_subject() -> None:
    text = VALID.replace("Hello {{ target.name }}", "Hello {{ name }}")
    [(line, field, message)] = problems_of(text)
    assert (line, field) == (13, "message.subject")
    assert "unknown placeholder {{ name }}" in message


def test_template_syntax_error() -> None:
    text = VALID.replace("{{ constituent.name }}\n", "{{ constituent.name }\n")
    [(line, field, message)] = problems_of(text)
    assert (line, field) == (18, "message.body")
    assert "template syntax error" in message


def test_folded_body_problem_has_the_file_line_of_the_placeholder() -> None:
    # A folded body joins lines 16-18 into one template line; the problem is on file line 18.
    text = VALID.replace("body: |", "body: >").replace(
        "    {{ constituent.name }}\n", "    {{ constituent.town }}\n"
    )
    [(line, field, message)] = problems_of(text)
    assert (line, field) == (18, "message.body")
    assert "unknown placeholder {{ constituent.town }}" in message


def test_folded_body_same_placeholder_twice_on_one_template_line() -> None:
    text = (
        VALID.replace("body: |", "body: >")
        .replace("    I live in {{ constituent.city }}.\n", "    I live in {{ town }}.\n")
        .replace("    {{ constituent.name }}\n", "    {{ town }}\n")
    )
    assert [(line, field) for line, field, _ in problems_of(text)] == [
        (17, "message.body"),
        (18, "message.body"),
    ]


def test_folded_body_statement_has_its_line() -> None:
    text = VALID.replace("body: |", "body: >").replace(
        "    {{ constituent.name }}\n", "    {% set x = 1 %}{{ constituent.name }}\n"
    )
    [(line, _, message)] = problems_of(text)
    assert line == 18 and "not Assign" in message


def test_folded_syntax_error_that_cannot_be_placed_uses_the_scalar_start() -> None:
    # Jinja names only the joined template line, which spans file lines 16-18: no guessing.
    text = VALID.replace("body: |", "body: >").replace(
        "{{ constituent.name }}\n", "{{ constituent.name }\n"
    )
    [(line, field, message)] = problems_of(text)
    assert (line, field) == (15, "message.body")
    assert "template syntax error" in message


def test_plain_multi_line_scalar_problem_lines() -> None:
    text = (
        VALID
        + "call_script: Hello, I am {{ constituent.name }} from\n"  # line 19
        + "  {{ constituent.town }}, calling about\n"  # line 20
        + "  {{ target.nam\n"  # line 21
        + "  }} today.\n"
    )
    assert [
        (line, field, message.split(" (")[0]) for line, field, message in problems_of(text)
    ] == [
        (20, "call_script", "unknown placeholder {{ constituent.town }}"),
        (21, "call_script", "unknown placeholder {{ target.nam }}"),
    ]


def test_double_quoted_subject_problem_line() -> None:
    text = VALID.replace(
        "subject: Hello {{ target.name }}", 'subject: "Hello\n    {{ target.nmae }}"'
    )
    [(line, field, _)] = problems_of(text)
    assert (line, field) == (14, "message.subject")


def test_bad_date() -> None:
    text = VALID.replace("status: live\n", "status: live\nstarts_at: 2026-02-30\n")
    [(line, field, message)] = problems_of(text)
    assert (line, field) == (5, "starts_at")
    assert "bad date" in message


def test_end_before_start() -> None:
    text = VALID.replace(
        "status: live\n", "status: live\nstarts_at: 2026-03-01\nends_at: 2026-02-01\n"
    )
    assert problems_of(text) == [(6, "ends_at", "ends_at must be after starts_at")]


def test_end_before_start_is_reported_beside_other_problems() -> None:
    text = VALID.replace(
        "status: live\n", "status: soon\nstarts_at: 2026-03-01\nends_at: 2026-03-01\n"
    )
    assert [(line, field) for line, field, _ in problems_of(text)] == [
        (4, "status"),
        (6, "ends_at"),
    ]


def test_duplicate_fixed_target_id_has_its_line() -> None:
    text = VALID.replace(
        "targets:\n",
        "targets:\n  - type: fixed\n    id: some-org\n    name: Other\n    phone: '215-555-0100'\n",
    )
    [(line, field, message)] = problems_of(text)
    assert (line, field) == (13, "targets[2].id")
    assert message == ("fixed target ids must be unique: 'some-org' is already used by targets[0]")


def test_fixed_target_without_any_channel() -> None:
    text = VALID.replace("    email: office@example.org\n", "")
    [(line, field, message)] = problems_of(text)
    assert (line, field) == (8, "targets[1]")
    assert "at least one contact channel" in message


def test_unknown_target_type() -> None:
    text = VALID.replace("type: state_legislators", "type: governors")
    [(line, field, message)] = problems_of(text)
    assert (line, field) == (6, "targets[0]")
    assert "unknown target type" in message


def test_duplicate_key_is_an_error() -> None:
    text = VALID.replace("status: live\n", "status: live\nstatus: draft\n")
    [(line, _, message)] = problems_of(text)
    assert line == 5 and "duplicate key 'status'" in message


def test_template_tricks_are_refused() -> None:
    text = VALID.replace(
        "{{ constituent.name }}\n", "{{ ''.__class__ }}{% for x in range(9) %}{% endfor %}\n"
    )
    messages = [m for _, _, m in problems_of(text)]
    assert any("For" in m for m in messages)


def test_several_problems_all_reported_in_line_order() -> None:
    text = VALID.replace("status: live", "status: maybe").replace(
        "{{ constituent.city }}", "{{ x.y }}"
    )
    lines = [line for line, _, _ in problems_of(text)]
    assert lines == sorted(lines) and len(lines) == 2


def test_slug_must_match_file_name(tmp_path: Path) -> None:
    path = tmp_path / "other.yaml"
    path.write_text(VALID)
    result = load_file(path)
    assert not result.ok
    assert result.problems[0].field == "slug" and result.problems[0].line == 1


def test_repository_campaigns_are_valid() -> None:
    for path in (REPO / "campaigns").glob("*.yaml"):
        result = load_file(path)
        assert result.ok, [str(p) for p in result.problems]


@pytest.mark.parametrize("campaign", ["oppose-buyer-immunity", "every-exploited-child-is-a-victim"])
def test_repository_campaign_targets(campaign: str) -> None:
    definition = load_file(REPO / "campaigns" / f"{campaign}.yaml").definition
    assert definition is not None and definition.status == "live"
    if campaign == "oppose-buyer-immunity":
        assert definition.legislator_chambers == "lower"
        [ali] = definition.fixed_targets
        assert ali.name == "The American Law Institute" and ali.postal_address and ali.phone
    else:
        assert definition.legislator_chambers == "both"


def test_cli_validate_exit_codes(app: Flask, tmp_path: Path) -> None:
    good = tmp_path / "sample.yaml"
    # VALID reads "I live in ." for a visitor without a city: a warning (tests/test_
    # campaign_warnings.py); the city left out when empty, it has none.
    good.write_text(
        VALID.replace(
            "I live in {{ constituent.city }}.",
            "{% if constituent.city %}I live in {{ constituent.city }}.{% endif %}",
        )
    )
    bad = tmp_path / "broken.yaml"
    bad.write_text(
        VALID.replace("slug: sample", "slug: broken").replace("status: live", "status: soon")
    )
    runner = app.test_cli_runner()
    ok = runner.invoke(validate_command, [str(good)])
    assert ok.exit_code == 0 and "ok" in ok.output
    failed = runner.invoke(validate_command, [str(good), str(bad)])
    assert failed.exit_code == 1
    assert f"{bad}:4: status:" in failed.output


def test_cli_validate_default_folder_is_the_repo_campaigns() -> None:
    from advocacy import create_app

    app = create_app(
        {"DATABASE_URL": "sqlite://", "SECRET_KEY": "x", "CAMPAIGNS_DIR": str(REPO / "campaigns")}
    )
    result = app.test_cli_runner().invoke(validate_command, [])
    assert result.exit_code == 0, result.output
    assert result.output.count("ok ") == 2


# -- placeholders are exactly root.name ------------------------------------------------------------


@pytest.mark.parametrize(
    ("placeholder", "expected"),
    [
        ("{{ target }}", "{{ target }} is not a placeholder on its own"),
        ("{{ constituent | string }}", "{{ constituent }} is not a placeholder on its own"),
        ("{% if campaign %}x{% endif %}", "{{ campaign }} is not a placeholder on its own"),
        ("{{ constituent.city.upper }}", "unknown placeholder {{ constituent.city.upper }}"),
        ("{{ constituent.city.upper() }}", "unknown placeholder {{ constituent.city.upper }}"),
        ("{{ target['name']['x'] }}", "unknown placeholder {{ target.name.x }}"),
        ("{{ target.name[0] }}", "unknown placeholder {{ target.name.? }}"),
        ("{{ target.values }}", "unknown placeholder {{ target.values }}"),
        ("{{ ''.join }}", "lookups are only allowed on placeholders"),
    ],
)
def test_bare_roots_and_deep_lookups_are_refused_with_their_line(
    placeholder: str, expected: str
) -> None:
    text = VALID.replace("I live in {{ constituent.city }}.", f"I live in {placeholder}.")
    problems = problems_of(text)
    assert problems and all(line == 17 and field == "message.body" for line, field, _ in problems)
    assert any(message.startswith(expected) for _, _, message in problems), problems


def test_subscript_of_a_placeholder_is_allowed() -> None:
    text = VALID.replace("{{ constituent.city }}", "{{ constituent['city'] | upper }}")
    assert problems_of(text) == []


@pytest.mark.parametrize(
    "source",
    [
        "{{ target }}",
        "{{ target | string }}",
        "{{ target | pprint }}",
        "{{ '%s' | format(target) }}",
        "{{ target ~ '' }}",
        "{{ target | list }}",
        "{{ target.values }}",
        "{{ constituent.city.upper }}",
        "{{ constituent.city.upper() }}",
        "{{ target['name']['x'] }}",
        "{{ target.name.__class__ }}",
    ],
)
def test_render_never_prints_an_object(source: str) -> None:
    """Even unvalidated, rendering refuses what is not a placeholder's text."""
    with pytest.raises(templating.RenderError) as caught:
        templating.render(source, templating.sample_context())
    assert "_Namespace(" not in str(caught.value) and "bound method" not in str(caught.value)


def test_render_fills_placeholders_and_filters() -> None:
    rendered = templating.render(
        "{{ target.salutation }} / {{ target['name'] | upper }} / {{ constituent.city }}",
        templating.sample_context(),
    )
    assert rendered == "Representative Ortiz / JORDAN ORTIZ / Concord"


# -- validate_data: the same rules for already-read data (the admin editor) ---------------------


def data_of(text: str) -> dict[str, Any]:
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


BROKEN_VARIANTS = [
    VALID,
    VALID.replace("title: Sample campaign\n", ""),
    VALID.replace("status: live", "status: soon"),
    VALID.replace("    email: office@example.org\n", ""),
    VALID.replace("    email: office@example.org\n", "    email: not-an-address\n"),
    VALID.replace("status: live\n", "status: live\ncolour: blue\n"),
    VALID.replace("status: live\n", "status: live\nstarts_at: 2026-03-01\nends_at: 2026-02-01\n"),
    VALID.replace(
        "targets:\n",
        "targets:\n  - type: fixed\n    id: some-org\n    name: X\n    phone: '215-555-0100'\n",
    ),
    VALID.replace("{{ constituent.city }}", "{{ constituent.town }}"),
    VALID.replace("{{ constituent.city }}", "{{ target }}"),
    VALID.replace("Hello {{ target.name }}", "Hello {{ name }}"),
    VALID + "call_script: Hi {{ constituent.city.upper }}\n",
    VALID.replace("mode: editable", "mode: editable\n  max_subject_length: 20").replace(
        "Hello {{ target.name }}", "Hello {{ target.name }} and a long subject line"
    ),
]


@pytest.mark.parametrize("text", BROKEN_VARIANTS)
def test_validate_data_has_the_rules_of_parse_text(text: str) -> None:
    from_file = parse_text(text, "sample.yaml")
    from_data = validate_data(data_of(text))
    key = sorted((p.field, p.message) for p in from_file.problems)
    assert sorted((p.field, p.message) for p in from_data.problems) == key
    assert all(p.line is None and p.file == "<editor>" for p in from_data.problems)
    assert (from_data.definition is None) == (from_file.definition is None)
    if from_data.definition is not None:
        assert from_data.definition == from_file.definition


def test_validate_data_field_names() -> None:
    data = data_of(VALID)
    data["title"] = ""
    data["starts_at"] = date(2026, 3, 1)
    data["ends_at"] = datetime(2026, 2, 1, 12, 0)
    data["targets"][1]["email"] = "nobody"
    data["message"]["body"] = "Dear {{ target }}"
    data["call_script"] = "{{ constituent.city.upper }}"
    result = validate_data(data)
    assert not result.ok and result.definition is None
    assert sorted(p.field for p in result.problems) == [
        "call_script",
        "ends_at",
        "message.body",
        "targets[1].email",
        "title",
    ]
    assert str(result.problems[0]).startswith("<editor>: ")


def test_validate_data_duplicate_ids_and_sample_length() -> None:
    data = data_of(VALID)
    data["targets"].append(dict(data["targets"][1], name="Again"))
    [problem] = validate_data(data, "form").problems
    assert (problem.file, problem.line, problem.field) == ("form", None, "targets[2].id")

    data = data_of(VALID)
    data["message"]["max_body_length"] = 100
    data["message"]["body"] = "{{ target.salutation }} " + "x" * 95
    [problem] = validate_data(data).problems
    assert problem.field == "message.body" and "over the limit of 100" in problem.message


def test_validate_data_accepts_a_valid_campaign_and_a_non_mapping_is_a_problem() -> None:
    result = validate_data(data_of(VALID))
    assert result.ok and result.definition is not None and result.definition.slug == "sample"
    [problem] = validate_data(["not", "a", "mapping"]).problems  # type: ignore[arg-type]
    assert (problem.line, problem.field) == (None, "")


# -- the share picture (image:) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ("img/missing.jpg", "no such file under static/: img/missing.jpg"),
        ("site.css", "static/site.css: the file is not a JPEG, PNG or WebP picture"),
        ("../pyproject.toml", "must name a file under static/"),
        ("uploaded/cat.jpg", "an uploaded picture's name is uploaded/share-<32 hex digits>.jpg"),
    ],
)
def test_a_share_picture_that_is_missing_or_not_a_picture_is_reported_at_its_line(
    image: str, message: str
) -> None:
    text = VALID.replace("status: live\n", f"status: live\nimage: {image}\n")
    assert problems_of(text) == [(5, "image", message)]


def test_a_share_picture_under_static_or_uploaded_is_accepted() -> None:
    for image in ("img/share-default.png", "uploaded/share-" + "0" * 32 + ".jpg"):
        result = parse_text(VALID.replace("status: live\n", f"status: live\nimage: {image}\n"))
        assert result.ok, result.problems
        assert result.definition is not None and result.definition.image == image


def test_cli_validate_reports_a_missing_share_picture(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "sample.yaml"
    path.write_text(VALID.replace("status: live\n", "status: live\nimage: img/gone.png\n"))
    result = app.test_cli_runner().invoke(validate_command, [str(path)])
    assert result.exit_code == 1
    assert f"{path}:5: image: no such file under static/: img/gone.png" in result.output


def test_follow_up_is_checked_with_its_lines() -> None:
    first = len(VALID.splitlines()) + 1  # the line of "follow_up:"
    text = VALID + "follow_up:\n  days: 120\n  public_results: maybe\n  min_answers: 0\n"
    found = {field: (line, message) for line, field, message in problems_of(text)}
    assert found["follow_up.days"][0] == first + 1
    assert "less than or equal to 90" in found["follow_up.days"][1]
    assert found["follow_up.public_results"][0] == first + 2
    assert found["follow_up.min_answers"][0] == first + 3
    assert "greater than or equal to 1" in found["follow_up.min_answers"][1]
    [(line, field, message)] = problems_of(VALID + "follow_up:\n  public_results: true\n")
    assert (line, field) == (first, "follow_up.days")
    assert problems_of(VALID + "follow_up:\n  days: 0\n")[0][1] == "follow_up.days"
    result = parse_text(VALID + "follow_up:\n  days: 14\n", "sample.yaml")
    assert result.definition is not None and result.definition.follow_up is not None
    option = result.definition.follow_up
    assert (option.days, option.public_results, option.min_answers) == (14, False, 5)
    # Defaults are left out of the stored definition: the version's content stays the same.
    assert result.definition.model_dump(mode="json")["follow_up"] == {"days": 14}


def test_delivery_choice_is_checked_with_its_line() -> None:
    digest = parse_text(VALID + "delivery:\n  legislators: digest\n", "sample.yaml")
    assert digest.ok and digest.definition is not None and digest.definition.digest
    plain = parse_text(VALID, "sample.yaml").definition
    assert plain is not None and not plain.digest
    [(line, field, message)] = problems_of(VALID + "delivery:\n  legislators: weekly\n")
    assert (line, field) == (20, "delivery.legislators")
    assert "'each' or 'digest'" in message
    [(line, field, message)] = problems_of(VALID + "delivery:\n  fixed: digest\n")
    assert (line, field) == (20, "delivery.fixed")
