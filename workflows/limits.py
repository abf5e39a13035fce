"""Limits on what a command reads: one place, each overridable by an environment variable.

Every reader checks a file against these before parsing or while reading, and a file past a
limit becomes one problem (``CCHC-L…``) instead of a long wait, a huge row or a traceback.
The values are read when asked for (not at import), so a test or a deployment can set them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from workflows.errors import Problem

ENV = {
    "file_bytes": "CCHC_MAX_FILE_BYTES",
    "rows": "CCHC_MAX_ROWS",
    "plan_tasks": "CCHC_MAX_PLAN_TASKS",
    "problems_shown": "CCHC_MAX_PROBLEMS_SHOWN",
    "yaml_depth": "CCHC_MAX_YAML_DEPTH",
    "yaml_nodes": "CCHC_MAX_YAML_NODES",
}
"""Limit → the environment variable that overrides it (documented in docs/limits.md)."""

TOO_LARGE = "CCHC-L001"
TOO_DEEP = "CCHC-L002"
TOO_MANY_VALUES = "CCHC-L003"
TOO_MANY_ROWS = "CCHC-L004"
TOO_MANY_TASKS = "CCHC-L005"


@dataclass(frozen=True)
class Limits:
    """The limits in force (defaults far above any real ward's files)."""

    file_bytes: int = 10 * 1024 * 1024
    """Any data file read (YAML, CSV, XLSX): refused before parsing when larger."""
    rows: int = 50_000
    """Data rows of a CSV or XLSX file (metrics, plan tasks)."""
    plan_tasks: int = 2_000
    """Tasks of one plan (a ward's yearly plan has a few dozen)."""
    problems_shown: int = 50
    """Problems printed by a check; the rest are counted."""
    yaml_depth: int = 64
    """Nesting of mappings and lists in a YAML file (the deepest shipped file has 10)."""
    yaml_nodes: int = 100_000
    """Values in a YAML file once its aliases are expanded (a definition has a few hundred)."""


def limits() -> Limits:
    """The limits in force: the defaults, each replaced by its environment variable when set."""
    values: dict[str, int] = {}
    for name, variable in ENV.items():
        raw = os.environ.get(variable, "").strip()
        if not raw:
            continue
        try:
            value = int(raw.replace("_", ""))
        except ValueError:
            raise ValueError(f"{variable}={raw!r} is not a whole number") from None
        if value < 1:
            raise ValueError(f"{variable}={raw!r} must be 1 or more")
        values[name] = value
    return Limits(**values)


class FileTooLargeError(OSError):
    """A file is larger than ``Limits.file_bytes``; it was not read."""

    code = TOO_LARGE

    def __init__(self, path: Path, size: int, limit: int) -> None:
        self.path, self.size, self.limit = path, size, limit
        super().__init__(
            f"the file is {size:,} bytes, above the limit of {limit:,} bytes "
            f"({ENV['file_bytes']}); it was not read"
        )


def too_many_rows(name: str, limit: int, line: int) -> Problem:
    """The problem for a table with more than ``limit`` data rows, at the first row past it
    (``line``, where reading stopped)."""
    return Problem(name, line, TOO_MANY_ROWS, f"more than {limit:,} data rows; reading stopped "
                   "here", f"split the file, or raise the limit with {ENV['rows']}")  # fmt: skip


def check_size(path: Path) -> None:
    """Raise ``FileTooLargeError`` when ``path`` is above the file size limit (OSError if
    it cannot be read at all)."""
    limit = limits().file_bytes
    size = path.stat().st_size
    if size > limit:
        raise FileTooLargeError(path, size, limit)


def read_text(path: Path) -> str:
    """``path`` as UTF-8 text, refused before reading when above the file size limit."""
    check_size(path)
    return path.read_text(encoding="utf-8")
