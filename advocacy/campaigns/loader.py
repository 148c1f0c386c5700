"""Read campaign YAML, validate it against the schema, and report problems with line numbers."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from . import templating
from .schema import CampaignDefinition


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field or '(file)'}: {self.message}"


@dataclass
class LoadResult:
    path: str
    text: str
    definition: CampaignDefinition | None
    problems: list[Problem]

    @property
    def ok(self) -> bool:
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


def _field_name(loc: tuple[Any, ...], known_tags: set[str]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif part in known_tags:
            continue
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
    if kind == "union_tag_invalid":
        return "unknown target type; use 'state_legislators' or 'fixed'"
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    return message


def _template_line(
    root: yaml.Node | None, loc: tuple[str, ...], template_line: int | None
) -> int | None:
    """Map a line inside a template to a file line (block scalars start on the next line)."""
    line, found = _line_of(root, loc)
    if line is None or not found or template_line is None:
        return line
    node = root
    for part in loc:
        assert isinstance(node, yaml.MappingNode)  # noqa: S101 - _line_of found the path
        node = next(v for k, v in node.value if k.value == part)
    is_block = isinstance(node, yaml.ScalarNode) and node.style in ("|", ">")
    return node.start_mark.line + template_line + (1 if is_block else 0)


def parse_text(text: str, path: str = "<campaign>") -> LoadResult:
    problems: list[Problem] = []
    try:
        root = yaml.compose(text, Loader=_SafeLineLoader)  # noqa: S506 - SafeLoader subclass
        data = yaml.load(text, Loader=_SafeLineLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        return LoadResult(
            path, text, None, [Problem(path, line, "", f"YAML syntax error: {reason}")]
        )
    if not isinstance(data, dict):
        return LoadResult(
            path,
            text,
            None,
            [
                Problem(
                    path, 1, "", "a campaign file must be a mapping of fields (slug:, title:, ...)"
                )
            ],
        )

    try:
        definition = CampaignDefinition.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            line, _ = _line_of(root, loc)
            problems.append(
                Problem(
                    path,
                    line,
                    _field_name(loc, {"fixed", "state_legislators"}),
                    _pydantic_message(error),
                )
            )
        definition = None

    # Templates are checked even when other fields failed, so every problem shows at once.
    message = data.get("message") if isinstance(data.get("message"), dict) else {}
    for key in ("subject", "body"):
        source = message.get(key)
        if isinstance(source, str):
            for template_problem in templating.check_template(source):
                problems.append(
                    Problem(
                        path,
                        _template_line(root, ("message", key), template_problem.line),
                        f"message.{key}",
                        str(template_problem),
                    )
                )
    call_script = data.get("call_script")
    if isinstance(call_script, str):
        for template_problem in templating.check_template(call_script):
            problems.append(
                Problem(
                    path,
                    _template_line(root, ("call_script",), template_problem.line),
                    "call_script",
                    str(template_problem),
                )
            )

    if definition is not None and not problems:
        sample = templating.sample_context(definition.title)
        for key, limit in (
            ("subject", definition.message.max_subject_length),
            ("body", definition.message.max_body_length),
        ):
            try:
                rendered = templating.render(getattr(definition.message, key), sample)
            except templating.RenderError as exc:
                problems.append(
                    Problem(path, _line_of(root, ("message", key))[0], f"message.{key}", str(exc))
                )
                continue
            if len(rendered) > limit:
                problems.append(
                    Problem(
                        path,
                        _line_of(root, ("message", key))[0],
                        f"message.{key}",
                        f"the filled sample is {len(rendered)} characters, "
                        f"over the limit of {limit}",
                    )
                )
    problems.sort(key=lambda p: (p.line or 0, p.field))
    return LoadResult(path, text, definition if not problems else None, problems)


def load_file(path: Path) -> LoadResult:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return LoadResult(
            str(path), "", None, [Problem(str(path), None, "", f"cannot read: {exc}")]
        )
    result = parse_text(text, str(path))
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


def to_yaml(definition: CampaignDefinition) -> str:
    data = definition.model_dump(mode="json", exclude_none=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
