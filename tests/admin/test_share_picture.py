"""The share picture in the campaign editor: an upload is checked, cropped and kept (never
trusting its name), audited, and used by the public page once saved; bad files get a clear
message beside the field and change nothing."""

from __future__ import annotations

import html
import io
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from advocacy.admin.models import AuditEntry
from advocacy.campaigns import service as campaign_service
from advocacy.extensions import db
from advocacy.images.models import StoredImage
from tests.admin.test_editor import NEW, campaign, error_beside
from tests.images.pictures import opened, photo_bytes
from tests.text import visible_text

EDIT = "/admin/c/fund-safe-homes/edit"


def post(client: FlaskClient, path: str, upload: tuple[bytes, str] | None, **changes: str) -> Any:
    """The editor's form as a browser sends it (multipart), with ``upload`` as (bytes, name).

    The body is made in memory: the test client spools a large one to a file it leaves open."""
    data: dict[str, Any] = {**NEW, **changes}
    if upload is not None:
        data["image_upload"] = FileStorage(io.BytesIO(upload[0]), upload[1], "image_upload")
    boundary, body = encode_multipart(MultiDict(data))
    return client.post(
        path, data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


@pytest.fixture
def manager(as_role) -> FlaskClient:  # type: ignore[no-untyped-def]
    client: FlaskClient = as_role("manager")
    assert post(client, "/admin/campaigns/new", None, status="live", save="1").status_code == 303
    return client


def versions() -> int:
    found = campaign("fund-safe-homes").current_version
    return found.number if found else 0


def test_the_editor_explains_the_share_card(manager: FlaskClient) -> None:
    text = visible_text(manager.get(EDIT))
    part = text[text.index("Share card") : text.index("Preview\n")]
    assert part.splitlines() == [
        "Share card",
        "What social networks show beside a link to the campaign page: the title, the "
        "summary's first sentence and this picture.",
        "No share picture chosen: links show the site's default picture.",
        "Share picture (optional)",
        "Shown beside links to the campaign on social networks: a PNG, JPEG or WebP file "
        "under static/ (e.g. img/campaign.jpg), or the name an upload below puts here. "
        "Empty: the site's default picture.",
        "Upload a share picture",
        "PNG, JPEG or WebP, up to 5 MB. It is cropped to 1200 × 630 pixels, the size social "
        "networks show, and takes effect when you save the campaign.",
        "What the share picture shows (optional)",
        "For people who cannot see it. Empty: the campaign's title.",
    ]


def test_an_upload_is_cropped_kept_audited_and_used_by_the_public_page(
    app: Flask, manager: FlaskClient
) -> None:
    # A photo straight from a phone: EXIF with a GPS position, a hostile file name.
    upload = (photo_bytes((2000, 2000), exif=True), "../../instance/secret_key.png")
    response = post(manager, EDIT, upload, status="live", image_alt="Beds in a shelter", save="1")
    assert response.status_code == 303, visible_text(response)
    definition = campaign_service.definition_of(campaign("fund-safe-homes").current_version)
    assert definition.image is not None
    assert re.fullmatch(r"uploaded/share-[0-9a-f]{32}\.jpg", definition.image)
    assert definition.image_alt == "Beds in a shelter"
    name = definition.image.removeprefix("uploaded/")
    [entry] = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "campaign.image_uploaded")
    )
    assert (entry.actor, entry.subject) == ("manager@example.org", "fund-safe-homes")
    assert entry.detail == {"image": definition.image, "bytes": len(upload[0])}

    page = manager.get("/c/fund-safe-homes").get_data(as_text=True)
    assert f'<meta property="og:image" content="http://127.0.0.1:5000/images/{name}">' in page
    assert '<meta property="og:image:alt" content="Beds in a shelter">' in page
    served = manager.get(f"/images/{name}")
    assert served.headers["Content-Type"] == "image/jpeg"
    picture = opened(served.data)
    assert (picture.format, picture.size) == ("JPEG", (1200, 630))
    assert len(picture.getexif()) == 0

    # The editor now shows the picture, with alternative text.
    editor = manager.get(EDIT).get_data(as_text=True)
    assert (
        f'<img src="/images/{name}" alt="The share picture as it will be shown" '
        'width="600" height="315">'
    ) in editor
    assert "The share picture, cropped to 1200 × 630 pixels." in visible_text(manager.get(EDIT))


BAD_UPLOADS = [
    ((b"just some text, not a picture\n", "notes.png"), "the file is not a JPEG, PNG or WebP "
     "picture"),
    ((b"GIF89a" + b"\0" * 100, "anim.gif"), "the file is not a JPEG, PNG or WebP picture"),
    ((photo_bytes((8000, 6000), fmt="PNG", optimize=True), "huge.png"),
     "the picture is 8000 × 6000 pixels; at most 40 million pixels are accepted"),
    ((b"\xff\xd8\xff" + b"\0" * (5 * 1024 * 1024), "big.jpg"),
     "the file is larger than 5 MB; please make it smaller"),
]


@pytest.mark.parametrize(("upload", "reason"), BAD_UPLOADS)
def test_a_bad_upload_is_refused_beside_the_field_and_changes_nothing(
    manager: FlaskClient, upload: tuple[bytes, str], reason: str
) -> None:
    before = versions()
    response = post(manager, EDIT, upload, status="live", title="Changed title", save="1")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert error_beside(page, "image_upload") == f"This picture cannot be used: {reason}."
    assert "Changed title" in page  # the rest of the form is kept as typed
    assert versions() == before
    assert db.session.scalar(select(func.count()).select_from(StoredImage)) == 0


def test_a_body_over_the_request_limit_gets_a_clear_page(manager: FlaskClient) -> None:
    response = post(manager, EDIT, (b"\0" * (9 * 1024 * 1024), "enormous.jpg"), save="1")
    assert response.status_code == 413
    text = visible_text(response)
    assert (
        "Nothing was saved: what you sent is larger than this site accepts (8 MB at most). "
        "A share picture may be up to 5 MB; please choose a smaller file."
    ) in text


def test_preview_keeps_the_upload_for_the_save_that_follows(manager: FlaskClient) -> None:
    response = post(manager, EDIT, (photo_bytes((1600, 900), fmt="WEBP"), "x.webp"), preview="1")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    value = re.search(r'name="image" type="text" value="(uploaded/share-[0-9a-f]{32}\.jpg)"', page)
    assert value, "the uploaded picture's name is in the form"
    assert "Picture uploaded. Save the campaign to use it." in visible_text(response)
    assert versions() == 1
    assert post(manager, EDIT, None, image=value.group(1), save="1").status_code == 303
    assert versions() == 2


def test_an_uploaded_name_the_site_does_not_have_is_refused(manager: FlaskClient) -> None:
    response = post(manager, EDIT, None, image="uploaded/share-" + "a" * 32 + ".jpg", save="1")
    assert response.status_code == 409
    assert error_beside(response.get_data(as_text=True), "image") == (
        "there is no uploaded picture uploaded/share-" + "a" * 32 + ".jpg; upload the "
        "picture again"
    )


def test_a_file_defined_campaign_takes_no_upload(as_role, campaigns: object) -> None:  # type: ignore[no-untyped-def]
    client = as_role("manager")
    path = "/admin/c/oppose-buyer-immunity/edit"
    text = visible_text(client.get(path))
    assert "Share picture (optional)" in text and "Upload a share picture" not in text
    response = post(client, path, (photo_bytes((900, 500)), "a.jpg"), preview="1")
    assert response.status_code == 400
    assert html.unescape(error_beside(response.get_data(as_text=True), "image")) == (
        "This campaign is defined by its file: put the picture under static/ and name it in "
        "the file's image: field."
    )
    assert db.session.scalar(select(func.count()).select_from(StoredImage)) == 0


def test_the_upload_form_keeps_its_csrf_token(other_app, staff: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    from tests.admin.conftest import PASSWORD

    with other_app(WTF_CSRF_ENABLED=True) as guarded:
        client = guarded.test_client()
        page = client.get("/admin/sign-in").get_data(as_text=True)
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        client.post(
            "/admin/sign-in",
            data={"email": staff["manager"], "password": PASSWORD, "csrf_token": token},
        )
        editor = client.get("/admin/campaigns/new").get_data(as_text=True)
        assert 'enctype="multipart/form-data"' in editor and 'name="csrf_token"' in editor
        upload = (photo_bytes((900, 500)), "a.jpg")
        response = post(client, "/admin/campaigns/new", upload, save="1")
        assert response.status_code == 400  # no token: refused before anything is read
        assert "expired" in visible_text(response)
        assert db.session.scalar(select(func.count()).select_from(StoredImage)) == 0
