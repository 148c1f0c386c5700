"""Message templates: a sandboxed Jinja environment with a fixed vocabulary and output caps.

Campaign authors write ``{{ target.name }}``-style placeholders. Only the names in
``PLACEHOLDERS`` exist; anything else is a validation error (never a silent blank).

Rendering is bounded in memory as well as in output: every string or list an operator, filter
or call builds is refused past ``MAX_OUTPUT`` (and a render past ``MAX_BUILT`` in all), and the
operators and filters that could build a huge value in one step (``'x' * n``, ``'%99999s' % x``,
``center``, ``indent``, ``format``, ``replace``, ``join``, ``truncate``, ``wordwrap``,
``batch``, ``slice``, ``range``) check their numbers and the size of their result *before*
building it. A refused template is a ``RenderError`` for its author, never a large allocation.
"""

from __future__ import annotations

import bisect
import functools
import inspect
import re
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

from jinja2 import (
    Environment,
    StrictUndefined,
    Template,
    TemplateSyntaxError,
    nodes,
    pass_environment,
)
from jinja2.exceptions import SecurityError
from jinja2.filters import do_wordwrap
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
MAX_OUTPUT = 20_000  # characters of a filled message, and of any value built on the way
MAX_SEQUENCE = 10_000  # items of a range, batch or slice
MAX_BUILT = 10 * MAX_OUTPUT  # what one render may build in all, in characters or items
MAX_INT_BITS = 16_384  # about 4,900 digits: more than Python will print (4,300)


class TemplateProblem(ValueError):
    """A problem in a template. ``line`` is the template's own line (1-based); ``pattern``,
    when known, finds the offending expression in the template text (to place it exactly)."""

    def __init__(
        self, message: str, line: int | None = None, pattern: re.Pattern[str] | None = None
    ) -> None:
        super().__init__(message)
        self.line = line
        self.pattern = pattern


_V = TypeVar("_V")


class _BuiltSoFar:
    """What one render has built so far (``_built``), in characters or items."""

    __slots__ = ("total",)

    def __init__(self) -> None:
        self.total = 0


_BUILT: ContextVar[_BuiltSoFar | None] = ContextVar("template_built", default=None)


def _refuse_over(what: str, number: object, bound: int = MAX_OUTPUT) -> None:
    """Refuse ``number`` (a width, count or size) over ``bound``; anything else passes."""
    if isinstance(number, int) and number > bound:
        raise SecurityError(f"{what} is over the limit of {bound}")


def _refuse_long(value: object) -> None:
    if isinstance(value, str | list | tuple):
        _refuse_over("a value's length", len(value))


def _built(value: _V) -> _V:
    """``value``, just built by an operator, filter or call: refused when longer than
    ``MAX_OUTPUT``, or when the render has built more than ``MAX_BUILT`` in all (so many
    medium values cannot add up to a large allocation either)."""
    if isinstance(value, str | list | tuple):
        _refuse_long(value)
        spent = _BUILT.get()
        if spent is not None:
            spent.total += len(value)
            _refuse_over("the text the template builds", spent.total, MAX_BUILT)
    return value


# One printf-style conversion: %[(key)][flags][width][.precision][length]type
_CONVERSION = re.compile(
    r"%(?:\((?P<key>[^)]*)\))?[-#0 +]*(?P<width>\*|\d+)?(?:\.(?P<precision>\*|\d*))?"
    r"[hlL]?(?P<type>.?)",
    re.DOTALL,
)


def _check_format(template: str, values: object) -> None:
    """Refuse ``template % values`` when its widths, precisions and values add up to more than
    ``MAX_OUTPUT`` (``'%999999999s'``, ``'%*s' % (10**9, x)``), before Python builds it."""
    positional = list(values) if isinstance(values, tuple) else [values]
    mapping = values if isinstance(values, Mapping) else {}
    size = len(template)
    taken = 0  # positional values used so far
    for conversion in _CONVERSION.finditer(template):
        for number in (conversion["width"], conversion["precision"]):
            if number == "*":
                star = positional[taken] if taken < len(positional) else 0
                taken += 1
                size += abs(star) if isinstance(star, int) else 0
            elif number:
                size += int(number)
        if conversion["type"] == "%":
            continue
        if conversion["key"] is not None:
            value = mapping.get(conversion["key"], "")
        else:
            value = positional[taken] if taken < len(positional) else ""
            taken += 1
        size += len(str(value))
    _refuse_over("the formatted text", size)


def _range(*args: int) -> range:
    numbers = range(*args)
    _refuse_over("the length of a range", len(numbers), MAX_SEQUENCE)
    return numbers


# Filters that could build a huge value in one step: a check of their (bound) arguments, run
# before the filter. Every filter's value and result are also checked (``_capped_filter``).
def _check_center(arguments: dict[str, Any]) -> None:
    _refuse_over("the width of center", arguments["width"])


def _check_indent(arguments: dict[str, Any]) -> None:
    text, width = arguments["s"], arguments["width"]
    prefix = len(width) if isinstance(width, str) else width
    _refuse_over("the width of indent", prefix)
    if isinstance(text, str) and isinstance(prefix, int) and prefix > 0:
        _refuse_over("the indented text", len(text) + 1 + prefix * (len(text.splitlines()) + 1))


def _check_truncate(arguments: dict[str, Any]) -> None:
    _refuse_over("the length of truncate", arguments["length"])


def _check_replace(arguments: dict[str, Any]) -> None:
    text, old, new = str(arguments["s"]), str(arguments["old"]), str(arguments["new"])
    count = arguments["count"]
    found = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    _refuse_over("the replaced text", len(text) + found * (len(new) - len(old)))


def _check_join(arguments: dict[str, Any]) -> None:
    if arguments["attribute"] is not None:
        return
    items = list(arguments["value"])
    arguments["value"] = items
    size = sum(len(str(item)) for item in items)
    _refuse_over("the joined text", size + len(str(arguments["d"])) * max(len(items) - 1, 0))


def _check_format_filter(arguments: dict[str, Any]) -> None:
    _check_format(str(arguments["value"]), arguments["kwargs"] or arguments["args"])


def _check_batch(arguments: dict[str, Any]) -> None:
    _refuse_over("the size of batch", arguments["linecount"], MAX_SEQUENCE)


def _check_slice(arguments: dict[str, Any]) -> None:
    _refuse_over("the number of slices", arguments["slices"], MAX_SEQUENCE)


_FILTER_CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "center": _check_center,
    "indent": _check_indent,
    "truncate": _check_truncate,
    "replace": _check_replace,
    "join": _check_join,
    "format": _check_format_filter,
    "batch": _check_batch,
    "slice": _check_slice,
}


@pass_environment
def _wordwrap(
    environment: Environment,
    s: str,
    width: int = 79,
    break_long_words: bool = True,
    wrapstring: str | None = None,
    break_on_hyphens: bool = True,
) -> str:
    """Jinja's own ``wordwrap``, refused when its result could pass the cap: the text plus
    at most one ``wrapstring`` per character (so a long ``wrapstring`` between many short
    lines is refused before it is built)."""
    _refuse_over("the width of wordwrap", width)
    joiner = environment.newline_sequence if wrapstring is None else wrapstring
    _refuse_over("the wrapped text", len(s) + (len(s) + 1) * len(joiner))
    return do_wordwrap(environment, s, width, break_long_words, wrapstring, break_on_hyphens)


def _capped_filter(
    func: Callable[..., Any], check: Callable[[dict[str, Any]], None] | None
) -> Callable[..., Any]:
    """``func`` (a Jinja filter) refusing a value or a result over the cap, after ``check``
    of its arguments. Keeps the filter's ``pass_context``-style marking."""
    signature = inspect.signature(func) if check is not None else None
    # A filter marked pass_context/pass_eval_context/pass_environment gets that argument
    # first. Jinja's async variants (join, list, slice, ...) are marked by their decorator,
    # and their signature (that of the plain function) then lacks it.
    first = 1 if hasattr(func, "jinja_pass_arg") else 0
    unsigned = first if not hasattr(inspect.unwrap(func), "jinja_pass_arg") else 0

    @functools.wraps(func)
    def capped(*args: Any, **kwargs: Any) -> Any:
        if len(args) > first:
            _refuse_long(args[first])  # the filtered value
        if check is not None and signature is not None:
            bound = signature.bind(*args[unsigned:], **kwargs)
            bound.apply_defaults()
            check(bound.arguments)
            args, kwargs = (*args[:unsigned], *bound.args), bound.kwargs
        return _built(func(*args, **kwargs))

    return capped


class _CappedSandbox(ImmutableSandboxedEnvironment):
    """Refuses operators, filters and calls that would build huge strings, lists or numbers
    (``'a' * 10**9``, ``x|center(10**9)``, ``'%999999999s' % x``) before building them."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.globals["range"] = _range
        del self.globals["lipsum"]  # builds up to megabytes of filler; no use in a message
        self.filters = {
            name: _capped_filter(func, _FILTER_CHECKS.get(name))
            for name, func in self.filters.items()
        }
        self.filters["wordwrap"] = _capped_filter(_wordwrap, None)

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "**":
            if isinstance(right, int | float) and abs(right) > 64:
                raise SecurityError("exponent too large")
            if isinstance(left, int) and isinstance(right, int):
                _refuse_over("the size of a number", left.bit_length() * right, MAX_INT_BITS)
        elif operator_name == "*":
            for a, b in ((left, right), (right, left)):
                if (
                    isinstance(a, str | list | tuple)
                    and isinstance(b, int)
                    and len(a) * b > MAX_OUTPUT
                ):
                    raise SecurityError("repetition too long")
            if isinstance(left, int) and isinstance(right, int):
                size = left.bit_length() + right.bit_length()
                _refuse_over("the size of a number", size, MAX_INT_BITS)
        elif operator_name == "+":
            if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
                if len(left) + len(right) > MAX_OUTPUT:
                    raise SecurityError("value too long")
        elif operator_name == "%" and isinstance(left, str):
            _check_format(left, right)
        return _built(self.binop_table[operator_name](left, right))

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        return _built(super().call(context, obj, *args, **kwargs))

    # Lookups reach placeholder values only: a placeholder is text, with no fields or methods
    # (``{{ constituent.city.upper }}`` is an error, never a bound method's repr).
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


_ENV = _CappedSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
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


# Constructs a message template may not use, with the tag keyword that starts each.
_REFUSED: dict[type[nodes.Node], str | None] = {
    nodes.For: "for",
    nodes.Macro: "macro",
    nodes.Call: None,
    nodes.Import: "import",
    nodes.Include: "include",
    nodes.Extends: "extends",
    nodes.FromImport: "from",
    nodes.Assign: "set",
}


def check_template(source: str) -> list[TemplateProblem]:
    """Every problem in a template: syntax errors and unknown placeholders."""
    try:
        tree = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        return [TemplateProblem(f"template syntax error: {exc.message}", exc.lineno)]
    problems = [p for p in map(_placeholder_problem, _uses(tree)) if p is not None]
    for node in tree.find_all(tuple(_REFUSED)):
        keyword = _REFUSED[type(node)]
        problems.append(
            TemplateProblem(
                f"only placeholders, filters and if-blocks are allowed, not {type(node).__name__}",
                node.lineno,
                re.compile(r"\{%-?\s*" + keyword + r"\b") if keyword else None,
            )
        )
    return problems


class _Namespace:
    """A placeholder root (``target``) while rendering. It has no text and no attributes of
    its own: only the sandbox's lookups reach its values, so ``{{ target }}``,
    ``{{ target | string }}`` or ``{{ target.values }}`` fail instead of printing a repr."""

    __slots__ = ("_name", "_values")

    def __init__(self, name: str, values: dict[str, str]) -> None:
        self._name = name
        self._values = values

    def lookup(self, key: object) -> str | None:
        return self._values.get(key) if isinstance(key, str) else None

    def _refuse(self, *_: object) -> NoReturn:
        raise TypeError(f"{{{{ {self._name} }}}} is not a placeholder on its own")

    __str__ = __repr__ = _refuse


class RenderError(ValueError):
    pass


@functools.lru_cache(maxsize=256)
def _compiled(source: str) -> Template:
    """Compile each template text once per process (templates are immutable once compiled)."""
    return _ENV.from_string(source)


def render(source: str, context: dict[str, dict[str, str]], limit: int = MAX_OUTPUT) -> str:
    """Render a (validated) template; output longer than ``limit`` is an error, not a hang."""
    return "".join(piece for piece, _ in _pieces(source, context, limit, traced=False))


def _pieces(
    source: str, context: dict[str, dict[str, str]], limit: int, traced: bool
) -> list[tuple[str, int]]:
    """The output in the pieces Jinja yields, each with the template line of the node that
    wrote it when ``traced`` (else 0)."""
    spent = _BUILT.set(_BuiltSoFar())
    try:
        template = _compiled(source)
        scope = {key: _Namespace(key, dict(value)) for key, value in context.items()}
        pieces: list[tuple[str, int]] = []
        size = 0
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
        return pieces
    except RenderError:
        raise
    except Exception as exc:  # any failure of a manager's template is theirs to fix
        # Jinja's own errors, and what arithmetic and filters raise on odd arguments
        # ({{ 1/0 }}, wordwrap(0), '%c'|format(huge), ...): a problem to report, never a crash.
        raise RenderError(f"the message template could not be filled: {exc}") from exc
    finally:
        _BUILT.reset(spent)


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
