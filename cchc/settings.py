"""Where CCHC reads its ``CCHC_*`` environment variables: the data folder, the database URL
and the limits on what a command reads. The engine (``workflows``) is given the values.

Light to import (no SQLAlchemy): ``cchc`` installs ``limits_from_environment`` as the source of
the engine's limits when it is imported.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from workflows.limits import Limits

if TYPE_CHECKING:
    from workflows.database import Settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = Path("var")
SQLITE_FILE = "cchc.sqlite3"

ENV = MappingProxyType(
    {
        "file_bytes": "CCHC_MAX_FILE_BYTES",
        "rows": "CCHC_MAX_ROWS",
        "plan_tasks": "CCHC_MAX_PLAN_TASKS",
        "problems_shown": "CCHC_MAX_PROBLEMS_SHOWN",
        "yaml_depth": "CCHC_MAX_YAML_DEPTH",
        "yaml_nodes": "CCHC_MAX_YAML_NODES",
    }
)
"""Limit → the environment variable that overrides it (documented in docs/limits.md)."""


def limits_from_environment() -> Limits:
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
    return Limits(**values, settings=ENV)


def evidence_max_bytes(default: int) -> int:
    """The largest evidence file the store accepts: ``CCHC_MAX_FILE_BYTES`` when it is set (the
    one setting for file sizes), else ``default`` (the store's own, 20 MiB)."""
    if not os.environ.get(ENV["file_bytes"], "").strip():
        return default
    return limits_from_environment().file_bytes


def sqlite_url(data_dir: Path) -> str:
    """The SQLite URL of the database file in ``data_dir``."""
    return f"sqlite:///{data_dir / SQLITE_FILE}"


def resolve_settings(data_dir: Path | None = None, database_url: str | None = None) -> Settings:
    """Data dir: ``--data-dir``, ``CCHC_DATA_DIR`` or ``./var``; URL: ``--database-url``,
    ``CCHC_DATABASE_URL`` or SQLite in the data dir."""
    from workflows.database import Settings, normalise_url  # sqlalchemy: only when needed

    folder = data_dir or Path(os.environ.get("CCHC_DATA_DIR") or DEFAULT_DATA_DIR)
    url = database_url or os.environ.get("CCHC_DATABASE_URL") or sqlite_url(folder)
    return Settings(data_dir=folder, database_url=normalise_url(url))


PREFECT_UI_ENV = "CCHC_PREFECT_UI_URL"
DEFAULT_PREFECT_UI_URL = "http://127.0.0.1:4200"


def prefect_ui_url() -> str:
    """``CCHC_PREFECT_UI_URL``: the Prefect UI's address (flow runs and schedules), default
    ``http://127.0.0.1:4200``; the administrator's pages link to it."""
    return (os.environ.get(PREFECT_UI_ENV) or "").strip() or DEFAULT_PREFECT_UI_URL


def definitions_dir() -> Path:
    """``CCHC_DEFINITIONS_DIR``, or the project's ``definitions/`` folder."""
    return Path(os.environ.get("CCHC_DEFINITIONS_DIR") or PROJECT_ROOT / "definitions")
