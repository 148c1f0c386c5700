"""Message templates: a sandboxed Jinja environment with a fixed vocabulary and output caps.

Campaign authors write ``{{ target.name }}``-style placeholders. Only the names in
``PLACEHOLDERS`` exist; anything else is a validation error (never a silent blank).
"""

from __future__ import annotations

import operator
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

# placeholder -> description (shown in the README and the editor).
PLACEHOLDERS: dict[str, str] = {
    "constituent.name": "The sender's full name as typed",
    "constituent.first_name": "The first word of the sender's name",
    "constituent.city": "City of the address the Census matched",
    "constituent.state": "Two-letter state of the matched address",
    "constituent.state_name": "Full name of that state",
    "target.name": "Recipient's full name",
    "target.last_name": "Recipient's family name",
    "target.title": "Recipient's title (Representative, Senator, Delegate, ...)",
    "target.salutation": "Title and family name, e.g. 'Representative Ortiz'",
    "target.district": "Recipient's district, e.g. '12A' or 'Hillsborough 23' (empty if fixed)",
    "target.chamber": "'House', 'Senate', 'Legislature', or empty for fixed targets",
    "target.organisation": "Organisation of a fixed target (empty for legislators)",
    "campaign.title": "The campaign's title",
}
ALLOWED_ROOTS = {name.split(".")[0] for name in PLACEHOLDERS}
MAX_OUTPUT = 20_000
MAX_SEQUENCE = 10_000


class TemplateProblem(ValueError):
    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class _CappedSandbox(ImmutableSandboxedEnvironment):
    """Refuses arithmetic that would build huge strings or numbers (``'a' * 10**9``)."""

    intercepted_binops = frozenset({"*", "**", "+"})

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "**":
            if isinstance(right, int | float) and abs(right) > 64:
                raise SecurityError("exponent too large")
            return left**right
        if operator_name == "*":
            for a, b in ((left, right), (right, left)):
                if (
                    isinstance(a, str | list | tuple)
                    and isinstance(b, int)
                    and len(a) * b > MAX_OUTPUT
                ):
                    raise SecurityError("repetition too long")
            return left * right
        result = operator.add(left, right)
        if isinstance(result, str | list | tuple) and len(result) > MAX_OUTPUT:
            raise SecurityError("value too long")
        return result


_ENV = _CappedSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


def _placeholders(tree: nodes.Template) -> Iterator[tuple[str, int]]:
    # A name under an attribute or item lookup is reported with it (x.y, not also x).
    owned = {id(node.node) for node in tree.find_all((nodes.Getattr, nodes.Getitem))}
    for node in tree.find_all((nodes.Getattr, nodes.Name, nodes.Getitem)):
        if id(node) in owned and isinstance(node, nodes.Name):
            continue
        if isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name):
            yield f"{node.node.name}.{node.attr}", node.lineno
        elif isinstance(node, nodes.Getitem) and isinstance(node.node, nodes.Name):
            key = node.arg.value if isinstance(node.arg, nodes.Const) else "?"
            yield f"{node.node.name}.{key}", node.lineno
        elif isinstance(node, nodes.Name) and node.ctx == "load" and node.name not in ALLOWED_ROOTS:
            yield node.name, node.lineno


def check_template(source: str) -> list[TemplateProblem]:
    """Every problem in a template: syntax errors and unknown placeholders."""
    try:
        tree = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        return [TemplateProblem(f"template syntax error: {exc.message}", exc.lineno)]
    problems = []
    for placeholder, line in _placeholders(tree):
        if placeholder not in PLACEHOLDERS:
            known = ", ".join(f"{{{{ {name} }}}}" for name in PLACEHOLDERS)
            problems.append(
                TemplateProblem(
                    f"unknown placeholder {{{{ {placeholder} }}}} (known: {known})", line
                )
            )
    for node in tree.find_all(
        (
            nodes.For,
            nodes.Macro,
            nodes.Call,
            nodes.Import,
            nodes.Include,
            nodes.Extends,
            nodes.FromImport,
            nodes.Assign,
        )
    ):
        problems.append(
            TemplateProblem(
                f"only placeholders, filters and if-blocks are allowed, not {type(node).__name__}",
                node.lineno,
            )
        )
    return problems


@dataclass(frozen=True)
class _Namespace:
    values: dict[str, str]

    def __getattr__(self, name: str) -> str:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> str:
        return self.values[name]


class RenderError(ValueError):
    pass


def render(source: str, context: dict[str, dict[str, str]], limit: int = MAX_OUTPUT) -> str:
    """Render a (validated) template; output longer than ``limit`` is an error, not a hang."""
    try:
        template = _ENV.from_string(source)
        scope = {key: _Namespace(dict(value)) for key, value in context.items()}
        pieces: list[str] = []
        size = 0
        for piece in template.generate(scope):
            size += len(piece)
            if size > limit:
                raise RenderError(f"the filled message is longer than {limit} characters")
            pieces.append(piece)
        return "".join(pieces)
    except (TemplateSyntaxError, UndefinedError, SecurityError, TypeError, AttributeError) as exc:
        raise RenderError(f"the message template could not be filled: {exc}") from exc


def sample_context(campaign_title: str = "Sample campaign") -> dict[str, dict[str, str]]:
    """A complete context with plausible values, for previews and validation."""
    return {
        "constituent": {
            "name": "Alex Rivera",
            "first_name": "Alex",
            "city": "Concord",
            "state": "NH",
            "state_name": "New Hampshire",
        },
        "target": {
            "name": "Jordan Ortiz",
            "last_name": "Ortiz",
            "title": "Representative",
            "salutation": "Representative Ortiz",
            "district": "Merrimack 12",
            "chamber": "House",
            "organisation": "",
        },
        "campaign": {"title": campaign_title},
    }
