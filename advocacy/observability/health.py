"""``GET /healthz`` (the process is alive; no I/O) and ``GET /readyz`` (it can serve).

``/readyz`` answers 200 when every check passes and 503 otherwise, always with the checks::

    {"ready": false,
     "checks": {"database":   {"ok": true},
                "migrations": {"ok": true, "current": ["0004"], "head": ["0004"]},
                "directory":  {"ok": false, "states": 3, "oldest": "NH", "oldest_age_days": 20.1,
                               "max_age_days": 14, "detail": "..."},
                "outbox":     {"ok": true, "waiting": 12, "limit": 10000,
                               "oldest_age_seconds": 4.2}}}

The directory and outbox checks read the shared database, so they fail on every web host at
once: point a load balancer's health check at ``/healthz`` (or switch those two checks off with
ADVOCACY_READY_CHECK_DIRECTORY=false and ADVOCACY_READY_MAX_OUTBOX_BACKLOG=0) and use
``/readyz`` for deploys and alerts.
"""

from __future__ import annotations

import functools
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from ..dbstatus import is_missing_table
from ..dbtypes import utcnow
from ..extensions import db

blueprint = Blueprint("observability", __name__)

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


@functools.cache
def migration_heads() -> tuple[str, ...]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return tuple(sorted(ScriptDirectory.from_config(config).get_heads()))


def _no_store(response: Any) -> Any:
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/healthz")
def healthz() -> ResponseReturnValue:
    return _no_store(jsonify({"status": "ok"}))


def check_database() -> dict[str, Any]:
    db.session.execute(text("SELECT 1"))
    return {"ok": True}


class SchemaMissing(RuntimeError):
    """The database has no tables yet."""


def check_migrations() -> dict[str, Any]:
    head = list(migration_heads())
    try:
        current = sorted(
            str(row[0])
            for row in db.session.execute(text("SELECT version_num FROM alembic_version"))
        )
    except (OperationalError, ProgrammingError) as exc:
        if not is_missing_table(exc):
            raise
        db.session.rollback()
        raise SchemaMissing("the database is not set up: run `advocacy db upgrade`") from exc
    result: dict[str, Any] = {"ok": current == head, "current": current, "head": head}
    if current != head:
        result["detail"] = (
            "the database is not at the code's migration head: run `advocacy db upgrade`"
        )
    return result


def check_directory() -> dict[str, Any]:
    from ..lookup.models import DirectoryState

    max_days = int(current_app.config["DIRECTORY_MAX_AGE_DAYS"])
    if not current_app.config.get("READY_CHECK_DIRECTORY", True):
        return {"ok": True, "detail": "not checked (ADVOCACY_READY_CHECK_DIRECTORY=false)"}
    rows = db.session.execute(
        select(DirectoryState.state, DirectoryState.synced_at).order_by(DirectoryState.synced_at)
    ).all()
    if not rows:
        return {
            "ok": False,
            "states": 0,
            "max_age_days": max_days,
            "detail": "no state's roster is loaded: run `advocacy directory sync`",
        }
    state, synced_at = rows[0]
    age = utcnow() - synced_at
    result: dict[str, Any] = {
        "ok": age <= timedelta(days=max_days),
        "states": len(rows),
        "oldest": state.upper(),
        "oldest_age_days": round(age.total_seconds() / 86400, 2),
        "max_age_days": max_days,
    }
    if not result["ok"]:
        result["detail"] = (
            f"{state.upper()}'s roster is older than {max_days} days: "
            "is the scheduler running (`advocacy jobs list`)?"
        )
    return result


def check_outbox() -> dict[str, Any]:
    from ..delivery.models import OutboxMessage

    limit = int(current_app.config.get("READY_MAX_OUTBOX_BACKLOG") or 0)
    waiting, oldest = db.session.execute(
        select(func.count(), func.min(OutboxMessage.created_at)).where(
            OutboxMessage.status.in_(("pending", "sending"))
        )
    ).one()
    age = max((utcnow() - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
    result: dict[str, Any] = {
        "ok": limit <= 0 or int(waiting) <= limit,
        "waiting": int(waiting),
        "limit": limit,
        "oldest_age_seconds": round(age, 1),
    }
    if not result["ok"]:
        result["detail"] = "more messages are waiting than the limit: are the workers running?"
    return result


CHECKS = (
    ("database", check_database),
    ("migrations", check_migrations),
    ("directory", check_directory),
    ("outbox", check_outbox),
)


def readiness() -> tuple[bool, dict[str, dict[str, Any]]]:
    checks: dict[str, dict[str, Any]] = {}
    skip_reason = None
    for name, check in CHECKS:
        if skip_reason is not None:
            checks[name] = {"ok": False, "detail": f"skipped: {skip_reason}"}
            continue
        try:
            checks[name] = check()
        except SchemaMissing as exc:
            checks[name] = {"ok": False, "current": [], "detail": str(exc)}
            skip_reason = "the database is not set up"
        except Exception as exc:
            db.session.rollback()
            checks[name] = {"ok": False, "detail": f"{type(exc).__name__}"}
            if name == "database":
                skip_reason = "the database is not reachable"
    try:
        db.session.rollback()  # end the read transaction
    except Exception:  # noqa: S110 - the checks above already said what failed
        pass
    return all(c["ok"] for c in checks.values()), checks


@blueprint.get("/readyz")
def readyz() -> ResponseReturnValue:
    ready, checks = readiness()
    response = jsonify({"ready": ready, "checks": checks})
    response.status_code = 200 if ready else 503
    return _no_store(response)
