"""The documents say what the code does: the placeholders and filters of campaign templates,
and every link between the documents leads to a file that exists."""

from __future__ import annotations

import re

from advocacy.campaigns import templating
from tests.conftest import REPO


def test_the_placeholder_table_is_the_code_s() -> None:
    text = (REPO / "docs" / "campaigns.md").read_text()
    rows = dict(re.findall(r"^\| `\{\{ ([a-z_.]+) \}\}` \| (.+?) \|$", text, re.MULTILINE))
    assert rows == templating.PLACEHOLDERS


def test_the_documented_filters_are_the_allowed_ones() -> None:
    text = " ".join((REPO / "docs" / "campaigns.md").read_text().split())
    listed = re.search(r"and the filters (.+?)\. Anything else", text)
    assert listed is not None
    assert set(re.findall(r"`([a-z]+)`", listed.group(1))) == templating.FILTERS


def test_links_between_documents_lead_somewhere() -> None:
    for document in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", document.read_text()):
            assert (document.parent / target).exists(), (document.name, target)
