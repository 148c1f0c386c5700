"""What a link to a campaign page shows when shared: Open Graph and X card tags with absolute
URLs on ADVOCACY_SITE_URL, the summary's first sentence, and the campaign's own picture (made
1200 x 630 and served from our domain) or the site's default one."""

from __future__ import annotations

import textwrap
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from advocacy.campaigns import service, shareimage
from advocacy.campaigns.service import summary_lead
from advocacy.images.views import CACHE_CONTROL
from tests.images.pictures import opened, photo_bytes
from tests.text import visible_text

SITE = "https://act.example.org"
SLUG = "oppose-buyer-immunity"


@pytest.fixture
def app_config(app_config: dict[str, object]) -> dict[str, object]:
    return {**app_config, "SITE_URL": SITE, "SITE_NAME": "Speak Up Together"}


class _Head(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.canonical: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "meta" and ("property" in values or "name" in values):
            key = values.get("property") or values["name"]
            assert key not in self.meta, f"{key} given twice"
            self.meta[key] = values.get("content", "")
        if tag == "link" and values.get("rel") == "canonical":
            self.canonical.append(values["href"])


def head_of(page: str) -> _Head:
    head = _Head()
    head.feed(page)
    return head


def campaign_file(folder: Path, slug: str, image: str, alt: str | None = None) -> None:
    alt_line = f"image_alt: {alt}\n" if alt else ""
    (folder / f"{slug}.yaml").write_text(
        textwrap.dedent(f"""\
            slug: {slug}
            title: Light the library
            summary: The library closes at dusk. Ask for lamps.
            status: live
            image: {image}
            targets:
              - type: state_legislators
                chambers: lower
            message:
              subject: Lamps
              mode: editable
              body: Dear {{{{ target.salutation }}}}, lamps please. {{{{ constituent.name }}}}
            """)
        + alt_line,
        encoding="utf-8",
    )


def test_a_campaign_without_a_picture_shows_the_site_default_card(
    client: FlaskClient, campaigns: Path
) -> None:
    response = client.get(f"/c/{SLUG}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    definition = service.published_campaign(SLUG).definition  # type: ignore[union-attr]
    head = head_of(page)
    url = f"{SITE}/c/{SLUG}"
    lead = summary_lead(definition.summary)
    assert lead and lead.endswith(".") and "\n" not in lead
    assert head.canonical == [url]
    assert head.meta == {
        "viewport": "width=device-width, initial-scale=1",
        "description": lead,
        "og:type": "website",
        "og:site_name": "Speak Up Together",
        "og:title": definition.title,
        "og:description": lead,
        "og:url": url,
        "og:image": f"{SITE}/static/img/share-default.png",
        "og:image:width": "1200",
        "og:image:height": "630",
        "og:image:alt": "Take action: write to your state legislators.",
        "twitter:card": "summary_large_image",
        "twitter:title": definition.title,
        "twitter:description": lead,
        "twitter:image": f"{SITE}/static/img/share-default.png",
        "twitter:image:alt": "Take action: write to your state legislators.",
    }
    # The default picture is really there, at the size the tags say.
    served = client.get("/static/img/share-default.png")
    assert served.status_code == 200 and served.mimetype == "image/png"
    assert opened(served.data).size == (1200, 630)
    served.close()
    # The tags add nothing a visitor reads on the page.
    text = visible_text(response)
    assert text.count(lead) == 1 and "summary_large_image" not in text


def test_a_picture_under_static_is_cropped_to_1200_by_630_and_served_from_our_domain(
    client: FlaskClient, campaigns_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    static = tmp_path / "static"
    (static / "img").mkdir(parents=True)
    (static / "img" / "lamps.jpg").write_bytes(photo_bytes((3000, 2000), exif=True))
    monkeypatch.setattr(shareimage, "static_folder", lambda: static)
    campaign_file(campaigns_dir, "light-the-library", "img/lamps.jpg", "A reading lamp")
    report = service.sync_folder(campaigns_dir)
    assert not report.problems, report.problems

    head = head_of(client.get("/c/light-the-library").get_data(as_text=True))
    image_url = head.meta["og:image"]
    assert image_url.startswith(f"{SITE}/images/share-") and image_url.endswith(".jpg")
    assert head.meta["twitter:image"] == image_url
    assert head.meta["og:image:alt"] == head.meta["twitter:image:alt"] == "A reading lamp"
    assert head.meta["description"] == "The library closes at dusk."
    assert (head.meta["og:image:width"], head.meta["og:image:height"]) == ("1200", "630")

    served = client.get(image_url.removeprefix(SITE))
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "image/jpeg"
    assert served.headers["Cache-Control"] == CACHE_CONTROL
    assert "immutable" in CACHE_CONTROL and "max-age=31536000" in CACHE_CONTROL
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    picture = opened(served.data)
    assert (picture.format, picture.size) == ("JPEG", (1200, 630))
    assert len(picture.getexif()) == 0  # the camera's make and GPS position are gone
    again = client.get(
        image_url.removeprefix(SITE), headers={"If-None-Match": served.headers["ETag"]}
    )
    assert again.status_code == 304

    # Another picture in the same file is another name: nobody is served a stale copy.
    (static / "img" / "lamps.jpg").write_bytes(photo_bytes((3000, 2000), colour="#aa3300"))
    definition = service.published_campaign("light-the-library").definition  # type: ignore[union-attr]
    renamed = shareimage.share_image(definition).name
    assert renamed is not None and renamed not in image_url


@pytest.mark.parametrize(
    "name",
    [
        "../advocacy.sqlite3",
        "..%2F..%2Fpyproject.toml",
        "share-0123456789abcdef0123456789abcdef.png",
        "photo-0123456789ABCDEF0123456789ABCDEF.webp",
        "share-0123456789abcdef0123456789abcdef.jpg",  # well formed, but no such picture
    ],
)
def test_the_image_route_serves_only_stored_pictures(client: FlaskClient, name: str) -> None:
    response = client.get(f"/images/{name}")
    assert response.status_code == 404
    text = visible_text(response)
    assert "Page not found\nWe could not find that page." in text
    assert response.mimetype == "text/html"


def test_a_missing_picture_falls_back_to_the_default_card(
    app: Flask, client: FlaskClient, campaigns_dir: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    static = tmp_path / "static"
    (static / "img").mkdir(parents=True)
    (static / "img" / "lamps.png").write_bytes(photo_bytes((1200, 630), fmt="PNG"))
    monkeypatch.setattr(shareimage, "static_folder", lambda: static)
    campaign_file(campaigns_dir, "light-the-library", "img/lamps.png")
    assert not service.sync_folder(campaigns_dir).problems
    (static / "img" / "lamps.png").unlink()  # removed after the campaign was loaded
    head = head_of(client.get("/c/light-the-library").get_data(as_text=True))
    assert head.meta["og:image"] == f"{SITE}/static/img/share-default.png"
