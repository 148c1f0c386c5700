"""Message templates: placeholders, if-blocks and a few text filters, nothing else.

Campaign authors write ``{{ target.name }}``-style placeholders. Only the names in
``PLACEHOLDERS`` exist; anything else is a validation error (never a silent blank). The
language is kept this small on purpose: with no arithmetic, calls, loops or filters that pad
or repeat text, a filled message can be no longer than its template plus the values put in it,
so a template cannot make the server build huge values; the output is still capped while it
is written. ``check_template`` says what a template may not use, with its line; ``render``
refuses such a template too.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NoReturn

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ..lookup import titles

# placeholder -> description (shown in the docs and the editor).
PLACEHOLDERS: dict[str, str] = {
    "constituent.name": "The sender's full name as typed",
    "constituent.first_name": "The first word of the sender's name",
    "constituent.city": "City of the matched address, or the one the sender gave",
    "constituent.state": "Two-letter state of the sender",
    "constituent.state_name": "Full name of that state",
    "target.name": "Recipient's full name",
    "target.last_name": "Recipient's family name",
    "target.title": "Recipient's title (Representative, Senator, Delegate, ...)",
    "target.salutation": "Title and family name, e.g. 'Representative Ortiz'",
    "target.district": "Recipient's district, e.g. '12A' or 'Hillsborough 23'; a committee "
    "member's committee ('Judiciary'); an official's office ('Governor'); empty if fixed",
    "target.chamber": "'House', 'Senate', 'Legislature' (a committee's chamber, 'Joint' for a "
    "joint committee), or empty for officials and fixed targets",
    "target.organisation": "Organisation of a fixed target; a committee member's committee, e.g. "
    "'House Judiciary Committee' (empty for legislators and officials)",
    "campaign.title": "The campaign's title",
}
ALLOWED_ROOTS = {name.split(".")[0] for name in PLACEHOLDERS}
# Filters that only change letters or trim: none can make text longer than its value.
FILTERS = {"upper", "lower", "title", "capitalize", "trim", "default"}
MAX_OUTPUT = 20_000  # characters of a filled message

# What a template may be made of: text, placeholders (names and lookups), constants,
# if-blocks and inline ifs, comparisons and boolean logic, and the filters above.
_ALLOWED_NODES = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Name,
    nodes.Getattr,
    nodes.Getitem,
    nodes.Const,
    nodes.List,
    nodes.Tuple,
    nodes.If,
    nodes.CondExpr,
    nodes.Compare,
    nodes.Operand,
    nodes.Not,
    nodes.And,
    nodes.Or,
    nodes.Filter,
    nodes.Keyword,
    nodes.Concat,
)
_ALLOWED_TEXT = (
    "only placeholders, text, {% if %} blocks, comparisons and the filters "
    + ", ".join(sorted(FILTERS))
    + " are allowed"
)


class TemplateProblem(ValueError):
    """A problem in a template. ``line`` is the template's own line (1-based); ``pattern``,
    when known, finds the offending expression in the template text (to place it exactly)."""

    def __init__(
        self, message: str, line: int | None = None, pattern: re.Pattern[str] | None = None
    ) -> None:
        super().__init__(message)
        self.line = line
        self.pattern = pattern


class RenderError(ValueError):
    pass


class _Sandbox(ImmutableSandboxedEnvironment):
    """Lookups reach placeholder values only: a placeholder is text, with no fields or methods
    (``{{ constituent.city.upper }}`` is an error, never a bound method's repr)."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        return self._lookup(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        return self._lookup(obj, argument)

    def _lookup(self, obj: Any, key: Any) -> Any:
        if isinstance(obj, _Namespace):
            value = obj.lookup(key)
            if value is not None:
                return value
            hint = f"{{{{ {obj._name}.{key} }}}} is not a placeholder"
        else:
            hint = f"{key!r}: a placeholder is text and has no fields or methods"
        return self.undefined(hint=hint, obj=obj, name=str(key))


_ENV = _Sandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
_EXAMPLES = ", ".join(f"{{{{ {name} }}}}" for name in PLACEHOLDERS)


@dataclass(frozen=True)
class _NameUse:
    """One use of a name in a template: ``parts`` is the lookup chain from its root."""

    root: str | None  # None: a lookup on something that is not a name (``'x'.upper``)
    parts: tuple[str | None, ...]  # None: a subscript that is not a constant
    line: int

    @property
    def text(self) -> str:
        return ".".join([self.root or "(value)", *(part or "?" for part in self.parts)])

    def pattern(self) -> re.Pattern[str] | None:
        """A regular expression for this use in the template source (None: not a name)."""
        if self.root is None:
            return None
        regex = rf"(?<![\w.]){re.escape(self.root)}\b"
        for part in self.parts:
            if part is None:
                regex += r"\s*\[[^\]]*\]"
            else:
                name = re.escape(part)
                regex += rf"""\s*(?:\.\s*{name}\b|\[\s*['"]{name}['"]\s*\])"""
        if not self.parts:
            regex += r"(?!\s*[.\[])"
        return re.compile(regex)


def _uses(tree: nodes.Node) -> Iterator[_NameUse]:
    """Every name or lookup chain in ``tree`` (itself included), outermost node only:
    ``a.b.c`` is one use, not three."""
    kinds = (nodes.Getattr, nodes.Name, nodes.Getitem)
    found = [tree, *tree.find_all(kinds)] if isinstance(tree, kinds) else list(tree.find_all(kinds))
    owned = {id(node.node) for node in found if isinstance(node, nodes.Getattr | nodes.Getitem)}
    for node in found:
        if id(node) in owned:
            continue
        if isinstance(node, nodes.Name) and node.ctx != "load":
            continue
        parts: list[str | None] = []
        current: nodes.Node = node
        while isinstance(current, nodes.Getattr | nodes.Getitem):
            if isinstance(current, nodes.Getattr):
                parts.append(current.attr)
            elif isinstance(current.arg, nodes.Const) and isinstance(current.arg.value, str):
                parts.append(current.arg.value)
            else:
                parts.append(None)
            current = current.node
        root = current.name if isinstance(current, nodes.Name) else None
        yield _NameUse(root, tuple(reversed(parts)), node.lineno)


def _placeholder_problem(use: _NameUse) -> TemplateProblem | None:
    """None when ``use`` is exactly one known placeholder (``root.attr`` or ``root['attr']``)."""
    if use.root is not None and len(use.parts) == 1 and use.text in PLACEHOLDERS:
        return None
    if use.root in ALLOWED_ROOTS and not use.parts:
        message = (
            f"{{{{ {use.root} }}}} is not a placeholder on its own; use one of its fields, "
            f"e.g. {{{{ {next(n for n in PLACEHOLDERS if n.startswith(use.root + '.'))} }}}}"
        )
    elif use.root is None:
        message = f"lookups are only allowed on placeholders, not on {{{{ {use.text} }}}}"
    elif (
        use.root in ALLOWED_ROOTS
        and len(use.parts) > 1
        and ".".join([use.root, use.parts[0] or "?"]) in PLACEHOLDERS
    ):
        message = (
            f"unknown placeholder {{{{ {use.text} }}}}: a placeholder is a value, "
            f"it has no fields or methods (use a filter, e.g. {{{{ {use.root}."
            f"{use.parts[0]} | upper }}}})"
        )
    else:
        message = f"unknown placeholder {{{{ {use.text} }}}} (known: {_EXAMPLES})"
    return TemplateProblem(message, use.line, use.pattern())


# Block tags a template may not use, for pointing at them in the source.
_TAG_OF = {
    nodes.For: "for",
    nodes.Macro: "macro",
    nodes.CallBlock: "call",
    nodes.FilterBlock: "filter",
    nodes.Import: "import",
    nodes.Include: "include",
    nodes.Extends: "extends",
    nodes.FromImport: "from",
    nodes.Assign: "set",
    nodes.AssignBlock: "set",
    nodes.With: "with",
    nodes.Block: "block",
}


def _language_problems(tree: nodes.Template) -> Iterator[TemplateProblem]:
    """Anything beyond the small language: other tags, operators, calls, other filters, and
    constants other than text, numbers and true/false."""
    for node in tree.find_all(nodes.Node):
        if isinstance(node, nodes.Filter):
            if node.name not in FILTERS:
                yield TemplateProblem(
                    f"the filter '{node.name}' is not allowed: {_ALLOWED_TEXT}",
                    node.lineno,
                    re.compile(r"\|\s*" + re.escape(node.name) + r"\b"),
                )
            continue
        if isinstance(node, nodes.Const) and not isinstance(node.value, str | int | bool):
            yield TemplateProblem(f"{_ALLOWED_TEXT}, not this value", node.lineno)
        elif not isinstance(node, _ALLOWED_NODES):
            keyword = _TAG_OF.get(type(node))
            yield TemplateProblem(
                f"{_ALLOWED_TEXT}, not {type(node).__name__}",
                node.lineno,
                re.compile(r"\{%-?\s*" + keyword + r"\b") if keyword else None,
            )


def check_template(source: str) -> list[TemplateProblem]:
    """Every problem in a template: syntax errors, unknown placeholders, and anything beyond
    the allowed language."""
    try:
        tree = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        return [TemplateProblem(f"template syntax error: {exc.message}", exc.lineno)]
    problems = [p for p in map(_placeholder_problem, _uses(tree)) if p is not None]
    problems += _language_problems(tree)
    return problems


class _Namespace:
    """A placeholder root (``target``) while rendering. It has no text and no attributes of
    its own: only the sandbox's lookups reach its values, so ``{{ target }}`` or
    ``{{ target | string }}`` fail instead of printing a repr."""

    __slots__ = ("_name", "_values")

    def __init__(self, name: str, values: dict[str, str]) -> None:
        self._name = name
        self._values = values

    def lookup(self, key: object) -> str | None:
        return self._values.get(key) if isinstance(key, str) else None

    def _refuse(self, *_: object) -> NoReturn:
        raise TypeError(f"{{{{ {self._name} }}}} is not a placeholder on its own")

    __str__ = __repr__ = _refuse


@functools.lru_cache(maxsize=256)
def _compiled(source: str) -> Template:
    """A template checked and compiled, once per text per process."""
    problems = check_template(source)
    if problems:
        raise RenderError(f"the message template cannot be used: {problems[0]}")
    return _ENV.from_string(source)


def render(source: str, context: dict[str, dict[str, str]], limit: int = MAX_OUTPUT) -> str:
    """Fill a template; output longer than ``limit`` is an error."""
    return "".join(piece for piece, _ in _pieces(source, context, limit, traced=False))


def _pieces(
    source: str, context: dict[str, dict[str, str]], limit: int, traced: bool
) -> list[tuple[str, int]]:
    """The output in the pieces Jinja yields, each with the template line of the node that
    wrote it when ``traced`` (else 0)."""
    template = _compiled(source)
    scope = {key: _Namespace(key, dict(value)) for key, value in context.items()}
    pieces: list[tuple[str, int]] = []
    size = 0
    try:
        generator = template.generate(scope)
        for piece in generator:
            size += len(piece)
            if size > limit:
                raise RenderError(f"the filled message is longer than {limit} characters")
            line = 0
            if traced:
                # The compiled render function is paused at this piece's ``yield``; Jinja maps
                # its code lines to template lines.
                inner = generator.gi_yieldfrom
                code = inner.gi_frame.f_lineno if inner is not None and inner.gi_frame else 0
                line = template.get_corresponding_lineno(code)
            pieces.append((piece, line))
    except RenderError:
        raise
    except Exception as exc:  # a manager's template that fails on these values is theirs to fix
        raise RenderError(f"the message template could not be filled: {exc}") from exc
    return pieces


@dataclass(frozen=True)
class Filled:
    """A template filled in, with where each character of the text came from."""

    text: str
    lines: tuple[int, ...]  # per character: the template line (1-based) that wrote it
    offsets: tuple[int | None, ...]  # per character of literal text: its index in the template
    gaps: tuple[tuple[int, int], ...]  # (index in text, template line): printed nothing


def render_traced(source: str, context: dict[str, dict[str, str]]) -> Filled:
    """``render``, telling which template line wrote each part of the text and where an
    expression printed nothing. ``RenderError`` as ``render``."""
    starts = [0] + [index + 1 for index, char in enumerate(source) if char == "\n"]
    literal = _literal_text(source)
    text: list[str] = []
    lines: list[int] = []
    offsets: list[int | None] = []
    gaps: list[tuple[int, int]] = []
    cursor = 0
    for piece, line in _pieces(source, context, MAX_OUTPUT, traced=True):
        # Literal text is the template's own, in order (templates have no loops): look for it
        # after the last piece found and after the start of the line of the node before it.
        found = source.find(piece, max(cursor, starts[line - 1])) if piece in literal else -1
        if found >= 0:
            cursor = found + len(piece)
            offsets.extend(range(found, cursor))
            lines.extend(bisect.bisect_right(starts, index) for index in range(found, cursor))
        else:
            if not piece:  # literal text is never empty: an expression printed nothing
                gaps.append((len(lines), line))
            offsets.extend([None] * len(piece))
            lines.extend([line] * len(piece))
        text.append(piece)
    return Filled("".join(text), tuple(lines), tuple(offsets), tuple(gaps))


def _literal_text(source: str) -> set[str]:
    """The runs of literal text the template prints as they are."""
    runs: set[str] = set()
    for output in _ENV.parse(source).find_all(nodes.Output):
        run: list[str] = []
        for child in [*output.nodes, None]:
            if isinstance(child, nodes.TemplateData):
                run.append(child.data)
            elif run:
                runs.add("".join(run))
                run = []
    return runs


def printed_placeholders(source: str) -> list[tuple[str, int, re.Pattern[str] | None]]:
    """Each placeholder the template prints (inside ``{{ }}``, not an if-test), with its
    template line and a pattern that finds it in the source, in the template's order."""
    found = []
    for output in _ENV.parse(source).find_all(nodes.Output):
        for child in output.nodes:
            if isinstance(child, nodes.TemplateData):
                continue
            found.extend(
                (use.text, use.line, use.pattern())
                for use in _uses(child)
                if use.text in PLACEHOLDERS
            )
    return found


def sample_context(
    campaign_title: str = "Sample campaign", language: str = "en"
) -> dict[str, dict[str, str]]:
    """A complete context with plausible values, for previews and validation, with the
    recipient's words in ``language`` as a visitor writing in it gets them."""
    title = titles.in_language(language, "title", "Representative")
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
            "title": title,
            "salutation": f"{title} Ortiz",
            "district": "Merrimack 12",
            "chamber": titles.in_language(language, "chamber", "House"),
            "organisation": "",
        },
        "campaign": {"title": campaign_title},
    }
