"""Observability tests use the action-flow fixtures: fake upstreams, directory, campaigns."""

from __future__ import annotations

from tests.actions.conftest import ready  # noqa: F401
from tests.lookup.conftest import app_config, directory, people_dir, upstream  # noqa: F401
