"""The outbox worker draining N queued email contacts into a local SMTP sink.

N constituents, actions, contacts and outbox rows are written straight into a fresh, migrated
database (as the send step would leave them: status queued/pending, due now, the outbox rows
by ``outbox.queue``), then ``advocacy deliver --once`` runs as its own process in ``smtp`` mode
against an aiosmtpd sink on 127.0.0.1, which counts every Message-ID it receives. Exactly N
distinct ones, each once, all of them the seeded ones, and every outbox row ``sent``: none
lost, none duplicated.
"""

from __future__ import annotations

import re
import resource
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from .servers import MAIL_FROM, SMTPSink, run_cli

CHUNK = 2_000
SUMMARY = re.compile(r"claimed (\d+): sent (\d+)")


def seed(database_url: str, instance: Path, count: int, slug: str = "bench-outbox") -> list[str]:
    """``count`` queued email contacts with their outbox rows; returns their Message-IDs."""
    from advocacy import create_app
    from advocacy.actions.models import Action, Constituent, Contact
    from advocacy.campaigns.models import Campaign, CampaignVersion
    from advocacy.dbtypes import utcnow
    from advocacy.delivery import outbox
    from advocacy.extensions import db
    from advocacy.lookup.models import Legislator

    app = create_app(
        {
            "DATABASE_URL": database_url,
            "INSTANCE_DIR": str(instance),
            "SECRET_KEY": "bench",
            "MAIL_FROM": MAIL_FROM,
        }
    )
    message_ids: list[str] = []
    with app.app_context():
        campaign = Campaign(slug=slug, title="Outbox benchmark", status="live", source="admin")
        db.session.add(campaign)
        db.session.flush()
        version = CampaignVersion(
            campaign_id=campaign.id, number=1, content_hash="0" * 64, definition={"slug": slug}
        )
        db.session.add(version)
        db.session.flush()
        campaign.current_version_id = version.id
        now = utcnow()
        for first in range(0, count, CHUNK):
            numbers = range(first, min(first + CHUNK, count))
            # Each recipient holds a seat today, so the worker sends rather than holds.
            db.session.execute(
                sa.insert(Legislator),
                [
                    {
                        "id": f"ocd-person/{slug}-{i}",
                        "state": "nh",
                        "chamber": "lower",
                        "district": "Merrimack 12",
                        "name": f"Number{i}",
                        "email": f"rep{i}@legislature.example.gov",
                    }
                    for i in numbers
                ],
            )
            people = db.session.scalars(
                sa.insert(Constituent).returning(Constituent.id, sort_by_parameter_order=True),
                [
                    {
                        "name": f"Voter {i}",
                        "email": f"voter{i}@example.org",
                        "state": "NH",
                        "city": "CONCORD",
                        "zip_code": "03301",
                        "opt_in": False,
                        "created_at": now,
                    }
                    for i in numbers
                ],
            ).all()
            actions = db.session.scalars(
                sa.insert(Action).returning(Action.id, sort_by_parameter_order=True),
                [
                    {
                        "submission_key": uuid.uuid4().hex,
                        "campaign_id": campaign.id,
                        "campaign_version_id": version.id,
                        "constituent_id": person,
                        "duplicate_key": uuid.uuid4().hex,
                        "state": "NH",
                        "created_at": now,
                    }
                    for person in people
                ],
            ).all()
            contacts = db.session.scalars(
                sa.insert(Contact).returning(Contact.id, sort_by_parameter_order=True),
                [
                    {
                        "action_id": action,
                        "campaign_id": campaign.id,
                        "campaign_version_id": version.id,
                        "channel": "email",
                        "target_kind": "legislator",
                        "target_id": f"ocd-person/{slug}-{i}",
                        "target_name": f"Representative Number{i}",
                        "target_email": f"rep{i}@legislature.example.gov",
                        "target_state": "NH",
                        "target_chamber": "lower",
                        "target_district": "Merrimack 12",
                        "subject": "Protect every exploited child in New Hampshire",
                        "body": f"Dear Representative Number{i},\n\nPlease protect every child.\n\n"
                        f"Voter {i}\n",
                        "personalised": False,
                        "status": "queued",
                        "created_at": now,
                    }
                    for i, action in zip(numbers, actions, strict=True)
                ],
            ).all()
            for contact_id in contacts:
                message_ids.append(outbox.queue("contact", contact_id=contact_id).message_id)
            db.session.flush()
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return message_ids


def _outbox_statuses(database_url: str) -> dict[str, int]:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT status, count(*) FROM outbox GROUP BY 1"))
            return {str(status): int(n) for status, n in rows}
    finally:
        engine.dispose()


def run(database_url: str, env: dict[str, str], workdir: Path, count: int) -> dict[str, Any]:
    from advocacy.delivery.worker import DEFAULT_BATCH

    began = time.perf_counter()
    expected = seed(database_url, workdir / "instance-seed", count)
    seeded_seconds = time.perf_counter() - began
    sink = SMTPSink().start()
    log = workdir / "deliver.log"
    try:
        deliver_env = {
            **env,
            "ADVOCACY_DELIVERY_MODE": "smtp",
            "ADVOCACY_SMTP_URL": f"smtp://127.0.0.1:{sink.port}",
        }
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        # Bounded: far beyond what the goal allows (200 messages/s), never forever.
        seconds = run_cli(["deliver", "--once"], deliver_env, log, timeout=60 + count / 20)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        sink.stop()
    received = sink.handler.ids
    summary = SUMMARY.findall(log.read_text(encoding="utf-8", errors="replace"))
    statuses = _outbox_statuses(database_url)
    expected_set = set(expected)
    duplicated = sum(n - 1 for n in received.values() if n > 1)
    lost = len(expected_set - set(received))
    unexpected = len(set(received) - expected_set) + sink.handler.without_id
    worker_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    handler = sink.handler
    drain = (handler.last - handler.first) if handler.first and handler.last else 0.0
    return {
        "messages": count,
        "seed_seconds": round(seeded_seconds, 2),
        "seconds": round(seconds, 3),
        "messages_per_s": round(count / seconds, 1) if seconds else 0.0,
        # From the first message at the sink to the last: without the worker's start-up.
        "drain_seconds": round(drain, 3),
        "drain_messages_per_s": round((count - 1) / drain, 1) if drain > 0 else 0.0,
        # CPU time of the worker process (start-up included): near ``seconds`` means it is
        # busy computing; far below, it waits (database commits, SMTP answers, other load).
        "worker_cpu_seconds": round(worker_cpu, 3),
        "worker_cpu_ms_per_message": round(worker_cpu * 1000 / count, 3) if count else 0.0,
        "received": sink.handler.messages,
        "unique_message_ids": len(received),
        "lost": lost,
        "duplicated": duplicated,
        "unexpected": unexpected,
        "outbox": statuses,
        "worker_summary": summary[-1] if summary else None,
        "batch": DEFAULT_BATCH,
        "ok": lost == 0 and duplicated == 0 and unexpected == 0 and statuses == {"sent": count},
    }
