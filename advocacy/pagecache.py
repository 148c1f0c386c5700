"""Rendered public GET responses kept in memory, so a popular campaign page or address answer
is not rebuilt for every visitor.

One rule for every entry: it is served as it is for at most ``CHECK_SECONDS`` after the
database last confirmed it; after that, one cheap query asks whether what it was built from
(a campaign's version and status, an address's cache row and its state's roster) changed,
and it is rebuilt if so. Form posts never use it: they read what they decide on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from cachetools import LRUCache
from flask import current_app

from .i18n import language

# How late a page may show a change made by another process (a pause, a new version).
CHECK_SECONDS = 1.0
MAX_ENTRIES = 2048
clock = time.monotonic

Body = TypeVar("Body")


@dataclass
class _Entry(Generic[Body]):
    source: Hashable  # what the body was built from
    body: Body
    checked: float  # clock() when the source was last confirmed


class RenderedPages(Generic[Body]):
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: LRUCache[Hashable, _Entry[Body]] = LRUCache(max_entries)
        self._lock = threading.Lock()

    def serve(
        self,
        key: Hashable,
        source: Callable[[Hashable], Hashable],
        build: Callable[[], tuple[Hashable, Body]],
    ) -> Body:
        """The body kept for ``key`` while ``source(kept_source)`` (asked at most every
        ``CHECK_SECONDS``) still equals the source it was built from; else ``build()``, which
        returns the source it read and the body (kept unless that source is None)."""
        now = clock()
        key = (language(), key)  # a page is kept once per language it is read in
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None:
            if now - entry.checked < CHECK_SECONDS:
                return entry.body
            if source(entry.source) == entry.source:
                entry.checked = now
                return entry.body
        built_from, body = build()
        with self._lock:
            if built_from is None:
                self._entries.pop(key, None)
            else:
                self._entries[key] = _Entry(built_from, body, now)
        return body

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def rendered_pages() -> RenderedPages[object]:
    """This app's cache (one per app and process)."""
    return current_app.extensions["advocacy.rendered_pages"]  # type: ignore[no-any-return]


def init_app(app: object) -> None:
    app.extensions["advocacy.rendered_pages"] = RenderedPages()  # type: ignore[attr-defined]
