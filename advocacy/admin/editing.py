"""Changing campaigns from the site: create, edit, status, clone, archive, take over, and YAML
import/export. The admin pages and any command line call these; each one audits and commits.

A campaign defined by a file in the campaigns folder (``source == "file"``) is changed only by
its file, unless someone explicitly takes it over; from then on the site owns it and
``campaigns sync`` leaves it alone.
"""

from __future__ import annotations

from typing import Any

import yaml
from sqlalchemy import select

from ..campaigns.loader import Problem, parse_text
from ..campaigns.models import Campaign
from ..campaigns.schema import CampaignDefinition
from ..campaigns.service import definition_of, get_campaign, save_version
from ..campaigns.shareimage import UPLOADED, store_upload, uploaded_name
from ..dbtypes import utcnow
from ..extensions import db
from ..images.service import exists as image_exists
from . import audit

# Which status a campaign may move to from each status, and the verb for each move.
TRANSITIONS: dict[str, dict[str, str]] = {
    "draft": {"launch": "live", "close": "closed"},
    "live": {"pause": "paused", "close": "closed"},
    "paused": {"resume": "live", "close": "closed"},
    "closed": {},
}


class EditProblem(ValueError):
    """The change cannot be made; ``problems`` says why, field by field where possible."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


def _require_site_owned(campaign: Campaign) -> None:
    if campaign.source == "file":
        raise EditProblem(
            f"{campaign.slug} is defined by the file campaigns/{campaign.source_path}; edit the "
            "file, or take the campaign over in the site first"
        )


def _require_uploaded_image(definition: CampaignDefinition) -> None:
    """An ``uploaded/...`` share picture must be one the site has."""
    image = definition.image or ""
    if image.startswith(UPLOADED):
        name = uploaded_name(image)
        if name is None or not image_exists(name):
            raise EditProblem(
                f"there is no uploaded picture {image}",
                [
                    Problem(
                        "<editor>",
                        None,
                        "image",
                        f"there is no uploaded picture {image}; upload the picture again",
                    )
                ],
            )


def upload_share_image(slug: str, data: bytes) -> str:
    """Keep an uploaded share picture (1200 x 630, metadata removed) and audit it; returns the
    ``image:`` value naming it. Raises ``images.pictures.PictureProblem`` for a file that is
    not a usable picture. The campaign uses it once saved with that value."""
    value = store_upload(data)
    audit.record("campaign.image_uploaded", slug or None, {"image": value, "bytes": len(data)})
    db.session.commit()
    return value


def create_campaign(definition: CampaignDefinition, source_text: str | None = None) -> Campaign:
    _require_uploaded_image(definition)
    if get_campaign(definition.slug) is not None:
        raise EditProblem(
            f"a campaign with the slug {definition.slug!r} already exists",
            [Problem("<editor>", None, "slug", "this slug is already used by another campaign")],
        )
    campaign = Campaign(slug=definition.slug, title=definition.title, source="admin")
    db.session.add(campaign)
    save_version(campaign, definition, source_text)
    db.session.flush()
    audit.record("campaign.created", campaign.slug, {"status": definition.status})
    db.session.commit()
    return campaign


def update_campaign(
    campaign: Campaign, definition: CampaignDefinition, source_text: str | None = None
) -> bool:
    """Save ``definition`` as a new version when it differs. True if a version was made."""
    _require_site_owned(campaign)
    _require_uploaded_image(definition)
    if definition.slug != campaign.slug:
        raise EditProblem(
            "the slug cannot change (links and contacts use it); clone the campaign instead",
            [Problem("<editor>", None, "slug", "the slug of an existing campaign cannot change")],
        )
    old_status = campaign.status
    changed = save_version(campaign, definition, source_text)
    if changed:
        db.session.flush()
        version = campaign.current_version
        audit.record(
            "campaign.changed",
            campaign.slug,
            {"version": version.number if version else None},
        )
        if definition.status != old_status:
            audit.record(
                _status_action(old_status, definition.status),
                campaign.slug,
                {"from": old_status, "to": definition.status},
            )
    db.session.commit()
    return changed


STATUS_EVENTS = {
    "launch": "campaign.launched",
    "pause": "campaign.paused",
    "resume": "campaign.resumed",
    "close": "campaign.closed",
}


def _status_action(old: str, new: str) -> str:
    verb = next((v for v, target in TRANSITIONS.get(old, {}).items() if target == new), None)
    return STATUS_EVENTS.get(verb or "", "campaign.status_changed")


def change_status(campaign: Campaign, verb: str) -> str:
    """Apply a status move (launch, pause, resume, close) as a new version. Returns the status."""
    _require_site_owned(campaign)
    allowed = TRANSITIONS.get(campaign.status, {})
    if verb not in allowed:
        raise EditProblem(f"a {campaign.status} campaign cannot be told to {verb}")
    if campaign.current_version is None:
        raise EditProblem("the campaign has no content yet")
    new_status = allowed[verb]
    definition = definition_of(campaign.current_version).model_copy(update={"status": new_status})
    old_status = campaign.status
    save_version(campaign, definition, None)
    db.session.flush()
    audit.record(_status_action(old_status, new_status), campaign.slug, {"from": old_status})
    db.session.commit()
    return new_status


def _free_slug(base: str) -> str:
    taken = set(db.session.scalars(select(Campaign.slug).where(Campaign.slug.like(f"{base}%"))))
    stem = base[:70]
    candidate, number = f"{stem}-copy", 2
    while candidate in taken:
        candidate, number = f"{stem}-copy-{number}", number + 1
    return candidate


def clone_campaign(campaign: Campaign) -> Campaign:
    """A site-owned draft copy under a new slug."""
    if campaign.current_version is None:
        raise EditProblem("the campaign has no content to copy")
    original = definition_of(campaign.current_version)
    copy = original.model_copy(
        update={"slug": _free_slug(campaign.slug), "status": "draft", "title": original.title}
    )
    new = Campaign(slug=copy.slug, title=copy.title, source="admin")
    db.session.add(new)
    save_version(new, copy, None)
    db.session.flush()
    audit.record("campaign.cloned", new.slug, {"from": campaign.slug})
    db.session.commit()
    return new


def archive_campaign(campaign: Campaign) -> None:
    """Close the campaign (if it is not already) and hide it from the default admin list."""
    _require_site_owned(campaign)
    if campaign.status != "closed":
        change_status(campaign, "close")
    campaign.archived_at = utcnow()
    audit.record("campaign.archived", campaign.slug)
    db.session.commit()


def restore_campaign(campaign: Campaign) -> None:
    campaign.archived_at = None
    audit.record("campaign.restored", campaign.slug)
    db.session.commit()


def take_over(campaign: Campaign) -> None:
    """Let the site own a file-defined campaign; the file is ignored from now on."""
    if campaign.source != "file":
        return
    path, campaign.source = campaign.source_path, "admin"
    audit.record("campaign.taken_over", campaign.slug, {"file": path})
    db.session.commit()


def import_yaml(text: str, name: str = "<upload>") -> tuple[Campaign, bool]:
    """Create or update a campaign from YAML. Returns the campaign and whether it is new."""
    result = parse_text(text, name)
    if not result.ok or result.definition is None:
        raise EditProblem("the YAML has problems", result.problems)
    definition = result.definition
    campaign = get_campaign(definition.slug)
    if campaign is None:
        return create_campaign(definition, text), True
    update_campaign(campaign, definition, text)
    return campaign, False


class _BlockDumper(yaml.SafeDumper):
    """Writes multi-line text as literal blocks, so exported YAML reads like the files."""


def _represent_text(dumper: yaml.SafeDumper, value: str) -> Any:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _represent_text)


def definition_yaml(definition: CampaignDefinition) -> str:
    data = definition.model_dump(mode="json", exclude_none=True)
    return yaml.dump(data, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True, width=100)


def export_yaml(campaign: Campaign) -> str:
    """The campaign as a file: the exact text it was loaded from, when it came from text."""
    version = campaign.current_version
    if version is None:
        raise EditProblem("the campaign has no content yet")
    audit.record("campaign.exported", campaign.slug, {"version": version.number})
    db.session.commit()
    return version.source_text or definition_yaml(definition_of(version))
