"""Progress of long work, reported to whoever draws it: the engine and the domain only call back.

A ``Progress`` is called with ``(done, total)`` as work advances; ``total`` may change when more
work is found. The command line draws a bar from it (``cchc.commands.progress``); nothing under
``workflows/`` draws anything.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int, int], None]


def no_progress(done: int, total: int) -> None:
    """The progress callback that reports nowhere."""
