"""Import every feature's models so Alembic and the app see the whole schema."""

from .actions.models import Action, Constituent, Contact, Digest, FollowUp, FollowUpAnswer
from .actions.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .admin.models import AuditEntry, User
from .alerts import StaffAlert
from .campaigns.models import Campaign, CampaignVersion
from .delivery.models import OutboxMessage
from .exports.models import ApiToken
from .images.models import StoredImage
from .jobs.models import JobLease
from .lookup.models import (
    DirectoryRefresh,
    DirectoryState,
    District,
    Legislator,
    LegislatorPhoto,
    LookupCacheEntry,
    RosterChange,
    Vacancy,
)

__all__ = [
    "Action",
    "ApiToken",
    "AuditEntry",
    "Campaign",
    "CampaignVersion",
    "Constituent",
    "Contact",
    "Digest",
    "DirectoryRefresh",
    "DirectoryState",
    "District",
    "FollowUp",
    "FollowUpAnswer",
    "JobLease",
    "Legislator",
    "LegislatorPhoto",
    "LookupCacheEntry",
    "OutboxMessage",
    "RosterChange",
    "StoredImage",
    "StaffAlert",
    "User",
    "Vacancy",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
