"""User accounts: the operations shared by `advocacy users ...` and the admin pages."""

from __future__ import annotations

from sqlalchemy import func, select

from ..extensions import db
from . import audit
from .auth import AccountProblem, hash_password, normalise_email
from .models import ROLES, User


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountProblem(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    return role


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.email)))


def find_user(email: str) -> User:
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise AccountProblem(f"no user with email {email.strip()!r}")
    return user


def create_user(email: str, role: str, password: str) -> User:
    """Create an active account. Commits."""
    address = normalise_email(email)
    _check_role(role)
    if db.session.scalar(select(func.count()).select_from(User).where(User.email == address)):
        raise AccountProblem(f"a user with email {address!r} already exists")
    user = User(email=address, role=role, password_hash=hash_password(password), active=True)
    db.session.add(user)
    db.session.flush()
    audit.record("user.created", address, {"role": role})
    db.session.commit()
    return user


def _last_active_admin(user: User) -> bool:
    if user.role != "admin" or not user.active:
        return False
    admins = db.session.scalar(
        select(func.count()).select_from(User).where(User.role == "admin", User.active)
    )
    return int(admins or 0) <= 1


def set_role(user: User, role: str) -> None:
    _check_role(role)
    if role == user.role:
        return
    if _last_active_admin(user):
        raise AccountProblem("the last active admin cannot lose the admin role")
    old, user.role = user.role, role
    audit.record("user.role_changed", user.email, {"from": old, "to": role})
    db.session.commit()


def set_active(user: User, active: bool) -> None:
    if active == user.active:
        return
    if not active and _last_active_admin(user):
        raise AccountProblem("the last active admin cannot be disabled")
    user.active = active
    audit.record("user.enabled" if active else "user.disabled", user.email)
    db.session.commit()
