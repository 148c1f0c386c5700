"""The package's shape: no two parts of ``advocacy`` import each other (a feature imports
another's service, never the reverse too), counting imports inside functions."""

from __future__ import annotations

import ast
from collections import defaultdict

from tests.conftest import REPO

PACKAGE = REPO / "advocacy"


def _part(module: str) -> str:
    """``advocacy.lookup.service`` -> ``lookup``; a top-level module is its own part."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "(package)"


def _imports() -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        names = list(path.relative_to(REPO).with_suffix("").parts)
        is_package = names[-1] == "__init__"
        module = ".".join(names[:-1] if is_package else names)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = module.split(".")
                    base = base if is_package else base[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    target = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    target = node.module or ""
                targets = (
                    [target] if node.module else [f"{target}.{alias.name}" for alias in node.names]
                )
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            for target in targets:
                if target.startswith("advocacy") and _part(target) != _part(module):
                    found[_part(module)].add(_part(target))
    return found


def test_no_two_parts_of_the_package_import_each_other() -> None:
    imports = _imports()
    both_ways = sorted(
        (a, b)
        for a, targets in imports.items()
        for b in targets
        if a < b and a in imports.get(b, set())
    )
    assert both_ways == [], both_ways


def test_the_check_sees_imports() -> None:
    imports = _imports()
    assert "lookup" in imports["actions"] and "delivery" in imports["actions"]
