"""A progress bar for long commands: transient, on stderr, only on a terminal and never with
``--json`` (stdout stays exactly what it was). The work reports through a plain callback
(``workflows.progress.Progress``); rich is imported only when a bar is drawn."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from workflows.progress import Progress, no_progress


def wanted(as_json: bool = False) -> bool:
    """True when a bar should be drawn: stderr is a terminal and the output is not JSON."""
    return not as_json and sys.stderr.isatty()


@contextmanager
def progress_bar(description: str, *, as_json: bool = False) -> Iterator[Progress]:
    """A callback that moves a bar described by ``description`` while the block runs."""
    if not wanted(as_json):
        yield no_progress
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.progress import Progress as Bar

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Bar(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
