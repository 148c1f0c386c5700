from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from advocacy.lookup.directory import sync_states
from advocacy.lookup.openstates import BulkPeopleSource
from tests.fakes.upstream import FakeUpstreams
from tests.lookup.people import ROSTERS, write_all


@pytest.fixture
def upstream() -> Iterator[FakeUpstreams]:
    fake = FakeUpstreams().start()
    yield fake
    fake.stop()


@pytest.fixture
def app_config(app_config: dict[str, object], upstream: FakeUpstreams) -> dict[str, object]:
    return {
        **app_config,
        "CENSUS_GEOCODER_URL": upstream.base_url + "/geocoder",
        "OPENSTATES_DATA_URL": upstream.base_url + "/people/current",
        "OPENSTATES_VACANCIES_URL": upstream.base_url + "/settings.yml",
        "OPENSTATES_API_URL": upstream.base_url,
    }


@pytest.fixture
def people_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "people"
    write_all(folder)
    return folder


@pytest.fixture
def directory(app: Flask, people_dir: Path) -> Path:
    results = sync_states(BulkPeopleSource(str(people_dir)), list(ROSTERS))
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    return people_dir
