"""A campaign's share picture: the one social networks show beside a link to its page.

The ``image:`` field names either a PNG, JPEG or WebP file under ``static/`` (e.g.
``img/campaign.jpg``) or a picture uploaded in the admin editor (``uploaded/share-<hash>.jpg``,
the name the editor writes into the field). Either way the picture served is a 1200 x 630 JPEG
made from it (covered and cropped, no metadata), kept with the site's pictures
(``advocacy.images``) under a name that changes whenever its source does. A campaign without a
picture, or whose picture cannot be had, shows the site's default card.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from ..config import project_root
from ..images import pictures
from ..images.pictures import PictureProblem
from ..images.service import exists, image_name, keep
from .schema import CampaignDefinition

log = logging.getLogger(__name__)

SIZE = (1200, 630)  # what Facebook, X, Bluesky and WhatsApp show in a large card
_RECIPE = "share 1200x630 cover jpeg q85"
UPLOADED = "uploaded/"
_UPLOADED = re.compile(r"uploaded/(share-[0-9a-f]{32}\.jpg)")
MAX_BYTES = 5 * 1024 * 1024  # an uploaded picture or a file under static/
# The site's own card, used when a campaign has no picture (static/img/share-default.png,
# drawn by advocacy/images/default_card.py).
DEFAULT_FILE = "img/share-default.png"
DEFAULT_ALT = "Take action: write to your state legislators."


class ImageProblem(ValueError):
    """An ``image:`` value that cannot be used; the message says why."""


def static_folder() -> Path:
    return project_root() / "static"


def _static_bytes(value: str) -> bytes:
    root = static_folder().resolve()
    path = (root / value).resolve()
    if not path.is_relative_to(root):
        raise ImageProblem("must name a file under static/")
    if not path.is_file():
        raise ImageProblem(f"no such file under static/: {value}")
    if path.stat().st_size > MAX_BYTES:
        raise ImageProblem(f"static/{value} is larger than {MAX_BYTES // (1024 * 1024)} MB")
    return path.read_bytes()


def image_problem(value: str) -> str | None:
    """What is wrong with an ``image:`` value as far as the files tell (an uploaded picture's
    presence in the database is checked when a campaign is saved in the site); None if fine."""
    if value.startswith(UPLOADED):
        if _UPLOADED.fullmatch(value) is None:
            return "an uploaded picture's name is uploaded/share-<32 hex digits>.jpg"
        return None
    try:
        pictures.inspect(_static_bytes(value))
    except ImageProblem as exc:
        return str(exc)
    except PictureProblem as exc:
        return f"static/{value}: {exc}"
    return None


def uploaded_name(value: str | None) -> str | None:
    """The stored picture an ``uploaded/...`` value names, else None."""
    match = _UPLOADED.fullmatch(value or "")
    return match.group(1) if match else None


def store_upload(data: bytes) -> str:
    """Check an uploaded file, make its share picture and keep it; returns the ``image:`` value
    that names it. PictureProblem (with a reason for a person) when it is not usable."""
    if len(data) > MAX_BYTES:
        raise PictureProblem(
            f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB; please make it smaller"
        )
    pictures.inspect(data)  # a clear refusal before any decoding
    name = image_name("share", _RECIPE, data, "jpg")
    keep(name, "share", lambda: pictures.cover(data, SIZE))
    return UPLOADED + name


@dataclass(frozen=True)
class ShareImage:
    name: str | None  # a stored picture (``images.image``); None: the site's default card
    width: int
    height: int
    alt: str


def share_image(definition: CampaignDefinition) -> ShareImage:
    """The campaign's share picture, made and kept the first time it is asked for."""
    name = stored_name(definition.image) if definition.image else None
    if name is None:
        return ShareImage(None, *SIZE, DEFAULT_ALT)
    return ShareImage(name, *SIZE, definition.image_alt or definition.title)


def stored_name(value: str) -> str | None:
    """The stored picture an ``image:`` value stands for, made now if need be; None (logged)
    when it cannot be had."""
    if value.startswith(UPLOADED):
        name = uploaded_name(value)
        if name is not None and exists(name):
            return name
        log.warning("share picture %s is not among the uploaded pictures; default shown", value)
        return None
    try:
        data = _static_bytes(value)
        name = image_name("share", _RECIPE, data, "jpg")
        keep(name, "share", lambda: pictures.cover(data, SIZE))
    except (ImageProblem, PictureProblem) as exc:
        log.warning("share picture %s cannot be used (%s); default shown", value, exc)
        return None
    return name
