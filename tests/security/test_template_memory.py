"""Message templates cannot make the server allocate much memory: a width, count or result
over the output cap is refused *before* it is built (``RenderError``, a message for the
campaign's author), and templates within the caps render exactly as plain Jinja renders them.
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

# Each built 0.1-3 GB before the output cap refused it (or rendered it, when a later filter
# made it short again).
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
    # Many values each within the cap add up: the render's total is capped as well.
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
    started = time.monotonic()
    error, peak = _render_peak(source)
    assert error is not None, f"{source} rendered"
    assert "could not be filled" in str(error), error
    assert peak < 50 * MB, (source, peak // MB)
    assert time.monotonic() - started < 5, source


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ constituent.name|center(10**9) }}", "the width of center is over the limit of 20000"),
        ("{{ '%999999999s'|format('a') }}", "the formatted text is over the limit of 20000"),
        ("{{ 'x'|indent(10**9) }}", "the width of indent is over the limit of 20000"),
        ("{{ 'x'|truncate(10**9) }}", "the length of truncate is over the limit of 20000"),
        ("{{ 'x'|wordwrap(10**9) }}", "the width of wordwrap is over the limit of 20000"),
        ("{{ range(10**9)|list }}", "the length of a range is over the limit of 10000"),
    ],
)
def test_a_refused_template_says_what_is_too_large(source: str, expected: str) -> None:
    with pytest.raises(templating.RenderError) as caught:
        templating.render(source, templating.sample_context())
    assert str(caught.value) == f"the message template could not be filled: {expected}"


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
    assert any("the width of indent is over the limit" in p.message for p in result.problems)


NORMAL = [
    "Dear {{ target.salutation }},\n\n{{ constituent.name|upper }} of {{ constituent.city }}",
    "{{ constituent.name|center(30) }}|{{ target.name|center(3) }}",
    "{{ '%s, %s!'|format(target.salutation, constituent.first_name) }}",
    "{{ '%-12s|%5.2f|%03d|%%|%x'|format(constituent.city, 3.14159, 7, 255) }}",
    "{{ '%(a)s and %(b)s'|format(a=constituent.name, b=target.name) }}",
    "{{ '%*d|%.*s' % (6, 42, 3, constituent.city) }} {{ 17 % 5 }} {{ '%s' % constituent.state }}",
    "{{ 'one\ntwo\n\nthree'|indent(2) }}/{{ 'a\nb'|indent('> ', first=true, blank=true) }}",
    "{{ target.name|replace('o', '0') }} {{ 'aaaa'|replace('a', 'bb', 2) }}",
    "{{ 'ab'|replace('', '-') }} {{ 'ab'|replace('b', '') }}",
    "{{ ('word ' * 40)|truncate(30) }} {{ 'short'|truncate(30) }}",
    "{{ 'abcdefghij'|truncate(8, true, '..', 0) }}",
    "{{ ('lorem ipsum dolor sit amet ' * 12)|wordwrap(30) }}",
    "{{ ('a-b c ' * 10 ~ '\n\nnext')|wordwrap(9, wrapstring='<br>', break_on_hyphens=false) }}",
    "{{ 'averyveryverylongword x'|wordwrap(5, false) }}",
    "{{ [constituent.city, constituent.state]|join(', ') }} {{ range(3)|join('-') }}",
    "{{ 'abc'|join }} {{ []|join('x') }}",
    "{{ range(7)|batch(3, 0)|list }} {{ range(7)|slice(3)|list }} {{ 'abc'|list }}",
    "{{ 'x' * 3 }} {{ 2 ** 10 }} {{ 10**64 * 10**64 }} {{ [1] * 2 + [3] }} {{ 'a' + 'b' }}",
    "{{ target.name|title }} {{ target.name|length }} {{ target.name|reverse }} {{ 5|string }}",
    "{% if target.district %}District {{ target.district|trim }}{% endif %}",
]


@pytest.mark.parametrize("source", NORMAL)
def test_templates_within_the_caps_render_as_plain_jinja_renders_them(source: str) -> None:
    context = templating.sample_context()
    plain = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
    )
    assert templating.render(source, context) == plain.from_string(source).render(context)
