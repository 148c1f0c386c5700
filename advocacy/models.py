"""Import every feature's models so Alembic and the app see the whole schema."""

from .actions.models import Action, Constituent, Contact
from .admin.models import AuditEntry, User
from .campaigns.models import Campaign, CampaignVersion
from .delivery.models import OutboxMessage
from .lookup.models import (
    DirectoryState,
    District,
    Legislator,
    LookupCacheEntry,
    RosterChange,
    Vacancy,
)

__all__ = [
    "Action",
    "AuditEntry",
    "Campaign",
    "CampaignVersion",
    "Constituent",
    "Contact",
    "DirectoryState",
    "District",
    "Legislator",
    "LookupCacheEntry",
    "OutboxMessage",
    "RosterChange",
    "User",
    "Vacancy",
]
