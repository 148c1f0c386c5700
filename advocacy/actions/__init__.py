"""Taking action: the forms, the send, confirmation by email, calls and letters."""

from . import messages  # noqa: F401 - registers the outbox kinds of actions
