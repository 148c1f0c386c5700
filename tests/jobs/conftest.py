"""Job fixtures: the delivery tests' SMTP server, and a registry of test jobs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from advocacy.jobs import registry
from tests.delivery.conftest import SMTPServer, free_port, smtp_idle, smtp_server  # noqa: F401


@pytest.fixture
def scratch_jobs() -> Iterator[list[str]]:
    """Names of jobs a test registers; they are removed again afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        registry._JOBS.pop(name, None)


__all__ = ["SMTPServer", "free_port"]
