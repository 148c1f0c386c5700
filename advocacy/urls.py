"""The public site's address and time zone, for links and dates shown to visitors."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from flask import current_app, has_request_context, request, url_for


def public_url(endpoint: str, **values: object) -> str:
    """An absolute URL on the public site (ADVOCACY_SITE_URL), whatever host was asked."""
    path = url_for(endpoint, **values)
    root = request.script_root if has_request_context() else ""
    if root and path.startswith(root):
        path = path[len(root) :]
    return str(current_app.config["SITE_URL"]).rstrip("/") + path


def site_zone() -> ZoneInfo:
    """ADVOCACY_TIMEZONE (checked when the app starts)."""
    return ZoneInfo(str(current_app.config.get("TIMEZONE") or "UTC"))


def day_start(now: datetime) -> datetime:
    """Midnight of ``now``'s day in ADVOCACY_TIMEZONE (an aware datetime)."""
    zone = site_zone()
    return datetime.combine(now.astimezone(zone).date(), time(), tzinfo=zone)
