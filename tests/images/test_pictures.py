"""Pillow at arm's length: what a picture becomes, and what is refused before decoding."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from advocacy.images import default_card
from advocacy.images.pictures import MAX_PIXELS, PictureProblem, cover, inspect
from tests.conftest import REPO
from tests.images.pictures import opened, photo_bytes


def test_cover_makes_the_exact_size_without_metadata() -> None:
    source = photo_bytes((3000, 2000), exif=True)
    assert opened(source).getexif().get(0x010F) == "PhoneMaker"  # the source has EXIF
    picture = cover(source, (1200, 630))
    image = opened(picture.data)
    assert (image.format, image.size, image.mode) == ("JPEG", (1200, 630), "RGB")
    assert (picture.width, picture.height, picture.content_type) == (1200, 630, "image/jpeg")
    assert len(image.getexif()) == 0
    assert "exif" not in image.info and "icc_profile" not in image.info


def test_cover_turns_a_photo_upright_by_its_orientation() -> None:
    # Stored landscape, tagged "rotate 90° clockwise to view" (orientation 6): portrait.
    source = photo_bytes((800, 400), exif=True)
    image = opened(source)
    exif = image.getexif()
    exif[0x0112] = 6
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    picture = cover(out.getvalue(), (100, 200))
    result = opened(picture.data)
    assert result.size == (100, 200)
    # The yellow corner, top-left when stored, is top-right once turned upright.
    assert result.getpixel((95, 5))[2] < 100 and result.getpixel((5, 5))[2] > 100


def test_transparent_parts_become_white_and_webp_is_made() -> None:
    image = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    picture = cover(out.getvalue(), (128, 128), encoding="WEBP", quality=80)
    result = opened(picture.data)
    assert (result.format, result.size) == ("WEBP", (128, 128))
    assert min(result.convert("RGB").getpixel((64, 64))) > 240


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"<?php echo 'hello'; ?>", "the file is not a JPEG, PNG or WebP picture"),
        (b"GIF89a" + b"\0" * 40, "the file is not a JPEG, PNG or WebP picture"),
    ],
)
def test_what_is_not_a_picture_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(PictureProblem, match=message):
        inspect(data)


def png_claiming(width: int, height: int) -> bytes:
    """A PNG header that claims a size, with no pixels after it."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    pixels = zlib.compress(b"\0" * 64)
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def test_a_decompression_bomb_is_refused_before_decoding() -> None:
    # 48 million pixels of a few kilobytes: over our limit, under Pillow's own warning.
    bomb = photo_bytes((8000, 6000), fmt="PNG", colour="#000000", optimize=True)
    assert len(bomb) < 500_000 and 8000 * 6000 > MAX_PIXELS
    with pytest.raises(PictureProblem, match="8000 × 6000 pixels; at most 40 million"):
        cover(bomb, (1200, 630))
    # A header claiming 10 billion pixels: Pillow refuses it as it opens it.
    with pytest.raises(PictureProblem, match="claims far more pixels; at most 40 million"):
        inspect(png_claiming(100_000, 100_000))


def test_a_truncated_picture_is_refused() -> None:
    whole = photo_bytes((1000, 800), quality=95)
    with pytest.raises(PictureProblem, match="cannot be read"):
        cover(whole[: len(whole) // 2], (1200, 630))


def test_the_default_card_is_a_1200_by_630_png_made_by_its_script() -> None:
    with Image.open(REPO / "static" / "img" / "share-default.png") as committed:
        assert (committed.format, committed.size) == ("PNG", (1200, 630))
    assert default_card.draw().size == (1200, 630)
