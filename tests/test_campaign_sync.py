"""`campaigns sync` loads files, versions on change, and is idempotent."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from advocacy.campaigns import service
from advocacy.campaigns.models import Campaign, CampaignVersion
from advocacy.cli import list_command, sync_command
from advocacy.extensions import db
from tests.conftest import copy_repo_campaigns


def version_count() -> int:
    return db.session.scalar(select(func.count()).select_from(CampaignVersion)) or 0


def test_sync_creates_then_changes_nothing(app: Flask, campaigns_dir: Path) -> None:
    copy_repo_campaigns(campaigns_dir)
    runner = app.test_cli_runner()
    first = runner.invoke(sync_command)
    assert first.exit_code == 0, first.output
    assert first.output.count("created") == 2
    assert version_count() == 2
    second = runner.invoke(sync_command)
    assert second.output.count("unchanged") == 2
    assert version_count() == 2


def test_changed_file_creates_a_new_version_and_keeps_the_old(
    app: Flask, campaigns_dir: Path
) -> None:
    copy_repo_campaigns(campaigns_dir)
    service.sync_folder(campaigns_dir)
    path = campaigns_dir / "oppose-buyer-immunity.yaml"
    campaign = service.get_campaign("oppose-buyer-immunity")
    assert campaign is not None and campaign.current_version is not None
    first_version_id = campaign.current_version.id

    # Formatting-only edits (a comment, blank lines) are not a new version.
    path.write_text("# edited comment\n\n" + path.read_text())
    assert service.sync_folder(campaigns_dir).unchanged == [
        "every-exploited-child-is-a-victim",
        "oppose-buyer-immunity",
    ]
    path.write_text(path.read_text().replace("status: live", "status: paused"))
    report = service.sync_folder(campaigns_dir)
    assert report.updated == ["oppose-buyer-immunity"]
    db.session.expire_all()
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == "oppose-buyer-immunity"))
    assert campaign is not None and campaign.current_version is not None
    assert campaign.current_version.number == 2
    assert campaign.status == "paused"
    old = db.session.get(CampaignVersion, first_version_id)
    assert old is not None and old.definition["status"] == "live"


def test_invalid_file_is_skipped_and_reported(app: Flask, campaigns_dir: Path) -> None:
    copy_repo_campaigns(campaigns_dir)
    (campaigns_dir / "broken.yaml").write_text("slug: broken\ntitle: [\n")
    result = app.test_cli_runner().invoke(sync_command)
    assert result.exit_code == 1
    # The unfinished value is on line 2, in the title field.
    assert "broken.yaml:2: title: YAML syntax error" in result.output
    assert version_count() == 2


def test_list_shows_status_and_version(app: Flask, campaigns_dir: Path) -> None:
    copy_repo_campaigns(campaigns_dir)
    service.sync_folder(campaigns_dir)
    output = app.test_cli_runner().invoke(list_command).output
    assert "oppose-buyer-immunity" in output and "live" in output and "v1" in output
