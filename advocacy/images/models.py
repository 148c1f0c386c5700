from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ..dbtypes import UTCDateTime, utcnow
from ..extensions import db


class StoredImage(db.Model):  # type: ignore[name-defined]
    """One picture as served: its name holds a hash of the content it was made from."""

    __tablename__ = "stored_image"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)  # e.g. photo-<hex>.webp
    kind: Mapped[str] = mapped_column(String(16))  # share | photo
    content_type: Mapped[str] = mapped_column(String(40))
    width: Mapped[int]
    height: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
