from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from advocacy.campaigns import service as campaign_service
from tests.conftest import copy_repo_campaigns
from tests.lookup.conftest import app_config, directory, people_dir, upstream  # noqa: F401


@pytest.fixture
def campaigns(app: Flask, campaigns_dir: Path) -> Path:
    copy_repo_campaigns(campaigns_dir)
    campaign_service.sync_folder(campaigns_dir)
    return campaigns_dir
