"""Fixtures for the browser tests: a fake Census, a seeded database, the app on a real socket,
and Debian's chromium driven by Playwright's sync API (no pytest-playwright, no downloads).

A test that needs the whole world asks for ``page`` (a fresh browser context on the live
server, every request recorded in ``page_requests``, anything not on 127.0.0.1 blocked) or
for ``new_page`` to open more pages, e.g. at another viewport. ``live_server.url`` is the base,
``upstream`` the fake Census (``upstream.requests`` shows what the app asked it),
``world`` the seeded campaigns and directory. ``harness.submit_action_form`` fills and sends
the campaign form as the visitor ``harness.VISITOR`` living at ``harness.ADDRESS``;
``harness.add_staff`` and ``harness.sign_in`` make a staff account and sign it in.

Every test in this folder is marked ``e2e``, and skipped where Debian's chromium is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

from advocacy.campaigns.service import sync_folder
from advocacy.extensions import db
from advocacy.lookup.directory import sync_states
from advocacy.lookup.openstates import BulkPeopleSource
from tests.conftest import copy_repo_campaigns
from tests.e2e.harness import (
    ADDRESS,
    CHROMIUM,
    CHROMIUM_ARGS,
    NH_MATCH,
    NO_CHROMIUM,
    TIMEOUT_MS,
    LiveServer,
    World,
    copy_people,
    is_local,
)
from tests.fakes.upstream import FakeUpstreams

expect.set_options(timeout=TIMEOUT_MS)
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The hook sees the whole session's tests; only this folder's are browser tests.
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.e2e)
            if not CHROMIUM.exists():
                item.add_marker(pytest.mark.skip(reason=NO_CHROMIUM))


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    # executable_path: Playwright never downloads a browser of its own here.
    instance = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS, timeout=30_000
    )
    yield instance
    instance.close()


@pytest.fixture
def upstream() -> Iterator[FakeUpstreams]:
    fake = FakeUpstreams().start()
    fake.add_address(ADDRESS, NH_MATCH)
    yield fake
    fake.stop()


@pytest.fixture
def app_config(app_config: dict[str, object], upstream: FakeUpstreams) -> dict[str, object]:
    """The shared test config, pointed at the fakes; CSRF on, since a real browser posts."""
    config = {
        **app_config,
        "TESTING": False,
        "CENSUS_GEOCODER_URL": upstream.base_url + "/geocoder",
        "OPENSTATES_DATA_URL": upstream.base_url + "/people/current",
        "OPENSTATES_VACANCIES_URL": upstream.base_url + "/settings.yml",
        "OPENSTATES_API_URL": upstream.base_url + "/openstates-api",
    }
    config.pop("WTF_CSRF_ENABLED", None)
    return config


@pytest.fixture
def world(app: Flask, campaigns_dir: Path, tmp_path: Path) -> World:
    """The repository's campaigns and the New Hampshire people of tests/e2e/data/nh.csv."""
    copy_repo_campaigns(campaigns_dir)
    report = sync_folder(campaigns_dir)
    assert not report.problems, report.problems
    people_dir = copy_people(tmp_path / "people")
    results = sync_states(BulkPeopleSource(str(people_dir)), ["nh"])
    assert all(r.ok for r in results), [r.error for r in results]
    assert not any(r.unmatched for r in results), [r.unmatched for r in results]
    db.session.remove()  # nothing of the test thread may hold the database open
    return World(campaigns_dir=campaigns_dir, people_dir=people_dir)


@pytest.fixture
def live_server(app: Flask, world: World) -> Iterator[LiveServer]:
    server = LiveServer.start(app)
    yield server
    server.stop()


@pytest.fixture
def page_requests() -> list[str]:
    """Every URL any page of the test requested (filled by ``new_page``)."""
    return []


@pytest.fixture
def new_page(
    browser: Browser, live_server: LiveServer, page_requests: list[str]
) -> Iterator[Callable[..., Page]]:
    """Open a page in a fresh browser context; keyword arguments go to ``new_context``."""
    contexts: list[BrowserContext] = []

    def open_page(**options: Any) -> Page:
        options.setdefault("base_url", live_server.url)
        options.setdefault("locale", "en-US")
        context = browser.new_context(**options)
        contexts.append(context)
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        # Belt and braces: whatever a page asks of the outside world is refused.
        context.route(lambda url: not is_local(url), lambda route: route.abort("blockedbyclient"))
        page = context.new_page()
        page.on("request", lambda request: page_requests.append(request.url))
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    return new_page()
