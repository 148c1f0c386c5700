"""Legislators' photos: the adapter that downloads them from the ``image`` URLs Open States
lists (legislatures' own sites and mirrors of them) and keeps a small square of each with the
site's pictures (``advocacy.images``), so pages show them from our own domain: a visitor's
browser never asks another server for anything.

Run after each directory sync (``advocacy directory sync``, ``advocacy directory photos``, the
scheduler's ``directory-refresh``). A photo is downloaded again only when its person's URL
changes; a few downloads run at once, each with timeouts and a size limit; a photo that cannot
be had is logged and skipped, and its person is shown with their initials. It never fails a
sync.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from sqlalchemy import delete, select

from ..dbtypes import utcnow
from ..extensions import db
from ..images import pictures
from ..images.models import StoredImage
from ..images.pictures import PictureProblem
from ..images.service import add, forget_unused, image_name
from .models import Legislator, LegislatorPhoto

log = logging.getLogger(__name__)

SIZE = 128  # pixels a side: shown at 48, sharp on screens of up to 2.5x density
_RECIPE = "photo 128x128 cover(0.5,0.3) webp q80"
FORMATS = ("JPEG", "PNG", "GIF", "WEBP")  # what legislatures publish
MAX_BYTES = 5 * 1024 * 1024
TIMEOUT = (5.0, 15.0)  # seconds to connect, and between two reads
DEADLINE = 60.0  # seconds for one whole download (a trickling server is dropped)
AT_ONCE = 4  # downloads in flight: a few, to be a good guest of small legislature servers
COMMIT_EVERY = 100
USER_AGENT = "advocacy-directory-sync/1 (legislator photos for a constituent action site)"


class PhotoFailed(RuntimeError):
    """One photo could not be had; the message says why."""


@dataclass
class PhotoReport:
    downloaded: int = 0  # fetched and kept now
    unchanged: int = 0  # same URL as last time: not fetched
    failed: int = 0
    removed: int = 0  # people who no longer have a photo URL, or left
    without_url: int = 0
    bytes_downloaded: int = 0
    failures: list[str] = field(default_factory=list)  # "person id: reason"

    def summary(self) -> str:
        return (
            f"photos: {self.downloaded} downloaded ({self.bytes_downloaded / 1_000_000:.1f} MB), "
            f"{self.unchanged} unchanged, {self.failed} failed, {self.without_url} without a "
            f"photo URL, {self.removed} removed"
        )


@dataclass(frozen=True)
class _Fetched:
    person_id: str
    url: str
    name: str
    picture: pictures.Picture
    size: int


def _session() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    session.max_redirects = 5
    adapter = HTTPAdapter(pool_connections=AT_ONCE, pool_maxsize=AT_ONCE)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def download(session: requests.Session, url: str) -> bytes:
    """The bytes at ``url``, or PhotoFailed (not a web address, an HTTP error, too large, too
    slow, the connection failed)."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise PhotoFailed("not a web address")
    started = time.monotonic()
    try:
        with session.get(url, timeout=TIMEOUT, stream=True) as response:
            if response.status_code != 200:
                raise PhotoFailed(f"HTTP {response.status_code}")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > MAX_BYTES:
                raise PhotoFailed(f"{int(declared):,} bytes, over the limit of {MAX_BYTES:,}")
            chunks, total = [], 0
            for chunk in response.iter_content(64 * 1024):
                total += len(chunk)
                if total > MAX_BYTES:
                    raise PhotoFailed(f"over the limit of {MAX_BYTES:,} bytes")
                if time.monotonic() - started > DEADLINE:
                    raise PhotoFailed(f"not finished within {DEADLINE:.0f} seconds")
                chunks.append(chunk)
    except requests.RequestException as exc:
        raise PhotoFailed(f"{type(exc).__name__}: {exc}") from None
    return b"".join(chunks)


def _fetch(session: requests.Session, person_id: str, url: str) -> _Fetched:
    data = download(session, url)
    try:
        picture = pictures.cover(
            data,
            (SIZE, SIZE),
            formats=FORMATS,
            encoding="WEBP",
            quality=80,
            centering=(0.5, 0.3),  # portraits: keep the face, which sits above the middle
        )
    except PictureProblem as exc:
        raise PhotoFailed(str(exc)) from None
    return _Fetched(person_id, url, image_name("photo", _RECIPE, data, "webp"), picture, len(data))


def sync_photos(
    states: Iterable[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> PhotoReport:
    """Bring the photos of these states' legislators (default: everyone's) up to date with their
    URLs in the directory; ``progress(done, total)`` after each download. Commits."""
    query = select(Legislator.id, Legislator.image)
    if states is not None:
        query = query.where(Legislator.state.in_([s.lower() for s in states]))
    people = {row.id: (row.image or "").strip() for row in db.session.execute(query)}
    known = {
        row.person_id: row
        for row in db.session.scalars(
            select(LegislatorPhoto).where(LegislatorPhoto.person_id.in_(list(people)))
        )
    }
    report = PhotoReport()
    wanted: list[tuple[str, str]] = []
    for person_id, url in people.items():
        photo = known.get(person_id)
        if not url:
            report.without_url += 1
            if photo is not None:
                db.session.delete(photo)
                report.removed += 1
        elif photo is not None and photo.source_url == url:
            report.unchanged += 1
        else:
            wanted.append((person_id, url))
    db.session.commit()

    stored = set(db.session.scalars(select(StoredImage.name).where(StoredImage.kind == "photo")))
    session = _session()
    try:
        with ThreadPoolExecutor(AT_ONCE, thread_name_prefix="photos") as pool:
            futures = {pool.submit(_fetch, session, pid, url): (pid, url) for pid, url in wanted}
            for done, future in enumerate(as_completed(futures), start=1):
                person_id, url = futures[future]
                try:
                    fetched = future.result()
                except PhotoFailed as exc:
                    report.failed += 1
                    report.failures.append(f"{person_id}: {exc}")
                    log.warning(
                        "photo of %s not downloaded from %s: %s",
                        person_id,
                        url,
                        exc,
                        extra={"upstream": "legislator_photo"},
                    )
                else:
                    _record(fetched, known.get(person_id), stored)
                    report.downloaded += 1
                    report.bytes_downloaded += fetched.size
                if done % COMMIT_EVERY == 0:
                    db.session.commit()
                if progress:
                    progress(done, len(wanted))
    finally:
        session.close()
    db.session.commit()
    report.removed += _forget_departed()
    return report


def _record(fetched: _Fetched, photo: LegislatorPhoto | None, stored: set[str]) -> None:
    if fetched.name not in stored:
        add(fetched.name, "photo", fetched.picture)
        stored.add(fetched.name)
    if photo is None:
        db.session.add(
            LegislatorPhoto(
                person_id=fetched.person_id,
                source_url=fetched.url,
                image_name=fetched.name,
                fetched_at=utcnow(),
            )
        )
    else:
        photo.source_url, photo.image_name, photo.fetched_at = fetched.url, fetched.name, utcnow()


def _forget_departed() -> int:
    """Drop the photos of people no longer in the directory, and pictures nobody uses."""
    gone = db.session.execute(
        delete(LegislatorPhoto)
        .where(LegislatorPhoto.person_id.not_in(select(Legislator.id)))
        .execution_options(synchronize_session=False)
    )
    forget_unused("photo", select(LegislatorPhoto.image_name))
    db.session.commit()
    return int(gone.rowcount or 0)  # type: ignore[attr-defined]


def photo_names(person_ids: Iterable[str]) -> dict[str, str]:
    """The stored photo of each of these people that has one, by person id."""
    ids = list(set(person_ids))
    if not ids:
        return {}
    rows = db.session.execute(
        select(LegislatorPhoto.person_id, LegislatorPhoto.image_name).where(
            LegislatorPhoto.person_id.in_(ids)
        )
    )
    return {person_id: name for person_id, name in rows}


_SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "v"}


def initials(name: str) -> str:
    """ "Avery Lindqvist" -> "AL"; the first and last words that start with a letter, leaving
    out suffixes such as Jr. and III."""
    words = [
        word
        for word in re.findall(r"[^\W\d_][\w'’.-]*", name)
        if word.lower().strip(".") not in _SUFFIXES
    ]
    if not words:
        return "?"
    first, last = words[0], words[-1]
    return (first[0] + (last[0] if len(words) > 1 else "")).upper()
