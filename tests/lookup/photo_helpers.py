"""What the photo tests share: New Hampshire reloaded with photo URLs, and the photos and
initials a page shows."""

from __future__ import annotations

from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

from advocacy.extensions import db
from advocacy.lookup.directory import sync_states
from advocacy.lookup.models import LegislatorPhoto
from advocacy.lookup.openstates import BulkPeopleSource
from tests.lookup.people import ROSTERS, Row, write_state

# Sam Senator (upper 15) and Ada Alder and Ben Birch (Hillsborough 23) represent ADDRESS.
SAM, ADA, BEN = ROSTERS["nh"][0], ROSTERS["nh"][1], ROSTERS["nh"][2]


def load_nh(people_dir: Path, images: dict[str, str]) -> None:
    """Reload New Hampshire with these photo URLs (by person name)."""
    rows = [replace(row, image=images.get(row.name, "")) for row in ROSTERS["nh"]]
    write_state(people_dir, "nh", rows)
    results = sync_states(BulkPeopleSource(str(people_dir)), ["nh"])
    assert all(r.ok for r in results)


def photo_of(row: Row) -> LegislatorPhoto | None:
    db.session.expire_all()
    return db.session.get(LegislatorPhoto, row.person_id)


def photo_url(row: Row) -> str:
    photo = photo_of(row)
    assert photo is not None, f"{row.name} has no photo"
    return f"/images/{photo.image_name}"


class _Pictures(HTMLParser):
    """Each photo (src, alt) and each initials circle's text, in page order."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[tuple[str, str]] = []
        self.initials: list[str] = []
        self._in_initials = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "img":
            self.images.append((values.get("src") or "", values.get("alt") or ""))
        self._in_initials = tag == "span" and values.get("class") == "person-initials"

    def handle_data(self, data: str) -> None:
        if self._in_initials:
            self.initials.append(data)
            self._in_initials = False


def pictures_on(page: str) -> _Pictures:
    found = _Pictures()
    found.feed(page)
    return found
