"""Read campaign YAML, validate it against the schema, and report problems with line numbers."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from . import filled, templating
from .schema import CampaignDefinition, LocatedProblems, target_key
from .shareimage import image_problem


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field or '(file)'}: {self.message}"


@dataclass(frozen=True)
class TemplateWarning:
    """A template that reads wrong once filled for a sample visitor (e.g. "in ," where the
    city is unknown). The campaign still loads; ``campaigns validate`` fails on it."""

    file: str
    line: int | None
    field: str
    message: str
    sample: str  # the sample visitor and recipient it was filled for
    rendered: str  # the filled line, shortened around the spot
    other_samples: int = 0  # how many more samples read the same

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        more = self.other_samples
        also = f" (and {more} more sample{'s' if more > 1 else ''})" if more else ""
        lines = [
            f"{where}: {self.field}: warning: {self.message}",
            f"    sample: {self.sample}{also}",
        ]
        if self.rendered:
            lines.append(f'    filled: "{self.rendered}"')
        return "\n".join(lines)


@dataclass
class LoadResult:
    path: str
    text: str
    definition: CampaignDefinition | None
    problems: list[Problem]
    warnings: list[TemplateWarning] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Loadable: no problems (warnings do not stop a campaign from loading)."""
        return self.definition is not None and not self.problems


class _SafeLineLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (a silent overwrite hides mistakes) and leaves
    dates as text, so the schema reports a bad date as a field problem with its line."""


_SafeLineLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_mapping(loader: _SafeLineLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_SafeLineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,  # type: ignore[arg-type]
)


def _node_at(root: yaml.Node | None, loc: tuple[Any, ...]) -> yaml.Node | None:
    """The node at ``loc`` exactly, or None (parts that are pydantic tags are skipped)."""
    node = root
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = next((v for k, v in node.value if k.value == part), None)
            if found is None:
                if part in _TAGS:
                    continue
                return None
            node = found
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return None
            node = node.value[part]
        else:
            return None
    return node


def _line_of(root: yaml.Node | None, loc: tuple[Any, ...]) -> tuple[int | None, bool]:
    """Line (1-based) of the node at ``loc``; the bool says whether ``loc`` was found fully."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == part:
                    line = key_node.start_mark.line + 1
                    node = value_node
                    break
            else:
                continue  # a discriminator tag in pydantic's loc, or a missing key
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                return line, False
        else:
            return line, False
    return line, True


_TAGS = {"fixed", "state_legislators", "committee", "executive"}


def _without_tag(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """A pydantic location without the target type it puts after ``targets[i]`` (a target's
    own field may have the type's name: a committee target's ``committee``)."""
    if len(loc) > 2 and loc[0] == "targets" and isinstance(loc[1], int) and loc[2] in _TAGS:
        return loc[:2] + loc[3:]
    return loc


def _field_name(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(("." if parts else "") + str(part))
    return "".join(parts)


def _pydantic_message(error: Any) -> str:
    kind = error["type"]
    if kind == "missing":
        return "missing required field"
    if kind == "extra_forbidden":
        return "unknown field"
    message: str = error["msg"]
    if kind.startswith("datetime") or kind.startswith("date"):
        return f"bad date or time ({message}); use YYYY-MM-DD or an ISO 8601 date-time"
    if kind == "literal_error" and error["loc"][-1:] == ("[key]",):
        return "unknown language: a campaign may be translated into es (Spanish)"
    if kind == "union_tag_invalid":
        return "unknown target type; use 'state_legislators', 'fixed', 'committee' or 'executive'"
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    return message


# -- where a template problem is in the file ---------------------------------------------------

_MARK_OPEN, _MARK_CLOSE = "\ue000", "\ue001"  # private-use characters, valid in YAML
_BREAKS = "\n\r\x85\u2028\u2029"


def _source_lines(text: str, loc: tuple[str, ...]) -> tuple[str, list[int]] | None:
    """The scalar at ``loc`` and, for each of its characters, the file line it came from.

    Plain, quoted and folded scalars join their lines, so a template line is not a file line.
    Each source line of the scalar gets a marker with its number; YAML reads the marked text
    exactly as it reads the file, and where the markers land in the value says which file line
    every character came from. None if the scalar cannot be mapped.
    """
    root = yaml.compose(text, Loader=_SafeLineLoader)  # noqa: S506 - SafeLoader subclass
    node = _node_at(root, loc)
    if not isinstance(node, yaml.ScalarNode):
        return None
    start, end = node.start_mark, node.end_mark
    block = node.style in ("|", ">")
    skip = " " if block else " \t"
    inserts: list[tuple[int, int]] = []  # (index in text, 1-based line)
    if not block:
        inserts.append((start.index + (1 if node.style in ('"', "'") else 0), start.line + 1))
    line, index = start.line, start.index
    while index < end.index:
        char = text[index]
        index += 1
        if char not in _BREAKS or (char == "\r" and text[index : index + 1] == "\n"):
            continue
        line += 1
        column = index
        while column < end.index and text[column] in skip:
            column += 1
        if column < end.index and text[column] not in _BREAKS:
            inserts.append((column, line + 1))
    marked = text
    for position, number in reversed(inserts):
        marked = f"{marked[:position]}{_MARK_OPEN}{number}{_MARK_CLOSE}{marked[position:]}"
    try:
        marked_node = _node_at(
            yaml.compose(marked, Loader=_SafeLineLoader),  # noqa: S506 - SafeLoader subclass
            loc,
        )
    except yaml.YAMLError:
        return None
    if not isinstance(marked_node, yaml.ScalarNode):
        return None
    value: list[str] = []
    lines: list[int] = []
    current = start.line + 1
    for position, piece in enumerate(marked_node.value.split(_MARK_OPEN)):
        if position:
            number, _, piece = piece.partition(_MARK_CLOSE)
            current = int(number)
        value.append(piece)
        lines.extend([current] * len(piece))
    if "".join(value) != node.value:
        return None
    return node.value, lines


def _template_line(
    text: str,
    loc: tuple[str, ...],
    problem: templating.TemplateProblem,
    occurrence: tuple[int, int] = (0, 1),
) -> int:
    """The file line of a problem in the template at ``loc``: the line where the offending
    expression starts when that can be told, else the line where the scalar starts.

    ``occurrence`` is (n, count) when ``count`` identical problems share this template line:
    the n-th of them is the n-th match of the expression there.
    """
    root = yaml.compose(text, Loader=_SafeLineLoader)  # noqa: S506 - SafeLoader subclass
    node = _node_at(root, loc)
    assert node is not None  # noqa: S101 - the template was read from this node
    fallback = node.start_mark.line + 1
    mapped = _source_lines(text, loc)
    if mapped is None or problem.line is None:
        return fallback
    value, lines = mapped
    offsets = [0]
    for template_line in value.split("\n"):
        offsets.append(offsets[-1] + len(template_line) + 1)
    if not 1 <= problem.line < len(offsets):
        return fallback
    first, after = offsets[problem.line - 1], min(offsets[problem.line], len(value))
    if problem.pattern is not None:
        matches = [m for m in problem.pattern.finditer(value) if first <= m.start() < after]
        if not matches:  # an expression written over several lines
            matches = [m for m in problem.pattern.finditer(value) if m.start() < after <= m.end()]
        index, count = occurrence
        if len(matches) == count:
            return lines[matches[index].start()]
        found = {lines[m.start()] for m in matches}
        if len(found) == 1:
            return found.pop()
    found = set(lines[first:after])
    return found.pop() if len(found) == 1 else fallback


def _offset_line(text: str, loc: tuple[Any, ...], offset: int) -> int:
    """The file line of the character at ``offset`` in the template at ``loc``."""
    root = yaml.compose(text, Loader=_SafeLineLoader)  # noqa: S506 - SafeLoader subclass
    node = _node_at(root, loc)
    assert node is not None  # noqa: S101 - the template was read from this node
    mapped = _source_lines(text, loc)
    if mapped is None or not 0 <= offset < len(mapped[1]):
        return node.start_mark.line + 1
    return mapped[1][offset]


def _yaml_problem(text: str, exc: yaml.YAMLError, path: str) -> Problem:
    """A YAML syntax error at the line where the broken construct starts, naming the top-level
    field it is in when that can be told."""
    problem_mark = getattr(exc, "problem_mark", None)
    context_mark = getattr(exc, "context_mark", None)
    context = getattr(exc, "context", None) or ""
    reason = getattr(exc, "problem", None) or str(exc)
    mark = problem_mark
    if (
        context_mark is not None
        and problem_mark is not None
        and context_mark.line < problem_mark.line
        and not context.startswith("while parsing a block")
    ):
        # An unclosed [ { or quote: the parser notices lines later; the mistake is here.
        mark = context_mark
        reason = f"{reason} on line {problem_mark.line + 1} ({context} that starts here)"
    line = mark.line + 1 if mark is not None else None
    if mark is not None and not text[mark.index :].strip():
        # Found at the end of the file: the unfinished thing is on the last line with text.
        line = max(len(text.rstrip().splitlines()), 1)
    field = _top_level_key(text, line) if line is not None else ""
    return Problem(path, line, field, f"YAML syntax error: {reason}")


_TOP_LEVEL_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)[ \t]*:(?:[ \t]|$)")


def _top_level_key(text: str, line: int) -> str:
    """The known top-level field whose value holds ``line``, or '' (no field can be told)."""
    lines = text.split("\n")
    for number in range(min(line, len(lines)), 0, -1):
        source = lines[number - 1].rstrip("\r")
        if source[:1] in ("", " ", "\t", "#"):
            continue  # inside a value, blank, or a comment
        match = _TOP_LEVEL_KEY.match(source)
        if match and match.group(1) in CampaignDefinition.model_fields:
            return match.group(1)
        return ""
    return ""


# -- the rules -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Finding:
    """A problem before it has a file line: ``loc`` is where it is in the document."""

    loc: tuple[Any, ...]
    message: str
    template: templating.TemplateProblem | None = None

    @property
    def field(self) -> str:
        return _field_name(self.loc)


_TEMPLATES: tuple[tuple[str, ...], ...] = (
    ("message", "subject"),
    ("message", "body"),
    ("call_script",),
)
_TARGET_TEMPLATES: tuple[tuple[str, ...], ...] = (
    ("message", "subject"),
    ("message", "body"),
    ("call_script",),
)


def _template_locations(data: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Where the campaign's templates are: its message and call script, and each target's
    own (fixed, committee and executive targets may have them)."""
    locations: list[tuple[Any, ...]] = list(_TEMPLATES)
    targets = data.get("targets")
    if isinstance(targets, list):
        for index, target in enumerate(targets):
            if isinstance(target, dict):
                locations.extend(("targets", index, *loc) for loc in _TARGET_TEMPLATES)
    # The same templates in each translation, by the same rules.
    translations = data.get("translations")
    if isinstance(translations, dict):
        for code, translation in translations.items():
            if not isinstance(translation, dict):
                continue
            locations.extend(("translations", code, *loc) for loc in _TEMPLATES)
            own = translation.get("targets")
            if isinstance(own, dict):
                for key in own:
                    locations.extend(
                        ("translations", code, "targets", key, *loc) for loc in _TARGET_TEMPLATES
                    )
    return locations


def _check(data: object) -> tuple[CampaignDefinition | None, list[_Finding]]:
    """Every rule, in one place: the schema, the templates, and the filled sample's length."""
    if not isinstance(data, dict):
        return None, [
            _Finding((), "a campaign file must be a mapping of fields (slug:, title:, ...)")
        ]
    findings: list[_Finding] = []
    definition: CampaignDefinition | None
    try:
        definition = CampaignDefinition.model_validate(data)
    except ValidationError as exc:
        definition = None
        for error in exc.errors():
            loc = _without_tag(tuple(error["loc"]))
            if loc[-1:] == ("[key]",):  # a mapping's key: the problem is the key itself
                loc = loc[:-1]
            cause = (error.get("ctx") or {}).get("error")
            if isinstance(cause, LocatedProblems):
                findings.extend(_Finding(loc + where, text) for where, text in cause.problems)
            else:
                findings.append(_Finding(loc, _pydantic_message(error)))

    # Templates are checked even when other fields failed, so every problem shows at once.
    for loc in _template_locations(data):
        source: object = data
        for part in loc:
            if isinstance(source, dict):
                source = source.get(part)
            elif isinstance(source, list) and isinstance(part, int):
                source = source[part]
            else:
                source = None
        if isinstance(source, str):
            for problem in templating.check_template(source):
                findings.append(_Finding(loc, str(problem), problem))

    # The share picture must be a picture that exists (its text already passed the schema).
    image = data.get("image")
    if isinstance(image, str) and not any(f.loc[:1] == ("image",) for f in findings):
        problem = image_problem(image.strip())
        if problem is not None:
            findings.append(_Finding(("image",), problem))

    if definition is not None and not findings:
        findings.extend(_sample_lengths(definition))
    return (definition if not findings else None), findings


def _sample_lengths(definition: CampaignDefinition) -> list[_Finding]:
    """Each message filled with sample values, against its length limit, in each language."""
    findings = []
    for code in definition.languages:
        findings += _sample_lengths_in(definition, code)
    return findings


def _sample_lengths_in(definition: CampaignDefinition, code: str) -> list[_Finding]:
    localized = definition.in_language(code)
    sample = templating.sample_context(localized.title, code)
    where: tuple[Any, ...] = () if code == "en" else ("translations", code)
    messages: list[tuple[tuple[Any, ...], Any]] = [((*where, "message"), localized.message)]
    for index, target in enumerate(localized.targets):
        if getattr(target, "message", None) is None:
            continue
        key = target_key(target) if code != "en" else index
        messages.append(((*where, "targets", key, "message"), target.message))
    findings = []
    for loc, message in messages:
        for key, limit in (
            ("subject", definition.message.max_subject_length),
            ("body", definition.message.max_body_length),
        ):
            try:
                rendered = templating.render(getattr(message, key), sample)
            except templating.RenderError as exc:
                findings.append(_Finding((*loc, key), str(exc)))
                continue
            if len(rendered) > limit:
                findings.append(
                    _Finding(
                        (*loc, key),
                        f"the filled sample is {len(rendered)} characters, "
                        f"over the limit of {limit}",
                    )
                )
    return findings


def template_warnings(
    definition: CampaignDefinition,
    samples: filled.SampleSource,
    path: str = "<editor>",
    text: str = "",
) -> list[TemplateWarning]:
    """Each template filled for each sample visitor, and what reads wrong. With the file's
    ``text``, each warning has the file line of the spot (else ``line=None``)."""
    warnings = []
    for code in definition.languages:
        localized = definition.in_language(code)
        for finding in filled.read_filled(localized, samples(localized)):
            if code != "en":
                finding = replace(
                    finding,
                    loc=_translated_loc(definition, code, finding.loc),
                    sample=f"{finding.sample}, in {LANGUAGE_NAMES.get(code, code)}",
                )
            warnings.append(_warning(finding, path, text))
    warnings.sort(key=lambda w: (w.line or 0, w.field))
    return warnings


# Languages a translation may be in, as staff read them.
LANGUAGE_NAMES = {"es": "Spanish"}


def _translated_loc(
    definition: CampaignDefinition, code: str, loc: tuple[str | int, ...]
) -> tuple[str | int, ...]:
    """Where the translation into ``code`` has the template found at ``loc`` in the English
    (``("targets", 1, "message", "body")`` -> ``("translations", "es", "targets",
    "american-law-institute", "message", "body")``)."""
    if loc[:1] == ("targets",) and isinstance(loc[1], int):
        key = target_key(definition.targets[loc[1]])
        return ("translations", code, "targets", key or "", *loc[2:])
    return ("translations", code, *loc)


def _warning(finding: filled.Finding, path: str, text: str) -> TemplateWarning:
    """A finding as a warning, with its file line when the file's ``text`` is known."""
    line: int | None = None
    if text and finding.offset is not None:
        line = _offset_line(text, finding.loc, finding.offset)
    elif text:
        located = templating.TemplateProblem(
            finding.message, finding.template_line, finding.pattern
        )
        line = _template_line(text, finding.loc, located)
    return TemplateWarning(
        path,
        line,
        _field_name(finding.loc),
        finding.message,
        finding.sample,
        finding.rendered,
        finding.other_samples,
    )


def validate_data(
    data: dict[str, Any], path: str = "<editor>", samples: filled.SampleSource | None = None
) -> LoadResult:
    """Check an already-read campaign (e.g. from the admin editor) by exactly the rules of
    ``parse_text``: the schema, the template placeholders (message and call_script), and the
    length of the message filled with sample values.

    Every problem has ``line=None``. ``Problem.field`` names where it is, stably:

    - ``""``: the whole campaign (e.g. it is not a mapping);
    - a top-level field: ``slug``, ``title``, ``summary``, ``status``, ``starts_at``,
      ``ends_at`` (also "ends_at must be after starts_at"), ``targets`` (e.g. none at all),
      ``call_script``, ``thank_you``, ``share_text``, ``privacy_note``, ``image`` (also a
      file under static/ that is missing or not a picture), ``image_alt``, or an unknown key;
    - ``message`` (e.g. missing) and ``message.subject``, ``message.body``, ``message.mode``,
      ``message.max_subject_length``, ``message.max_body_length``;
    - ``targets[i]`` (a target as a whole: unknown type, no contact channel) and
      ``targets[i].FIELD``, e.g. ``targets[1].email`` or ``targets[2].id`` (a fixed target id
      used twice is reported at the later one, as are a committee at ``.committee`` and an
      executive office at ``.office`` named twice); ``i`` counts every target from 0.

    Dates may be ``date``/``datetime`` objects or text. ``text`` of the result is empty.

    With ``samples``, a valid campaign's templates are also filled for each sample visitor
    and what reads wrong is in ``warnings`` (``template_warnings``).
    """
    definition, findings = _check(data)
    problems = [Problem(path, None, finding.field, finding.message) for finding in findings]
    warnings = []
    if definition is not None and samples is not None:
        warnings = template_warnings(definition, samples, path)
    return LoadResult(path, "", definition, problems, warnings)


def parse_text(
    text: str, path: str = "<campaign>", samples: filled.SampleSource | None = None
) -> LoadResult:
    """Read campaign YAML and check it (``validate_data``'s rules), with each problem's and
    warning's line."""
    try:
        root = yaml.compose(text, Loader=_SafeLineLoader)  # noqa: S506 - SafeLoader subclass
        data = yaml.load(text, Loader=_SafeLineLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        return LoadResult(path, text, None, [_yaml_problem(text, exc, path)])
    definition, findings = _check(data)
    problems: list[Problem] = []
    seen: dict[tuple[Any, ...], int] = {}
    for finding in findings:
        if finding.template is None:
            line = _line_of(root, finding.loc)[0] or 1
        else:
            # Identical problems on one template line (``{{ x }} ... {{ x }}``) take the
            # matches of their expression in turn.
            key = (finding.loc, finding.template.line, str(finding.template))
            count = sum(
                1
                for other in findings
                if other.template is not None
                and (other.loc, other.template.line, str(other.template)) == key
            )
            index = seen[key] = seen.get(key, -1) + 1
            line = _template_line(text, finding.loc, finding.template, (index, count))
        problems.append(Problem(path, line, finding.field, finding.message))
    problems.sort(key=lambda p: (p.line or 0, p.field))
    warnings = []
    if definition is not None and samples is not None:
        warnings = template_warnings(definition, samples, path, text)
    return LoadResult(path, text, definition, problems, warnings)


def load_file(path: Path, samples: filled.SampleSource | None = None) -> LoadResult:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return LoadResult(
            str(path), "", None, [Problem(str(path), None, "", f"cannot read: {exc}")]
        )
    result = parse_text(text, str(path), samples)
    if result.definition is not None and path.stem != result.definition.slug:
        result.problems.append(
            Problem(
                str(path),
                _line_of(yaml.compose(text, Loader=_SafeLineLoader), ("slug",))[0],  # noqa: S506
                "slug",
                f"the slug {result.definition.slug!r} must match the file name {path.stem!r}",
            )
        )
        result.definition = None
    return result


def campaign_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in (".yml", ".yaml") and p.is_file())


def content_hash(definition: CampaignDefinition) -> str:
    """Hash of the validated content: formatting-only edits of a file make no new version."""
    canonical = json.dumps(definition.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
