"""Helpers shared by the bench scripts: the data folder, the measure record, the machine line.

The scripts run as ``python bench/<script>.py``, so this folder is on ``sys.path`` and they
import it as ``_common``.
"""

from __future__ import annotations

import os
import platform
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa


@dataclass(frozen=True)
class Measure:
    """How many things (transitions, events, lifecycles) a section did and how long it took."""

    name: str
    count: int
    seconds: float

    @property
    def per_second(self) -> float:
        """Throughput."""
        return self.count / self.seconds

    @property
    def ms_each(self) -> float:
        """Mean wall time of one, in milliseconds."""
        return 1000 * self.seconds / self.count

    def as_json(self) -> dict[str, float | int]:
        """The figures, rounded for the JSON line."""
        return {
            "count": self.count,
            "seconds": round(self.seconds, 4),
            "per_second": round(self.per_second, 1),
            "ms_each": round(self.ms_each, 4),
        }


@contextmanager
def data_folder(chosen: Path | None) -> Iterator[Path]:
    """``chosen`` (created if missing), or a temporary folder removed afterwards."""
    if chosen is not None:
        chosen.mkdir(parents=True, exist_ok=True)
        yield chosen
        return
    with tempfile.TemporaryDirectory(prefix="cchc-bench-") as folder:
        yield Path(folder)


def remove_sqlite_file(path: Path) -> None:
    """Delete a previous run's SQLite file (and its WAL and shared-memory files)."""
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def machine_info(**extra: str) -> dict[str, Any]:
    """CPU count, Python, SQLite and SQLAlchemy versions, OS, then ``extra`` (more versions)."""
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": sa.__version__,
        "platform": platform.platform(terse=True),
        **extra,
    }


def machine_line(machine: dict[str, Any]) -> str:
    """The machine as one line: ``cpus 2, python 3.11.7, …``."""
    return ", ".join(f"{k} {v}" for k, v in machine.items())
