"""Taking action: the forms, the send, confirmation by email, calls and letters."""

from . import digests, messages  # noqa: F401 - register the outbox kinds of actions
