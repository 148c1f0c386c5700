"""Pillow at arm's length: read a picture we did not make, refuse what is not one, and make a
new, metadata-free picture of a given size from its pixels."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

# A picture larger than this many pixels is refused before it is decoded (a small file can
# claim an enormous size: a decompression bomb). 40 million covers any camera's photo.
MAX_PIXELS = 40_000_000
# What a campaign's share picture may be (uploads and files under static/).
SHARE_FORMATS = ("JPEG", "PNG", "WEBP")
FORMAT_NAMES = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP", "GIF": "GIF"}
_ENCODINGS = {"JPEG": ("image/jpeg", "jpg"), "WEBP": ("image/webp", "webp")}


class PictureProblem(ValueError):
    """The bytes are not a picture we accept; the message says why, for a person."""


@dataclass(frozen=True)
class Picture:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


def _formats_text(formats: tuple[str, ...]) -> str:
    names = [FORMAT_NAMES.get(f, f) for f in formats]
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]


def _opened(data: bytes, formats: tuple[str, ...]) -> Image.Image:
    """The picture's header read (pixels not yet decoded), or PictureProblem."""
    if not data:
        raise PictureProblem("the file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(formats))
    except UnidentifiedImageError:
        raise PictureProblem(f"the file is not a {_formats_text(formats)} picture") from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise PictureProblem(_too_many_pixels("the picture claims far more pixels")) from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise PictureProblem(f"the picture cannot be read ({exc})") from None
    width, height = image.size
    if width < 1 or height < 1 or width * height > MAX_PIXELS:
        image.close()
        raise PictureProblem(_too_many_pixels(f"the picture is {width} × {height} pixels"))
    return image


def _too_many_pixels(said: str) -> str:
    return f"{said}; at most {MAX_PIXELS // 1_000_000} million pixels are accepted"


def inspect(data: bytes, formats: tuple[str, ...] = SHARE_FORMATS) -> tuple[str, int, int]:
    """The picture's format, width and height, from its header (nothing decoded)."""
    with _opened(data, formats) as image:
        return str(image.format), image.width, image.height


def _on_white(image: Image.Image) -> Image.Image:
    """RGB pixels; transparent parts become white (JPEG has no transparency)."""
    if image.mode in ("RGBA", "LA", "PA") or image.has_transparency_data:
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def cover(
    data: bytes,
    size: tuple[int, int],
    *,
    formats: tuple[str, ...] = SHARE_FORMATS,
    encoding: str = "JPEG",
    quality: int = 85,
    centering: tuple[float, float] = (0.5, 0.5),
) -> Picture:
    """A new picture of exactly ``size``, filled by the source scaled to cover it and cropped
    around ``centering``. Turned upright by its EXIF orientation; no metadata is kept (EXIF,
    GPS, comments, colour profiles): only pixels go into the new file."""
    side = max(size)
    with _opened(data, formats) as image:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                # JPEG decodes at 1/2, 1/4 or 1/8 scale when that still covers the size.
                image.draft("RGB", (side, side))
                upright = ImageOps.exif_transpose(image)
                pixels = _on_white(upright)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombWarning) as exc:
            raise PictureProblem(f"the picture cannot be read ({exc})") from None
    fitted = ImageOps.fit(pixels, size, Image.Resampling.LANCZOS, centering=centering)
    content_type, extension = _ENCODINGS[encoding]
    out = io.BytesIO()
    if encoding == "JPEG":
        fitted.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
    else:
        fitted.save(out, encoding, quality=quality, method=4)
    return Picture(out.getvalue(), content_type, extension, *size)
