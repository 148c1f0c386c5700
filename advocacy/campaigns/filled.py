"""Each template filled in for sample visitors and read for the marks an empty value leaves:
"in ," or ", ," where a word is missing, a line that is only ", NH", a doubled space or a
space before a comma, and any placeholder that printed nothing.

The samples come from the caller (``actions.samples`` builds them with the site's own
functions), so this package needs nothing from the visitor's flow.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Any

from . import templating
from .schema import CampaignDefinition, Message, OwnTemplates, TargetMessage


@dataclass(frozen=True)
class Sample:
    """One visitor writing to one recipient, with the values the site would fill in."""

    label: str  # says who, e.g. "district chosen by hand, no city (NH), to Senator Okafor"
    context: dict[str, dict[str, str]]  # constituent, target and campaign values
    # The index in the campaign's targets of the target written to, when it is one that may
    # have its own message and call script (fixed, committee, executive).
    target: int | None = None
    calls: bool = True  # the recipient has a phone, so the call script is shown


SampleSource = Callable[[CampaignDefinition], Sequence[Sample]]


@dataclass(frozen=True)
class Finding:
    """A filled template that reads wrong for a sample, and where in the template it is."""

    loc: tuple[str | int, ...]  # the template, e.g. ("targets", 1, "message", "body")
    message: str
    sample: str
    rendered: str  # the filled line, shortened around the spot
    template_line: int  # 1-based line of the template
    offset: int | None = None  # index in the template of literal text at the spot
    pattern: re.Pattern[str] | None = None  # else the placeholder, on its template line
    other_samples: int = 0  # other samples with the same finding


_PUNCTUATION = ",.;:!?)"
_CONNECTOR = r"(?i)\b(?:in|of|from|at|for|to|near|by)"
# Each rule: what it finds on a filled line, how to say it, and where it counts: "always" (no
# sentence reads so), "joined" (unless the template has the same text as typed), or "gap"
# (only where an expression printed nothing).
_RULES: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"^\s*[,;:]"), "a line that starts with {quoted}", "always"),
    (re.compile(_CONNECTOR + r"\s+[,.;:!?]"), "an empty interpolation: {quoted}", "always"),
    (re.compile(r"[,;:]\s*[,.;:]"), "an empty interpolation: {quoted}", "always"),
    (re.compile(_CONNECTOR + r"[ \t]*$"), "a line that ends in {quoted}", "gap"),
    (re.compile(r"(?<=\S)[ \t]+[,.;:!?](?=\s|$)"), "a space before {quoted}", "joined"),
    (re.compile(r"(?<=[^\s.!?:])  +(?=\S)"), "a doubled space", "joined"),
    (re.compile(r"^[ \t]+(?=\S)"), "a space at the start of the line", "gap"),
    (re.compile(r"(?<=\S)[ \t]+$"), "a space at the end of the line", "gap"),
)


def _templates(
    definition: CampaignDefinition, sample: Sample
) -> list[tuple[tuple[str | int, ...], str]]:
    """The templates the site fills for this sample, where each is in the campaign: a
    target's own message and call script when it has them (as ``drafts.fill_message`` and
    ``pages.call_scripts`` choose), the body only when the message is not blank."""
    index = sample.target if sample.target is not None else -1
    own = definition.targets[index] if 0 <= index < len(definition.targets) else None
    if not isinstance(own, OwnTemplates):
        own = None
    message: Message | TargetMessage = definition.message
    message_loc: tuple[str | int, ...] = ("message",)
    if own is not None and own.message is not None:
        message, message_loc = own.message, ("targets", index, "message")
    found: list[tuple[tuple[str | int, ...], str]] = [((*message_loc, "subject"), message.subject)]
    if definition.message.mode != "blank":
        found.append(((*message_loc, "body"), message.body))
    if sample.calls:
        if own is not None and own.call_script:
            found.append((("targets", index, "call_script"), own.call_script))
        elif definition.call_script:
            found.append((("call_script",), definition.call_script))
    return found


def _excerpt(line: str, column: int, width: int = 50) -> str:
    """The filled line around ``column``, shortened when long."""
    start, end = max(column - width, 0), min(column + width, len(line))
    return ("…" if start else "") + line[start:end].strip() + ("…" if end < len(line) else "")


def _quoted(snippet: str) -> str:
    return '"' + " ".join(snippet.split()) + '"'


def _value(sample: Sample, name: str) -> str | None:
    root, _, key = name.partition(".")
    return sample.context.get(root, {}).get(key)


@dataclass(frozen=True)
class _Gap:
    """Where an expression printed nothing: which placeholder it was, and where it is in the
    template (``offset`` when the literal text around it tells, else its template line)."""

    name: str
    line: int
    offset: int | None = None
    pattern: re.Pattern[str] | None = None


def _gaps(source: str, filled: templating.Filled, sample: Sample) -> dict[int, _Gap]:
    """Each gap of the filled text by its index: the empty placeholder printed between the
    literal text before and after it, or, when that cannot be told, the empty placeholders its
    template line prints."""
    empty = [
        (name, line, pattern)
        for name, line, pattern in templating.printed_placeholders(source)
        if _value(sample, name) == "" and pattern is not None
    ]
    found: dict[int, _Gap] = {}
    for spot, line in filled.gaps:
        before = next((o for o in reversed(filled.offsets[:spot]) if o is not None), -1)
        after = next((o for o in filled.offsets[spot:] if o is not None), len(source))
        between = sorted(
            (match.start(), name)
            for name, _, pattern in empty
            for match in pattern.finditer(source)
            if before < match.start() < after
        )
        if between:
            offset, name = between[0]
            found[spot] = _Gap(name, line, offset=offset)
            continue
        here = list(dict.fromkeys((name, p) for name, at, p in empty if at == line))
        if len(here) == 1:
            found[spot] = _Gap(here[0][0], line, pattern=here[0][1])
        else:
            found[spot] = _Gap(" or ".join(name for name, _ in here) or "an expression", line)
    return found


def _read(loc: tuple[str | int, ...], source: str, sample: Sample) -> list[Finding]:
    """What reads wrong in one template filled for one sample."""
    try:
        filled = templating.render_traced(source, sample.context)
    except templating.RenderError as exc:
        return [Finding(loc, f"could not be filled for this sample: {exc}", sample.label, "", 1)]
    gaps_at = _gaps(source, filled, sample)

    def finding(line: str, start: int, first: int, shown: str, gaps: list[int]) -> Finding:
        rendered = _excerpt(line, first - start)
        if gaps:
            gap = gaps_at[gaps[0]]
            what = f"{{{{ {gap.name} }}}}" if gap.name in templating.PLACEHOLDERS else gap.name
            message = f"{what} is empty for this sample" + (
                f", leaving {shown}" if shown else " and prints nothing"
            )
            return Finding(loc, message, sample.label, rendered, gap.line, gap.offset, gap.pattern)
        offset = next((o for o in filled.offsets[first : start + len(line)] if o is not None), None)
        template_line = filled.lines[first] if first < len(filled.lines) else 1
        return Finding(
            loc, f"the filled text has {shown}", sample.label, rendered, template_line, offset
        )

    findings: list[Finding] = []
    told: set[int] = set()  # gaps already in a finding
    start = 0
    for line in filled.text.split("\n"):
        end = start + len(line)
        gaps = [spot for spot, _ in filled.gaps if start <= spot <= end]
        taken: list[tuple[int, int]] = []
        for rule, shows, where in _RULES:
            for match in rule.finditer(line):
                first, last = start + match.start(), start + match.end()
                near = [spot for spot in gaps if first <= spot <= last and spot not in told]
                typed = filled.offsets[first:last]
                if (
                    (where == "gap" and not near)
                    or (where == "joined" and not near and _as_typed(typed))
                    or any(a < last and first < b for a, b in taken)
                ):
                    continue
                taken.append((first, last))
                findings.append(finding(line, start, first, _describe(shows, match, sample), near))
                told.update(near)
        for spot in gaps:
            if spot not in told:
                shown = "" if line.strip() else "an empty line"
                findings.append(finding(line, start, spot, shown, [spot]))
                told.add(spot)
        start = end + 1
    return findings


def _as_typed(offsets: tuple[int | None, ...]) -> bool:
    """Whether this text is one run of the template's own literal text."""
    return None not in offsets and all(b == a + 1 for a, b in pairwise(offsets))  # type: ignore[operator]


def _describe(shows: str, match: re.Match[str], sample: Sample) -> str:
    line = match.string
    if shows.startswith("a line that starts"):
        rest = line.strip(" \t" + _PUNCTUATION)
        places = {sample.context.get("constituent", {}).get(k, "") for k in ("state", "state_name")}
        if rest in places - {""}:
            return f"a line that is only {_quoted(line)}"
    return shows.format(quoted=_quoted(match.group()))


def read_filled(definition: CampaignDefinition, samples: Sequence[Sample]) -> list[Finding]:
    """Every template of the campaign filled for every sample it applies to, and what reads
    wrong; a finding shared by several samples is told once, for the first of them."""
    found: dict[tuple[Any, ...], Finding] = {}
    for sample in samples:
        for loc, source in _templates(definition, sample):
            for finding in _read(loc, source, sample):
                key = (finding.loc, finding.message, finding.template_line, finding.offset)
                first = found.setdefault(key, finding)
                if first is not finding:
                    found[key] = replace(first, other_samples=first.other_samples + 1)
    return list(found.values())
