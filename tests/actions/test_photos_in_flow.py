"""Legislators' photos in the action flow: one per legislator on the message page and in the
thank-you page's call list, from our own domain, with the person's name as its text; initials
when there is no photo; none for a fixed recipient such as an organisation."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient

from advocacy.lookup.photos import sync_photos
from tests.actions.helpers import start, submission_key
from tests.fakes.upstream import FakeUpstreams
from tests.images.pictures import photo_bytes
from tests.lookup.photo_helpers import ADA, load_nh, photo_url, pictures_on
from tests.text import visible_text

LOWER = "oppose-buyer-immunity"  # Hillsborough 23 and 40's five members, and ALI by post


def test_message_and_thank_you_pages_show_photos_or_initials(
    ready: FlaskClient, upstream: FakeUpstreams, directory: Path
) -> None:
    load_nh(directory, {ADA.name: upstream.add_photo("/legislature/ada.jpg", photo_bytes())})
    sync_photos(["nh"])

    page = start(ready, LOWER)
    found = pictures_on(page)
    assert found.images == [(photo_url(ADA), "Ada Alder")]
    assert sorted(found.initials) == ["BB", "CC", "DD", "EE"]  # ALI gets neither
    text = visible_text(ready.get(f"/c/{LOWER}/write"))
    assert "Ada Alder (Independent), House, district Hillsborough 23. Sent by email." in text
    assert "EE" not in text.split()

    response = ready.post(f"/c/{LOWER}/send", data={"submission_key": submission_key(page)})
    thanks = ready.get(response.headers["Location"])
    found = pictures_on(thanks.get_data(as_text=True))
    assert found.images == [(photo_url(ADA), "Ada Alder")]
    assert sorted(found.initials) == ["BB", "CC", "DD", "EE"]
    said = visible_text(thanks)
    assert "Ada Alder: 555-0100" in said and "I called Ada Alder" in said
    assert "The American Law Institute" in said
