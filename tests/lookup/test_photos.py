"""Legislators' photos: downloaded at directory sync from their Open States ``image`` URLs (a
fake legislature web server here), kept as small squares, fetched again only when the URL
changes, failures skipped; served from our own domain and shown with the person's name, or
their initials when there is no photo."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from advocacy.extensions import db
from advocacy.images.models import StoredImage
from advocacy.images.views import CACHE_CONTROL
from advocacy.lookup import photos
from advocacy.lookup.cli import directory_group
from advocacy.lookup.directory import sync_states
from advocacy.lookup.openstates import BulkPeopleSource
from advocacy.lookup.photos import initials, sync_photos
from tests.actions.helpers import ADDRESS, nh
from tests.fakes.upstream import FakeUpstreams
from tests.images.pictures import opened, photo_bytes
from tests.lookup.people import ROSTERS, write_state
from tests.lookup.photo_helpers import (
    ADA,
    BEN,
    SAM,
    load_nh,
    photo_of,
    photo_url,
    pictures_on,
)
from tests.text import visible_text


def stored_photos() -> int:
    return db.session.scalar(
        select(func.count()).select_from(StoredImage).where(StoredImage.kind == "photo")
    ) or 0


@pytest.fixture
def with_photos(directory: Path, upstream: FakeUpstreams) -> dict[str, str]:
    """Sam's photo is a big JPEG from a phone (with GPS), Ada's a PNG; Ben has none."""
    urls = {
        SAM.name: upstream.add_photo("/legislature/photos/sam.jpg", photo_bytes(exif=True)),
        ADA.name: upstream.add_photo(
            "/legislature/photos/ada.png", photo_bytes((600, 800), fmt="PNG"), "image/png"
        ),
    }
    load_nh(directory, urls)
    return urls


def test_photos_are_downloaded_made_small_and_served_from_our_domain(
    client: FlaskClient, with_photos: dict[str, str], upstream: FakeUpstreams
) -> None:
    report = sync_photos(["nh"])
    assert (report.downloaded, report.failed, report.unchanged) == (2, 0, 0)
    assert report.without_url == len(ROSTERS["nh"]) - 2
    assert report.bytes_downloaded == sum(len(upstream.extra[p][2]) for p in upstream.extra)
    sam = photo_of(SAM)
    assert sam is not None and sam.source_url == with_photos[SAM.name]
    assert sam.image_name.startswith("photo-") and sam.image_name.endswith(".webp")
    assert photo_of(BEN) is None

    served = client.get(f"/images/{sam.image_name}")
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "image/webp"
    assert served.headers["Cache-Control"] == CACHE_CONTROL
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    picture = opened(served.data)
    assert (picture.format, picture.size) == ("WEBP", (128, 128))
    assert len(picture.getexif()) == 0


def test_an_unchanged_photo_is_not_downloaded_again_and_a_changed_one_is(
    with_photos: dict[str, str], upstream: FakeUpstreams, directory: Path
) -> None:
    sync_photos(["nh"])
    first = photo_of(SAM)
    assert first is not None
    old_name = first.image_name
    asked = len(upstream.photo_requests())

    again = sync_photos(["nh"])
    assert (again.downloaded, again.unchanged) == (0, 2)
    assert len(upstream.photo_requests()) == asked  # nothing was asked of the legislature

    # Sam has a new portrait at a new address.
    new_url = upstream.add_photo("/legislature/photos/sam-2027.jpg", photo_bytes(colour="#aa3300"))
    load_nh(directory, {**with_photos, SAM.name: new_url})
    changed = sync_photos(["nh"])
    assert (changed.downloaded, changed.unchanged) == (1, 1)
    assert upstream.photo_requests()[asked:] == ["/legislature/photos/sam-2027.jpg"]
    now = photo_of(SAM)
    assert now is not None and now.source_url == new_url and now.image_name != old_name
    assert db.session.get(StoredImage, old_name) is None  # nobody shows the old one
    assert stored_photos() == 2


def test_a_photo_url_removed_or_a_person_gone_takes_their_photo_away(
    with_photos: dict[str, str], directory: Path
) -> None:
    sync_photos(["nh"])
    assert stored_photos() == 2
    load_nh(directory, {SAM.name: with_photos[SAM.name]})  # Ada's URL is gone
    report = sync_photos(["nh"])
    assert report.removed == 1 and photo_of(ADA) is None and stored_photos() == 1
    successor = replace(SAM, given="Zed", family="Zinnia")  # Sam left; Zed holds the seat
    rows = [successor if r == SAM else r for r in ROSTERS["nh"]]
    write_state(directory, "nh", rows)
    assert all(r.ok for r in sync_states(BulkPeopleSource(str(directory)), ["nh"]))
    sync_photos(["nh"])
    assert photo_of(SAM) is None and stored_photos() == 0


def test_photos_that_cannot_be_had_are_logged_and_skipped(
    app: Flask, directory: Path, upstream: FakeUpstreams, caplog: pytest.LogCaptureFixture
) -> None:
    upstream.extra["/legislature/gone.jpg"] = (404, "text/html", b"<h1>Not Found</h1>")
    upstream.extra["/legislature/page.jpg"] = (200, "text/html", b"<html>Member page</html>")
    huge = b"\xff\xd8\xff" + b"\0" * (photos.MAX_BYTES + 10)
    rows = {
        SAM.name: upstream.base_url + "/legislature/gone.jpg",
        ADA.name: upstream.base_url + "/legislature/page.jpg",
        BEN.name: upstream.add_photo("/legislature/huge.jpg", huge),
        "Cy Cedar": "ftp://legislature.example.gov/cy.jpg",
        "Di Dogwood": "http://127.0.0.1:9/closed-port.jpg",
        "Ed Elm": upstream.add_photo("/legislature/ed.jpg", photo_bytes((300, 400))),
    }
    load_nh(directory, rows)
    with caplog.at_level(logging.WARNING, logger="advocacy.lookup.photos"):
        report = sync_photos(["nh"])
    assert (report.downloaded, report.failed) == (1, 5)
    reasons = dict(failure.split(": ", 1) for failure in report.failures)
    by_name = {row.name: row.person_id for row in ROSTERS["nh"]}
    assert reasons[by_name[SAM.name]] == "HTTP 404"
    assert reasons[by_name[ADA.name]] == "the file is not a JPEG, PNG, GIF or WebP picture"
    assert reasons[by_name[BEN.name]] == f"{len(huge):,} bytes, over the limit of 5,242,880"
    assert reasons[by_name["Cy Cedar"]] == "not a web address"
    assert reasons[by_name["Di Dogwood"]].startswith("ConnectionError")
    assert photo_of(ROSTERS["nh"][5]) is not None  # Ed's photo came through
    assert len([r for r in caplog.records if "not downloaded" in r.getMessage()]) == 5


def test_a_server_that_does_not_answer_in_time_is_skipped(
    app: Flask, directory: Path, upstream: FakeUpstreams, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_nh(directory, {SAM.name: upstream.add_photo("/legislature/slow.jpg", photo_bytes())})
    monkeypatch.setattr(photos, "TIMEOUT", (1.0, 0.2))
    upstream.mode, upstream.slow_seconds = "slow", 1.0
    report = sync_photos(["nh"])
    assert report.failed == 1 and "ReadTimeout" in report.failures[0]


def test_directory_sync_downloads_photos_unless_told_not_to(
    app: Flask, with_photos: dict[str, str], upstream: FakeUpstreams, directory: Path
) -> None:
    runner = app.test_cli_runner()
    skipped = runner.invoke(
        directory_group, ["sync", "--state", "nh", "--source", str(directory), "--no-photos"]
    )
    assert skipped.exit_code == 0, skipped.output
    assert "photos:" not in skipped.output and upstream.photo_requests() == []

    synced = runner.invoke(directory_group, ["sync", "--state", "nh", "--source", str(directory)])
    assert synced.exit_code == 0, synced.output
    assert "photos: 2 downloaded (" in synced.output
    assert f"0 failed, {len(ROSTERS['nh']) - 2} without a photo URL, 0 removed" in synced.output

    alone = runner.invoke(directory_group, ["photos", "--state", "nh"])
    assert alone.exit_code == 0 and "photos: 0 downloaded (0.0 MB), 2 unchanged" in alone.output
    wrong = runner.invoke(directory_group, ["photos", "--state", "zz"])
    assert wrong.exit_code == 2 and "not a state we cover: zz" in wrong.output


def test_the_scheduled_refresh_downloads_photos(
    app: Flask, with_photos: dict[str, str], directory: Path
) -> None:
    from advocacy.jobs.builtin import directory_refresh

    app.config["OPENSTATES_DATA_URL"] = str(directory)
    detail = directory_refresh(None)  # type: ignore[arg-type]
    assert "photos: 2 downloaded" in detail and photo_of(SAM) is not None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Avery Lindqvist", "AL"),
        ("Morgan", "M"),
        ("J. Ross Smith Jr.", "JS"),
        ("Mary Ann O'Neil III", "MO"),
        ("José Ñúñez", "JÑ"),
        ("", "?"),
    ],
)
def test_initials(name: str, expected: str) -> None:
    assert initials(name) == expected


def test_the_find_page_shows_photos_with_names_and_initials_without(
    client: FlaskClient, with_photos: dict[str, str], upstream: FakeUpstreams
) -> None:
    sync_photos(["nh"])
    upstream.add_address(ADDRESS, nh())
    response = client.get("/find", query_string={"address": ADDRESS})
    assert response.status_code == 200
    found = pictures_on(response.get_data(as_text=True))
    assert set(found.images) == {(photo_url(SAM), SAM.name), (photo_url(ADA), ADA.name)}
    # Ben Birch (Hillsborough 23) and the floterial Hillsborough 40's members have no photo.
    assert found.initials == ["BB", "CC", "DD", "EE"]
    text = visible_text(response)
    for row in (SAM, ADA, BEN):
        assert f"{row.name} (Independent) {row.given.lower()}@leg.example.gov" in text
    assert "BB" not in text.split()  # the circle is decoration: the name is beside it
    assert "Vacant seat" in text  # Hillsborough 40's empty seat is still said


def test_the_state_page_shows_a_photo_or_initials_for_everyone(
    client: FlaskClient, with_photos: dict[str, str]
) -> None:
    sync_photos(["nh"])
    response = client.get("/find/nh")
    found = pictures_on(response.get_data(as_text=True))
    assert sorted(alt for _, alt in found.images) == [ADA.name, SAM.name]
    assert all(src.startswith("/images/photo-") for src, _ in found.images)
    assert sorted(found.initials) == ["BB", "CC", "DD", "EE"]
    text = visible_text(response)
    assert "Ada Alder (Independent) ada@leg.example.gov" in text
    assert "Cy Cedar (Independent) cy@leg.example.gov" in text
