"""Keep and find the site's own pictures (see the package's docstring)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from .models import StoredImage
from .pictures import Picture

# kind-<32 hex digits>.<jpg|webp>: the only names the image route looks up.
NAME_PATTERN = r"(?:share|photo)-[0-9a-f]{32}\.(?:jpg|webp)"
_NAME = re.compile(NAME_PATTERN)


def is_image_name(text: str) -> bool:
    return _NAME.fullmatch(text) is not None


def image_name(kind: str, recipe: str, source: bytes, extension: str) -> str:
    """The name of the picture made by ``recipe`` (its size and encoding) from ``source``: a
    new source or a new recipe gives a new name, so a name's bytes never change."""
    digest = hashlib.sha256(recipe.encode("ascii") + b"\0" + source).hexdigest()
    return f"{kind}-{digest[:32]}.{extension}"


def find(name: str) -> StoredImage | None:
    if not is_image_name(name):
        return None
    return db.session.get(StoredImage, name)


def exists(name: str) -> bool:
    return db.session.scalar(select(StoredImage.name).where(StoredImage.name == name)) is not None


def add(name: str, kind: str, picture: Picture) -> None:
    """Add a picture to the session (the caller commits; the name must be new)."""
    db.session.add(
        StoredImage(
            name=name,
            kind=kind,
            content_type=picture.content_type,
            width=picture.width,
            height=picture.height,
            data=picture.data,
        )
    )


def keep(name: str, kind: str, make: Callable[[], Picture]) -> bool:
    """Store the picture ``make()`` gives under ``name`` unless it is already there (another
    process may store the same name at the same moment: the same bytes, so either wins).
    Commits. True if it was made now."""
    if exists(name):
        return False
    add(name, kind, make())
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # stored by someone else meanwhile
        return False
    return True


def forget_unused(kind: str, used: select) -> int:  # type: ignore[valid-type]
    """Delete the pictures of ``kind`` whose names ``used`` (a select of names) does not list."""
    result = db.session.execute(
        delete(StoredImage)
        .where(StoredImage.kind == kind, StoredImage.name.not_in(used))
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
