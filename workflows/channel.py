"""Through which channel the audit events being written are made: a web session, the CLI …

Kept in a module of its own, without imports, so that the CLI can name its channel before
anything heavy is loaded. ``workflows.audit.append_event`` records ``current()`` with every
event (``audit_events.channel``, part of the event's hash when set).

- the CLI: ``cli:<operating-system account>@<host>`` (``cli_channel``);
- the web application: ``web:<the first 12 hex of the session's token hash>``.
"""

from __future__ import annotations

import getpass
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

_CHANNEL: ContextVar[str | None] = ContextVar("audit_channel", default=None)

MAX_LENGTH = 200


def current() -> str | None:
    """The channel of the events written now (None: not said, e.g. a flow or a test)."""
    return _CHANNEL.get()


def enter(channel: str | None) -> Token[str | None]:
    """Events written from now on (in this context) record ``channel``; ``leave`` undoes it."""
    return _CHANNEL.set(None if channel is None else channel[:MAX_LENGTH])


def leave(token: Token[str | None]) -> None:
    """Undo the ``enter`` that returned ``token``."""
    _CHANNEL.reset(token)


@contextmanager
def using(channel: str | None) -> Iterator[None]:
    """Events written inside the block record ``channel``."""
    token = enter(channel)
    try:
        yield
    finally:
        leave(token)


def os_account() -> str:
    """The operating-system account running this process."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for the uid (a bare container)
        import os

        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


def cli_channel() -> str:
    """``cli:<os account>@<host>``."""
    return f"cli:{os_account()}@{socket.gethostname()}"
