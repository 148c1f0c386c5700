"""A small thread-safe, bounded, in-process memo (least recently used entries leave first).

Used for answers that are expensive to build and cheap to check: each user checks an entry
against the database before serving it (on every request, or at most
ADVOCACY_PUBLIC_CACHE_SECONDS after the last check), so a memo saves rebuilding what has not
changed without serving anything older than that.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

Value = TypeVar("Value")
clock = time.monotonic  # replaced in tests to move time on


class Memo(Generic[Value]):
    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, Value] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Value | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Value) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def pop(self, key: Hashable) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def read_recently(
    memo: Memo[tuple[float, Value]], key: Hashable, max_age: float, read: Callable[[], Value]
) -> Value:
    """``read()``, or what it returned for ``key`` less than ``max_age`` seconds ago (read
    again and remembered when older; always read when ``max_age`` is 0)."""
    if max_age <= 0:
        return read()
    now = clock()
    known = memo.get(key)
    if known is not None and now - known[0] < max_age:
        return known[1]
    value = read()
    memo.put(key, (now, value))
    return value
