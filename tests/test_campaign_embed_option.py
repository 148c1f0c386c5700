"""The campaign file's ``embed`` option: which sites may frame the action."""

from __future__ import annotations

from advocacy.campaigns.loader import parse_text
from tests.test_campaign_validation import VALID


def test_allowed_origins_are_kept_as_origins() -> None:
    text = VALID + (
        "embed:\n"
        "  allowed_origins:\n"
        "    - https://Partner.example.org/\n"
        "    - http://localhost:8000\n"
    )
    result = parse_text(text, "sample.yaml")
    assert result.ok, result.problems
    assert result.definition is not None and result.definition.embed is not None
    assert result.definition.embed.allowed_origins == [
        "https://partner.example.org",
        "http://localhost:8000",
    ]


def test_bad_origins_are_reported_on_their_lines() -> None:
    start = len(VALID.splitlines())  # embed: is on line start + 1
    text = VALID + (
        "embed:\n"
        "  allowed_origins:\n"
        "    - https://partner.example.org\n"
        "    - https://partner.example.org/take-action\n"
        "    - http://partner.example.org\n"
        "    - partner.example.org\n"
        "    - https://partner.example.org\n"
    )
    result = parse_text(text, "sample.yaml")
    found = [(p.line, p.field, p.message) for p in result.problems]
    assert found == [
        (
            start + 4,
            "embed.allowed_origins[1]",
            "'https://partner.example.org/take-action' is not an origin: write the scheme and "
            "host only, such as https://partner.example.org (no path)",
        ),
        (
            start + 5,
            "embed.allowed_origins[2]",
            "'http://partner.example.org' must use https (plain http only for localhost)",
        ),
        (
            start + 6,
            "embed.allowed_origins[3]",
            "'partner.example.org' is not an origin: write the scheme and host only, such as "
            "https://partner.example.org (no path)",
        ),
        (start + 7, "embed.allowed_origins[4]", "'https://partner.example.org' is listed twice"),
    ]


def test_an_empty_list_is_refused() -> None:
    result = parse_text(VALID + "embed:\n  allowed_origins: []\n", "sample.yaml")
    [(field, message)] = [(p.field, p.message) for p in result.problems]
    assert field == "embed.allowed_origins"
    assert "at least 1 item" in message
