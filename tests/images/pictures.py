"""Pictures made on the spot for the tests (Pillow), in the formats people upload."""

from __future__ import annotations

import io

from PIL import Image


def photo_bytes(
    size: tuple[int, int] = (2400, 1600),
    fmt: str = "JPEG",
    colour: str = "#3366aa",
    exif: bool = False,
    **save: object,
) -> bytes:
    """A picture of ``size`` with a coloured block in each corner (so a crop can be seen); with
    ``exif``, camera metadata and a GPS position like a phone's photo."""
    mode = "RGBA" if fmt == "PNG" else "RGB"
    image = Image.new(mode, size, colour)
    corner = (max(size[0] // 8, 1), max(size[1] // 8, 1))
    image.paste("#ffcc00", (0, 0, *corner))
    if exif:
        data = Image.Exif()
        data[0x010F] = "PhoneMaker"  # Make
        data[0x0110] = "Phone 12"  # Model
        data[0x8825] = {1: "N", 2: (40.0, 26.0, 46.0), 3: "W", 4: (79.0, 58.0, 56.0)}  # GPS
        save["exif"] = data
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image
