"""The global options of one ``cchc`` invocation; light enough for ``cchc --help`` to import."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from workflows.database import Settings


@dataclass
class AppState:
    """Global options given before the sub-command."""

    data_dir: Path | None = None
    database_url: str | None = None
    organization: Path | None = None
    """``--org``: the organization file (default: ``CCHC_ORGANIZATION`` or the sample)."""
    index_set: Path | None = None
    """``--index-set``: the index set file (default: ``CCHC_INDEX_SET`` or the sample)."""
    city: Path | None = None
    """``--city``: the city file (default: ``CCHC_CITY`` or the Hải Phòng sample)."""
    tenant: str | None = None
    """``--tenant``: the ward whose organization file (from the city file) replaces ``--org``."""
    verbose: bool = False
    """``--verbose``: Prefect's own INFO lines on the terminal too (always in the log file)."""

    def settings(self) -> Settings:
        """Resolve the data folder and database URL from options, environment and defaults."""
        from cchc.settings import resolve_settings

        return resolve_settings(self.data_dir, self.database_url)


def state_of(ctx: typer.Context) -> AppState:
    """The global options of this invocation."""
    obj = ctx.find_root().obj
    return obj if isinstance(obj, AppState) else AppState()
