"""Helpers for the long-running commands (`deliver --loop`, `scheduler`)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import click


@contextmanager
def stop_on_signals(stop: threading.Event, finishing: str) -> Iterator[None]:
    """SIGINT/SIGTERM set ``stop``, so the command ends after ``finishing`` (e.g. "this batch").

    Signal handlers can only be installed from the main thread; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        click.echo(f"signal {signum}: stopping after {finishing}", err=True)
        stop.set()

    previous: dict[int, Callable[[int, FrameType | None], Any] | int | None] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
