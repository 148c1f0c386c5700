"""Message templates cannot make the server allocate much memory: the language has no
arithmetic, calls, loops or filters that pad or repeat text, so a template that tries is
refused when it is checked (with a message for the campaign's author) and again when it is
rendered, before anything is built; templates in the language render exactly as plain Jinja
renders them, and a filled message past its length limit is refused as it is written.
"""

from __future__ import annotations

import time
import tracemalloc

import pytest
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from advocacy.campaigns import templating
from advocacy.campaigns.loader import validate_data

MB = 2**20
TWENTY = "'x' * 20000"

# Each built 0.1-3 GB in a plain Jinja sandbox.
ONE_STEP = [
    "{{ constituent.name|center(10**9) }}",
    "{{ constituent.name|center(10**9)|length }}",
    "{{ '%999999999s'|format('a') }}",
    "{{ '%0999999999d'|format(1) }}",
    "{{ '%*s'|format(10**9, 'a') }}",
    "{{ '%.*f'|format(10**8, 1.0) }}",
    "{{ '%999999999s' % 'a' }}",
    "{{ '%(a)999999999s' % {'a': constituent.name} }}",
    "{{ 'x'|indent(10**9) }}",
    "{{ constituent.name|indent(width=10**9, first=true) }}",
    "{{ ('x\\n' * 5000)|indent('y' * 5000) }}",
    "{{ 'ab'|replace('a', 'a' * 10000)|replace('a', 'a' * 10000)|replace('a', 'a' * 10000) }}",
    "{{ constituent.name|replace('', 'b' * 10000) }}",
    "{{ 'x' * 10**9 }}",
    "{{ ['x'] * 10**9 }}",
    "{{ range(10**9)|list }}",
    "{{ range(10**5)|join(',') }}",
    "{{ 'x'|truncate(10**9) }}",
    "{{ 'x'|wordwrap(10**9) }}",
    "{{ ('x ' * 9000)|wordwrap(1, wrapstring='y' * 10000) }}",
    "{{ (" + TWENTY + ")|join('y' * 19000) }}",
    "{{ (" + TWENTY + ")|slice(10**9)|list|length }}",
    "{{ 'x'|batch(10**9, 'y')|list }}",
    "{{ 'x'|map('center', 10**9)|list }}",
    "{{ ((9 ** 64) ** 64) ** 64 }}",
    "{{ lipsum(10**6) }}",
    "{{ " + " ~ ".join(["(" + TWENTY + ")"] * 12) + " }}",
]


def _render_peak(source: str) -> tuple[BaseException | None, int]:
    tracemalloc.start()
    try:
        templating.render(source, templating.sample_context())
    except templating.RenderError as exc:
        return exc, tracemalloc.get_traced_memory()[1]
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return None, peak


@pytest.mark.parametrize("source", ONE_STEP)
def test_templates_building_huge_values_are_refused_before_allocating(source: str) -> None:
    assert templating.check_template(source), f"{source} passed the check"
    started = time.monotonic()
    error, peak = _render_peak(source)
    assert error is not None, f"{source} rendered"
    assert "cannot be used" in str(error), error
    assert peak < 50 * MB, (source, peak // MB)
    assert time.monotonic() - started < 5, source


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ constituent.name|center(10**9) }}", "the filter 'center' is not allowed"),
        ("{{ 'x' * 10**9 }}", "not Mul"),
        ("{{ range(10**9)|list }}", "unknown placeholder {{ range }}"),
        ("{% for x in target.name %}{{ x }}{% endfor %}", "not For"),
        ("{% set x = 1 %}", "not Assign"),
    ],
)
def test_a_refused_template_says_what_is_not_allowed(source: str, expected: str) -> None:
    assert any(expected in str(p) for p in templating.check_template(source)), expected
    with pytest.raises(templating.RenderError, match="the message template cannot be used"):
        templating.render(source, templating.sample_context())


def test_a_message_past_its_limit_is_refused_as_it_is_written() -> None:
    source = "{{ target.name }} " * 200
    with pytest.raises(templating.RenderError, match="longer than 1000 characters"):
        templating.render(source, templating.sample_context(), limit=1000)


def test_the_editor_reports_a_huge_filter_as_a_problem() -> None:
    campaign = {
        "slug": "probe",
        "title": "Probe",
        "summary": "s",
        "status": "draft",
        "targets": [{"type": "state_legislators", "chambers": "lower"}],
        "message": {
            "subject": "Hello",
            "body": "Dear {{ target.name|indent(10**9) }}\n\n" + "x" * 100,
            "mode": "editable",
        },
    }
    result = validate_data(campaign)
    assert result.definition is None
    assert any("the filter 'indent' is not allowed" in p.message for p in result.problems)


NORMAL = [
    "Dear {{ target.salutation }},\n\n{{ constituent.name|upper }} of {{ constituent.city }}",
    "{{ target.name|title }} {{ target.name|lower }} {{ constituent.city|capitalize }}",
    "{{ '  padded  '|trim }}|{{ constituent.city|default('somewhere', true) }}",
    "{% if target.district %}District {{ target.district|trim }}{% endif %}",
    "{% if constituent.state == 'NH' %}Live free{% elif constituent.state in ['VT', 'ME'] %}"
    "North{% else %}Elsewhere{% endif %}",
    "{{ 'in ' ~ constituent.city if constituent.city else 'in our state' }}",
    "{% if not target.organisation and target.chamber != 'Senate' %}Rep.{% endif %}",
]


@pytest.mark.parametrize("source", NORMAL)
def test_templates_in_the_language_render_as_plain_jinja_renders_them(source: str) -> None:
    assert templating.check_template(source) == []
    context = templating.sample_context()
    plain = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
    )
    assert templating.render(source, context) == plain.from_string(source).render(context)
