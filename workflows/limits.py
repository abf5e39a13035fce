"""Limits on what a command reads: one place, the values given by the application.

Every reader checks a file against these before parsing or while reading, and a file past a
limit becomes one problem (``CCHC-L…``) instead of a long wait, a huge row or a traceback.
The values are asked for when a file is read (not at import): the application installs where
they come from (``use_limits``, e.g. its environment variables), so a test or a deployment can
change them. Without one, the defaults apply.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from workflows.errors import Problem

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
    settings: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({}), compare=False, repr=False
    )
    """Limit → the setting that changes it, as the application names it (an environment
    variable, say); hints name it. A limit without one is named by its field."""

    def setting(self, name: str) -> str:
        """What changes limit ``name``: the application's setting, or the field's name."""
        return self.settings.get(name, name)


_SOURCE: list[Callable[[], Limits]] = [Limits]


def use_limits(source: Callable[[], Limits]) -> None:
    """Where the limits in force come from from now on (called on every read of a file)."""
    _SOURCE[0] = source


def limits() -> Limits:
    """The limits in force: those of the installed source (``use_limits``), else the defaults."""
    return _SOURCE[0]()


class FileTooLargeError(OSError):
    """A file is larger than ``Limits.file_bytes``; it was not read."""

    code = TOO_LARGE

    def __init__(self, path: Path, size: int, limit: int) -> None:
        self.path, self.size, self.limit = path, size, limit
        super().__init__(
            f"the file is {size:,} bytes, above the limit of {limit:,} bytes "
            f"({limits().setting('file_bytes')}); it was not read"
        )


def too_many_rows(name: str, limit: int, line: int) -> Problem:
    """The problem for a table with more than ``limit`` data rows, at the first row past it
    (``line``, where reading stopped)."""
    hint = f"split the file, or raise the limit with {limits().setting('rows')}"
    return Problem(
        name, line, TOO_MANY_ROWS, f"more than {limit:,} data rows; reading stopped here", hint
    )


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
