"""Fixtures of the security tests: the fake Census, the test directory, the repository's
campaigns, staff of every role, HTML checks for injected markup, and the attack corpora.

Rate limits are off here (as in the rest of the suite) unless a test module turns them on
(tests/security/test_rate_limits.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask

from advocacy import create_app
from advocacy.extensions import db
from tests.actions.conftest import ready  # noqa: F401 - fixtures
from tests.admin.conftest import as_role, password_hash, staff  # noqa: F401 - fixtures
from tests.fakes.upstream import FakeUpstreams
from tests.lookup.conftest import directory, people_dir, upstream  # noqa: F401 - fixtures

CORPORA = Path(__file__).resolve().parent / "corpora"


@pytest.fixture
def app_config(
    app_config: dict[str, object],
    upstream: FakeUpstreams,  # noqa: F811 - the fixture imported above
) -> dict[str, object]:
    return {
        **app_config,
        "CENSUS_GEOCODER_URL": upstream.base_url + "/geocoder",
        "OPENSTATES_DATA_URL": upstream.base_url + "/people/current",
        "OPENSTATES_VACANCIES_URL": upstream.base_url + "/settings.yml",
        "OPENSTATES_API_URL": upstream.base_url,
        "RATELIMIT_ENABLED": False,
    }


@pytest.fixture
def make_app(app_config: dict[str, object]) -> Iterator[Callable[..., Flask]]:
    """``make_app(**overrides)``: another app on the same database (disposed afterwards)."""
    made: list[Flask] = []

    def make(**overrides: object) -> Flask:
        application = create_app({**app_config, **overrides})
        made.append(application)
        return application

    yield make
    for application in made:
        with application.app_context():
            db.engine.dispose()


def corpus(name: str) -> list[str]:
    """One JSON string per line (so control characters and CR/LF can be written down);
    blank lines and lines starting with ``#`` are comments."""
    lines = (CORPORA / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip() and not line.startswith("#")]


# Elements none of our pages has (the dashboard's charts aside: ``allow_svg``).
FORBIDDEN_TAGS = {
    "script", "iframe", "frame", "object", "embed", "applet", "base", "style", "math",
    "svg", "img", "video", "audio", "source", "marquee", "isindex", "portal",
    "template", "xmp", "noscript",
}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "srcdoc", "poster"}
# The one script every page loads: the site's own file, with nothing inline.
OWN_SCRIPT = {"src": "/static/site.js", "defer": None}
# Pictures only from the site's own picture route (advocacy/images), always with a text
# alternative; the one absolute link is the page's canonical address on ADVOCACY_SITE_URL
# (its default here), which loads nothing.
OWN_PICTURES = re.compile(r"/images/(?:share|photo)-[0-9a-f]{32}\.(?:jpg|webp)")
OWN_SITE = "http://127.0.0.1:5000/"
SAFE_SCHEMES = {"", "http", "https", "mailto", "tel"}


class _Scanner(HTMLParser):
    def __init__(self, allow_svg: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.allow_svg = allow_svg
        self.problems: list[str] = []
        self.in_svg = 0
        self.in_own_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script" and dict(attrs) == OWN_SCRIPT:
            self.in_own_script = True
            return
        values = dict(attrs)
        if tag == "svg" and self.allow_svg:
            self.in_svg += 1
        elif tag == "img" and not self.in_svg:
            if OWN_PICTURES.fullmatch(values.get("src") or "") is None or not values.get("alt"):
                self.problems.append(f"<img src={values.get('src')!r}> not one of our pictures")
            if set(values) - {"src", "alt", "width", "height", "class", "loading"}:
                self.problems.append(f"<img> with {sorted(values)}")
        elif tag in FORBIDDEN_TAGS and not (self.in_svg and tag in {"style", "svg"}):
            self.problems.append(f"<{tag}> element")
        if tag == "meta" and any(name == "http-equiv" for name, _ in attrs):
            self.problems.append("<meta http-equiv>")
        href = values.get("href") or ""
        canonical = values.get("rel") == "canonical" and href.startswith(OWN_SITE)
        if tag == "link" and href.startswith(("http:", "https:", "//")) and not canonical:
            self.problems.append(f"<link> to {href}")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...> event handler")
            if name == "style" and not self.in_svg:
                self.problems.append(f"<{tag} style=...> inline style")
            if name in URL_ATTRIBUTES and value is not None:
                url = "".join(ch for ch in value if ch > " ").lower()
                scheme = urlsplit(url).scheme if ":" in url.split("/")[0] else ""
                if scheme not in SAFE_SCHEMES:
                    self.problems.append(f"<{tag} {name}={value!r}> unsafe URL")
                if tag == "form" and name == "action" and urlsplit(url).netloc:
                    self.problems.append(f"<form action={value!r}> posts elsewhere")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self.in_own_script = False
        if tag == "svg" and self.in_svg:
            self.in_svg -= 1

    def handle_data(self, data: str) -> None:
        if self.in_own_script and data.strip():
            self.problems.append("inline code in the site's <script> element")


def injected_markup(html: str, allow_svg: bool = False) -> list[str]:
    """What in ``html`` could run or restyle the page: none of our templates has any."""
    scanner = _Scanner(allow_svg)
    scanner.feed(html)
    scanner.close()
    return scanner.problems
