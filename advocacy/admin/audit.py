"""The audit log: who did what, when. Entries are added in the caller's transaction and the
application refuses to change or delete them."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from ..extensions import db
from .models import AuditEntry, User


class AuditLogIsAppendOnly(RuntimeError):
    """Something tried to change or delete an audit entry."""


@event.listens_for(Session, "before_flush")
def _refuse_audit_changes(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEntry) and (obj in session.deleted or session.is_modified(obj)):
            raise AuditLogIsAppendOnly("audit entries cannot be changed or deleted")


def client_ip() -> str | None:
    return request.remote_addr if has_request_context() else None


def record(
    action: str,
    subject: str | None = None,
    detail: dict[str, Any] | None = None,
    *,
    actor: User | str | None = None,
) -> AuditEntry:
    """Add an audit entry to the session (committed with the change it describes).

    ``actor`` defaults to the signed-in user, else "cli" outside a request, else "anonymous".
    """
    if actor is None:
        if has_request_context() and current_user.is_authenticated:
            actor = current_user._get_current_object()  # type: ignore[attr-defined]
        else:
            actor = "anonymous" if has_request_context() else "cli"
    entry = AuditEntry(
        actor_id=actor.id if isinstance(actor, User) else None,
        actor=actor.email if isinstance(actor, User) else str(actor),
        action=action,
        subject=(subject or None) and subject[:300],
        detail=detail or {},
        ip=client_ip(),
    )
    db.session.add(entry)
    return entry


def recent_entries(
    limit: int = 100, before_id: int | None = None, action: str | None = None
) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    if action:
        query = query.where(AuditEntry.action == action)
    return list(db.session.scalars(query))
