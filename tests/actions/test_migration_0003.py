"""Migration 0003 keeps the first of repeated call logs so its unique index can be made."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from advocacy import create_app
from advocacy.extensions import db
from tests.conftest import POSTGRES_URL


@pytest.mark.skipif(bool(POSTGRES_URL), reason="runs on a private SQLite file")
def test_upgrade_removes_repeated_call_logs_then_downgrade_works(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    app = create_app({"DATABASE_URL": url, "INSTANCE_DIR": str(tmp_path)})
    with app.app_context():
        upgrade(revision="0002")
        run = lambda sql, **values: db.session.execute(sa.text(sql), values)  # noqa: E731
        run(
            "INSERT INTO campaign (id, slug, title, status, source, created_at, updated_at) "
            "VALUES (1, 'c', 'C', 'live', 'file', '2026-01-01', '2026-01-01')"
        )
        run(
            "INSERT INTO campaign_version (id, campaign_id, number, content_hash, definition, "
            "created_at) VALUES (1, 1, 1, 'h', '{}', '2026-01-01')"
        )
        run("INSERT INTO constituent (id, opt_in, created_at) VALUES (1, 0, '2026-01-01')")
        run(
            "INSERT INTO action (id, submission_key, campaign_id, campaign_version_id, "
            "constituent_id, duplicate_key, created_at) VALUES (1, 'k', 1, 1, 1, 'd', '2026-01-01')"
        )
        for contact_id, channel, target in [
            (1, "email", "p1"),
            (2, "call", "p1"),
            (3, "call", "p1"),
            (4, "call", "p2"),
            (5, "call", "p1"),
        ]:
            run(
                "INSERT INTO contact (id, action_id, campaign_id, campaign_version_id, channel, "
                "target_kind, target_id, target_name, personalised, status, created_at) VALUES "
                "(:id, 1, 1, 1, :channel, 'legislator', :target, 'N', 0, 'called', '2026-01-01')",
                id=contact_id,
                channel=channel,
                target=target,
            )
        db.session.commit()
        upgrade()
        kept = run("SELECT id FROM contact ORDER BY id").scalars().all()
        assert kept == [1, 2, 4]
        db.session.commit()
        with pytest.raises(sa.exc.IntegrityError):
            run(
                "INSERT INTO contact (action_id, campaign_id, campaign_version_id, channel, "
                "target_kind, target_id, target_name, personalised, status, created_at) VALUES "
                "(1, 1, 1, 'call', 'legislator', 'p2', 'N', 0, 'called', '2026-01-01')"
            )
        db.session.rollback()
        downgrade(revision="0002")
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("outbox")}
        assert "send_started_at" not in columns
        db.session.remove()
        db.engine.dispose()
