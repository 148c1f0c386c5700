"""The seeded tally campaign, staff of every role (from tests/admin), and helpers."""

from __future__ import annotations

import csv
import io

import pytest
from flask import Flask

from advocacy.campaigns.models import Campaign
from tests.admin.conftest import as_role, password_hash, staff  # noqa: F401
from tests.exports.data import seed


@pytest.fixture
def seeded(app: Flask) -> Campaign:
    return seed()


def parse_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
