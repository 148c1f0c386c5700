"""API tokens for partners' dashboards: created and revoked by staff, shown once, stored only as
a SHA-256 hash. A token acts for its owner (who must still be an active staff member) and, when
it has a campaign, only for that campaign."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from ..admin import audit
from ..admin.models import User
from ..campaigns.models import Campaign
from ..dbtypes import utcnow
from ..extensions import db
from .models import ApiToken

TOKEN_PREFIX = "adv_"  # noqa: S105 - a marker, not a secret
PREFIX_LENGTH = 12  # "adv_" and 8 characters of the secret: enough to tell tokens apart
LAST_USED_RESOLUTION = timedelta(minutes=1)  # at most one write per token and minute
MAX_NAME = 100


class TokenProblem(ValueError):
    """A token change that cannot be made; the message says why."""


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # shown to its owner once, never stored


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(owner: User, name: str, campaign: Campaign | None) -> NewToken:
    """Make a token for ``owner`` (all campaigns, or only ``campaign``). Audited; commits."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise TokenProblem("Token names cannot contain control characters.")
    name = " ".join(name.split())
    if not name:
        raise TokenProblem("Give the token a name, e.g. the partner who will use it.")
    if len(name) > MAX_NAME:
        raise TokenProblem(f"Token names have at most {MAX_NAME} characters.")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=owner.id,
        name=name,
        token_hash=hash_secret(secret),
        prefix=secret[:PREFIX_LENGTH],
        campaign_id=campaign.id if campaign else None,
        created_at=utcnow(),
    )
    db.session.add(token)
    db.session.flush()
    audit.record(
        "api_token.created",
        f"{token.prefix}… {name}",
        {
            "token_id": token.id,
            "owner": owner.email,
            "campaign": campaign.slug if campaign else None,
        },
    )
    db.session.commit()
    return NewToken(token=token, secret=secret)


def visible_tokens(user: User) -> list[ApiToken]:
    """The user's own tokens; an admin sees everyone's. Newest first."""
    query = select(ApiToken).order_by(ApiToken.id.desc())
    if not user.can("admin"):
        query = query.where(ApiToken.user_id == user.id)
    return list(db.session.scalars(query))


def manageable_token(user: User, token_id: int) -> ApiToken | None:
    token = db.session.get(ApiToken, token_id)
    if token is None or (token.user_id != user.id and not user.can("admin")):
        return None
    return token


def revoke_token(token: ApiToken) -> bool:
    """Revoke ``token`` (False when it already was). Audited; commits."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    audit.record("api_token.revoked", f"{token.prefix}… {token.name}", {"token_id": token.id})
    db.session.commit()
    return True


@dataclass(frozen=True)
class Bearer:
    token: ApiToken
    owner: User

    def may_read(self, campaign: Campaign) -> bool:
        return self.token.campaign_id is None or self.token.campaign_id == campaign.id


def authenticate(secret: str) -> Bearer | None:
    """The live token for ``secret``: not revoked, its owner active and staff. Records use."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_secret(secret)))
    if token is None or token.revoked_at is not None:
        return None
    owner = db.session.get(User, token.user_id)
    if owner is None or not owner.active or not owner.can("organizer"):
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
        db.session.commit()
    return Bearer(token=token, owner=owner)


def campaign_names() -> dict[int, str]:
    return dict(db.session.execute(select(Campaign.id, Campaign.slug)).tuples().all())


def owner_emails() -> dict[int, str]:
    return dict(db.session.execute(select(User.id, User.email)).tuples().all())
