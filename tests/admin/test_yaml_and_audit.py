"""YAML export/import round trips with the campaigns/ files, and the audit log."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from advocacy.admin import audit, editing
from advocacy.admin.models import AuditEntry
from advocacy.campaigns import service as campaign_service
from advocacy.campaigns.loader import content_hash, parse_text
from advocacy.campaigns.models import Campaign
from advocacy.extensions import db
from tests.admin.test_auth import post_sign_in
from tests.admin.test_editor import save
from tests.conftest import REPO

REPO_FILES = sorted((REPO / "campaigns").glob("*.yaml"))


def actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


@pytest.mark.parametrize("path", REPO_FILES, ids=lambda p: p.stem)
def test_export_of_a_file_campaign_is_the_file_itself(
    as_role, campaigns: Path, path: Path  # type: ignore[no-untyped-def]
) -> None:
    client = as_role("manager")
    response = client.get(f"/admin/c/{path.stem}/export.yaml")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f'attachment; filename="{path.stem}.yaml"'
    assert response.get_data(as_text=True) == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", REPO_FILES, ids=lambda p: p.stem)
def test_generated_yaml_round_trips_without_loss(path: Path) -> None:
    original = parse_text(path.read_text(encoding="utf-8"), str(path))
    assert original.definition is not None
    written = editing.definition_yaml(original.definition)
    again = parse_text(written, "exported.yaml")
    assert again.ok, again.problems
    assert again.definition == original.definition
    assert content_hash(again.definition) == content_hash(original.definition)
    assert "body: |" in written  # multi-line text stays readable


def test_import_creates_then_versions_and_export_returns_it(
    as_role, app: Flask  # type: ignore[no-untyped-def]
) -> None:
    client = as_role("manager")
    text = REPO_FILES[0].read_text(encoding="utf-8").replace(
        f"slug: {REPO_FILES[0].stem}", "slug: imported-campaign"
    )
    response = client.post("/admin/campaigns/import", data={"yaml_text": text})
    assert response.status_code == 303
    imported = db.session.scalar(select(Campaign).where(Campaign.slug == "imported-campaign"))
    assert imported is not None and imported.source == "admin"
    assert client.get("/admin/c/imported-campaign/export.yaml").get_data(as_text=True) == text
    # The same text again changes nothing; a real change is a new version.
    client.post("/admin/campaigns/import", data={"yaml_text": text})
    db.session.expire_all()
    assert imported.current_version.number == 1  # type: ignore[union-attr]
    client.post(
        "/admin/campaigns/import",
        data={"yaml_text": text.replace("status: live", "status: paused")},
    )
    db.session.expire_all()
    assert imported.current_version.number == 2  # type: ignore[union-attr]
    assert imported.status == "paused"


def test_an_edited_campaign_exports_yaml_that_imports_to_the_same_content(
    as_role,  # type: ignore[no-untyped-def]
) -> None:
    client = as_role("manager")
    save(client, "/admin/campaigns/new", **{"fixed-0-id": "board", "fixed-0-name": "The Board",
                                            "fixed-0-postal_address": "1 Main St, Town"})
    text = client.get("/admin/c/fund-safe-homes/export.yaml").get_data(as_text=True)
    exported = parse_text(text, "export.yaml")
    assert exported.ok, exported.problems
    stored = db.session.scalar(select(Campaign).where(Campaign.slug == "fund-safe-homes"))
    assert stored is not None and stored.current_version is not None
    assert content_hash(exported.definition) == stored.current_version.content_hash  # type: ignore[arg-type]


def test_bad_yaml_is_refused_with_its_line(as_role) -> None:  # type: ignore[no-untyped-def]
    client = as_role("manager")
    response = client.post(
        "/admin/campaigns/import", data={"yaml_text": "slug: x\ntitle: [unclosed\n"}
    )
    assert response.status_code == 400
    assert "&lt;upload&gt;:" in response.get_data(as_text=True)
    response = client.post("/admin/campaigns/import", data={"yaml_text": "   "})
    assert response.status_code == 400


def test_importing_over_a_file_campaign_is_refused(
    as_role, campaigns: Path  # type: ignore[no-untyped-def]
) -> None:
    client = as_role("manager")
    text = (campaigns / "oppose-buyer-immunity.yaml").read_text(encoding="utf-8")
    paused = text.replace("status: live", "status: paused")
    response = client.post("/admin/campaigns/import", data={"yaml_text": paused})
    assert response.status_code == 400
    assert "defined by the file" in response.get_data(as_text=True)


def test_staff_actions_are_audited(
    app: Flask, as_role, staff: dict[str, str], campaigns: Path  # type: ignore[no-untyped-def]
) -> None:
    assert post_sign_in(app.test_client(), staff["manager"], "wrong").status_code == 401
    manager = as_role("manager")
    save(manager, "/admin/campaigns/new")
    save(manager, "/admin/c/fund-safe-homes/edit", title="Changed title")
    manager.post("/admin/c/fund-safe-homes/status", data={"verb": "launch"})
    manager.post("/admin/c/fund-safe-homes/status", data={"verb": "pause"})
    manager.get("/admin/c/fund-safe-homes/export.yaml")
    admin = as_role("admin")
    admin.post("/admin/users", data={"email": "new@example.org", "role": "organizer",
                                      "password": "a long enough password"})
    new_id = db.session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1))
    assert new_id is not None
    recorded = actions()
    for expected in ("sign_in.failed", "sign_in", "campaign.created", "campaign.changed",
                     "campaign.launched", "campaign.paused", "campaign.exported",
                     "user.created"):
        assert expected in recorded, expected
    entry = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "campaign.launched")
    )
    assert entry is not None
    assert entry.actor == staff["manager"] and entry.subject == "fund-safe-homes"
    page = admin.get("/admin/audit").get_data(as_text=True)
    assert "campaign.launched" in page and staff["manager"] in page


def test_the_audit_log_cannot_be_changed_or_deleted(app: Flask) -> None:
    entry = audit.record("test.event", "something", actor="cli")
    db.session.commit()
    entry.action = "tampered"
    with pytest.raises(audit.AuditLogIsAppendOnly):
        db.session.commit()
    db.session.rollback()
    stored = db.session.get(AuditEntry, entry.id)
    assert stored is not None
    db.session.delete(stored)
    with pytest.raises(audit.AuditLogIsAppendOnly):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(AuditEntry, entry.id) is not None
    assert campaign_service.list_campaigns() == []
