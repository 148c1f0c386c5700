"""Every kind of campaign file problem is reported with its file, line and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from flask import Flask

from advocacy.campaigns.loader import load_file, parse_text
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
    broken = VALID.replace("status: live", "status: [live")
    [(line, field, message)] = problems_of(broken)
    assert message.startswith("YAML syntax error")
    assert line is not None and line >= 4


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
    [(_, field, message)] = problems_of(text)
    assert field == "message.body"
    assert "template syntax error" in message


def test_bad_date() -> None:
    text = VALID.replace("status: live\n", "status: live\nstarts_at: 2026-02-30\n")
    [(line, field, message)] = problems_of(text)
    assert (line, field) == (5, "starts_at")
    assert "bad date" in message


def test_end_before_start() -> None:
    text = VALID.replace(
        "status: live\n", "status: live\nstarts_at: 2026-03-01\nends_at: 2026-02-01\n"
    )
    assert any("ends_at must be after starts_at" in m for _, _, m in problems_of(text))


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
    good.write_text(VALID)
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
