"""What every log line of the current request (or job run) carries: its correlation id."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# The request id of the request being handled, or "job:NAME/TOKEN" inside a scheduled job.
correlation_id: ContextVar[str | None] = ContextVar("advocacy_correlation_id", default=None)

# A caller's X-Request-ID is kept when it is short and plain (a proxy's or load balancer's
# id); anything else (too long, spaces, control characters) is replaced by our own.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")


def sane_request_id(value: str | None) -> str | None:
    if value and _SANE_REQUEST_ID.fullmatch(value):
        return value
    return None


def new_request_id() -> str:
    return uuid.uuid4().hex


def current_id() -> str | None:
    return correlation_id.get()


@contextmanager
def bound(value: str) -> Iterator[None]:
    """Log lines inside the block carry ``value`` as their request id."""
    token = correlation_id.set(value)
    try:
        yield
    finally:
        correlation_id.reset(token)
