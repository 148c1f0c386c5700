from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from tests.actions.helpers import ADDRESS, nh
from tests.fakes.upstream import FakeUpstreams
from tests.lookup.conftest import app_config, directory, people_dir, upstream  # noqa: F401


@pytest.fixture
def ready(
    client: FlaskClient,
    upstream: FakeUpstreams,  # noqa: F811 - the fixture imported above
    directory: Path,  # noqa: F811
    campaigns: Path,
) -> FlaskClient:
    """A client, the repository's campaigns, the test directory and one NH address."""
    upstream.add_address(ADDRESS, nh())
    return client
