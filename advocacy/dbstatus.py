"""Whether the database has been set up: ``is_missing_table`` tells "no migrations applied
yet" apart from other database errors, and ``needs_database`` turns it into one line for a
command instead of a traceback."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import click
from sqlalchemy.exc import OperationalError, ProgrammingError

from .extensions import db

P = ParamSpec("P")
R = TypeVar("R")
NOT_SET_UP = "the database is not set up: run `advocacy db upgrade`"


def is_missing_table(exc: OperationalError | ProgrammingError) -> bool:
    """True when ``exc`` says a table does not exist (SQLite or PostgreSQL): no migrations."""
    if getattr(exc.orig, "sqlstate", None) == "42P01":  # PostgreSQL: undefined_table
        return True
    text = str(exc.orig).lower()
    return "no such table" in text or ("relation" in text and "does not exist" in text)


def needs_database(command: Callable[P, R]) -> Callable[P, R]:
    """Decorates a command: exit 1 with NOT_SET_UP when the database has no tables yet."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except (OperationalError, ProgrammingError) as exc:
            if not is_missing_table(exc):
                raise
            db.session.rollback()
            click.echo(NOT_SET_UP, err=True)
            sys.exit(1)

    return wrapper
