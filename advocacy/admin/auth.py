"""Accounts: password hashing (argon2id), sign-in with throttling, and role checks."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from flask import abort, redirect, request, url_for
from flask_login import current_user, login_user
from sqlalchemy import func, select

from ..dbtypes import utcnow
from ..extensions import db, login_manager
from . import audit
from .models import ROLES, AuditEntry, User

# argon2id with the library's defaults (RFC 9106's second recommended setting).
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not a real password; compared against for unknown accounts")
MIN_PASSWORD_LENGTH = 12
SIGN_IN_FAILED = "sign_in.failed"
SIGN_IN_OK = "sign_in"
SIGN_IN_REFUSED = "sign_in.throttled"
BAD_CREDENTIALS = "That email and password do not match an active account."
# Per account, whatever address the attempts come from: this many failed sign-ins within the
# window (since the account's last success) refuse it until the window has passed. Attempts
# per client address are limited by ADVOCACY_RATELIMIT_SIGNIN (advocacy/security.py).
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
THROTTLED = (
    f"Too many failed sign-ins. Please wait {FAILURE_WINDOW.seconds // 60} minutes and try again."
)

F = TypeVar("F", bound=Callable[..., Any])
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class AccountProblem(ValueError):
    """A user account change that cannot be made; the message says why."""


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountProblem(f"passwords need at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def normalise_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise AccountProblem(f"{email!r} is not a valid email address") from exc


def _password_matches(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    return user if user is not None and user.active else None


def is_throttled(email: str) -> bool:
    """MAX_FAILURES failed sign-ins for this account within the window, since its last
    success."""
    since = utcnow() - FAILURE_WINDOW
    last_success = db.session.scalar(
        select(func.max(AuditEntry.at)).where(
            AuditEntry.action == SIGN_IN_OK, AuditEntry.subject == email
        )
    )
    if last_success is not None:
        since = max(since, last_success)
    failures = db.session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(
            AuditEntry.action == SIGN_IN_FAILED,
            AuditEntry.subject == email,
            AuditEntry.at > since,
        )
    )
    return (failures or 0) >= MAX_FAILURES


def sign_in(email: str, password: str, remember: bool = False) -> tuple[User | None, str | None]:
    """Check the credentials, throttle, audit, and log the user in. Commits.

    Returns ``(user, None)`` on success or ``(None, message)``; the message is the same for an
    unknown account, a wrong password and a disabled account.
    """
    key = _CONTROL.sub("", email).strip().lower()[:320]
    if is_throttled(key):
        audit.record(SIGN_IN_REFUSED, key, actor="anonymous")
        db.session.commit()
        return None, THROTTLED
    user = db.session.scalar(select(User).where(User.email == key))
    # Verify against a dummy hash for unknown accounts so timing does not reveal them.
    matches = _password_matches(user.password_hash if user else _DUMMY_HASH, password)
    if user is None or not matches or not user.active:
        audit.record(SIGN_IN_FAILED, key, actor="anonymous")
        db.session.commit()
        return None, BAD_CREDENTIALS
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    login_user(user, remember=remember)
    audit.record(SIGN_IN_OK, key, actor=user)
    db.session.commit()
    return user, None


def role_required(role: str) -> Callable[[F], F]:
    """Views for ``role`` and above: anonymous visitors go to sign-in, others get 403."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return redirect(url_for("admin.sign_in", next=request.full_path.rstrip("?")), 303)
            if not current_user.can(role):
                abort(403)
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorator


def safe_next(target: str | None, default: str) -> str:
    """Only same-site relative paths are followed after sign-in (no open redirects)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return default
    return target
