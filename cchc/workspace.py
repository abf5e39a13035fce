"""Everything a CCHC command needs, opened once: database, engine, organization, index set.

The organization and index set files default to the samples in ``definitions/`` and can be
chosen with ``CCHC_ORGANIZATION`` / ``CCHC_INDEX_SET`` (or the CLI's ``--org`` /
``--index-set``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine as SqlEngine
from sqlalchemy.orm import Session, sessionmaker

from cchc.evidence_store import EvidenceStore
from cchc.indexset.loader import load_index_set
from cchc.indexset.models import IndexSet
from cchc.organization import Organization, load_organization
from cchc.runtime import definitions_dir, make_workflow_engine
from workflows.canonical import utcnow
from workflows.database import Settings, make_engine, missing_sqlite_file, session_factory
from workflows.engine import Engine
from workflows.migrations import SchemaOutdatedError, require_current
from workflows.registry import Actor


def default_organization() -> Path:
    """``CCHC_ORGANIZATION`` or the Phù Liễn sample."""
    return Path(os.environ.get("CCHC_ORGANIZATION")
                or definitions_dir() / "organizations" / "phu-lien.yaml")  # fmt: skip


def default_index_set() -> Path:
    """``CCHC_INDEX_SET`` or the 2025 ward sample."""
    return Path(os.environ.get("CCHC_INDEX_SET")
                or definitions_dir() / "index-sets" / "par-2025-ward-sample.yaml")  # fmt: skip


@dataclass
class Workspace:
    """An open database with the engine and the ward's reference data."""

    settings: Settings
    db: SqlEngine
    sessions: sessionmaker[Session]
    engine: Engine
    organization: Organization
    index_set: IndexSet
    store: EvidenceStore

    @classmethod
    def open(
        cls, settings: Settings, *, organization: Path | None = None,
        index_set: Path | None = None, clock: Callable[[], datetime] = utcnow,
    ) -> Workspace:  # fmt: skip
        """Load and check the reference data, then open the database (raises on any problem)."""
        engine = make_workflow_engine(clock=clock)
        org = load_organization(organization or default_organization(),
                                known_roles=set(engine.definitions.roles.roles))  # fmt: skip
        units = {u.code for u in org.units}
        indexes = load_index_set(index_set or default_index_set(), known_units=units)
        if (missing := missing_sqlite_file(settings.database_url)) is not None:
            raise SchemaOutdatedError(
                f"there is no database at {missing} yet: run `cchc db upgrade` (or `cchc demo`)"
            )
        db = make_engine(settings.database_url)
        try:
            require_current(db)
        except Exception:
            db.dispose()
            raise
        return cls(settings, db, session_factory(db), engine, org, indexes,
                   EvidenceStore.for_settings(settings))  # fmt: skip

    @property
    def tenant(self) -> str:
        """The ward's tenant code."""
        return self.organization.tenant

    def actor(self, person_id: str) -> Actor:
        """The person as an actor (roles and unit from the organization file)."""
        return self.organization.actor(person_id)

    def unit_names(self) -> dict[str, str]:
        """Unit code → name."""
        return {u.code: u.name for u in self.organization.units}

    def unit_aliases(self) -> dict[str, str]:
        """Lower-case unit names and short names → code, for the XLSX officials write."""
        aliases: dict[str, str] = {}
        for unit in self.organization.units:
            for name in (unit.code, unit.name, unit.short_name):
                aliases[" ".join(name.lower().split())] = unit.code
        return aliases

    def metric_names(self) -> set[str]:
        """Every metric and event name the index set reads."""
        names = set()
        for sub in self.index_set.sub_criteria():
            kind, _, name = sub.rule.input.partition(":")
            if kind in {"metric", "events"}:
                names.add(name)
        return names

    def close(self) -> None:
        """Release the database connections."""
        self.db.dispose()
