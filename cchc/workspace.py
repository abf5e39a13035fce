"""Everything a CCHC command needs, opened once: database, engine, organization, index set.

The organization and index set files default to the samples in ``definitions/`` and can be
chosen with ``CCHC_ORGANIZATION`` / ``CCHC_INDEX_SET`` (or the CLI's ``--org`` /
``--index-set``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine as SqlEngine
from sqlalchemy.orm import Session, sessionmaker

from cchc import reference_data
from cchc.evidence.store import DEFAULT_MAX_BYTES, EvidenceStore
from cchc.indexset.loader import load_index_set
from cchc.indexset.models import IndexSet
from cchc.migrations import SchemaOutdatedError, require_current
from cchc.organization.capabilities import require_in_force
from cchc.organization.model import Organization, load_organization
from cchc.ranking.emulation import EmulationConfig, load_emulation_config
from cchc.runtime import definitions_dir, make_workflow_engine, working_calendar
from cchc.settings import evidence_max_bytes
from workflows.calendar import WorkingCalendar
from workflows.canonical import utcnow
from workflows.database import Settings, make_engine, missing_sqlite_file, session_factory
from workflows.engine import Engine
from workflows.registry import Actor

if TYPE_CHECKING:
    from cchc.plan.deadlines import TaskDeadlinePolicy


def default_organization() -> Path:
    """``CCHC_ORGANIZATION`` or the Phù Liễn sample."""
    return Path(
        os.environ.get("CCHC_ORGANIZATION") or definitions_dir() / "organizations" / "phu-lien.yaml"
    )


def default_index_set() -> Path:
    """``CCHC_INDEX_SET`` or the 2025 ward sample."""
    return Path(
        os.environ.get("CCHC_INDEX_SET")
        or definitions_dir() / "index-sets" / "par-2025-ward-sample.yaml"
    )


def reference_snapshots(
    engine: Engine, org: Organization, org_path: Path, indexes: IndexSet, index_path: Path
) -> list[reference_data.Snapshot]:
    """The reference data of a workspace as read from its files, one snapshot per kind."""
    from cchc.plan.deadlines import load_policy  # cchc.plan.deadlines imports this module

    directory = definitions_dir()
    deadlines = directory / "task-deadlines.yaml"
    return [
        reference_data.organization_snapshot(org, org_path),
        reference_data.definitions_snapshot(engine.definitions, directory),
        reference_data.index_set_snapshot(indexes, index_path),
        reference_data.file_snapshot("calendar", directory / "calendar.yaml"),
        reference_data.file_snapshot("emulation", directory / "emulation.yaml"),
        reference_data.deadlines_snapshot(load_policy(deadlines), deadlines),
    ]


def _settled(
    sessions: sessionmaker[Session],
    engine: Engine,
    org: Organization,
    org_path: Path,
    indexes: IndexSet,
    index_path: Path,
    *,
    follow: Collection[str],
    applying_definitions: bool = False,
) -> tuple[Organization, IndexSet, Engine, dict[str, str]]:
    """The organization, index set and engine in force once the files are settled with the
    database, and the content in force of every kind."""
    snapshots = reference_snapshots(engine, org, org_path, indexes, index_path)
    contents = reference_data.settle(
        sessions, org.tenant, snapshots, follow=follow, now=engine.clock()
    )
    if contents["organization"] != snapshots[0].content:
        org = reference_data.organization_of(contents["organization"])
    engine = reference_data.engine_in_force(
        engine, contents["definitions"], snapshots[1], org.tenant
    )
    if not applying_definitions:  # applying registers the catalogue this process decides with
        require_in_force(engine.definitions.roles, org.tenant)
    if contents["index_set"] != snapshots[2].content:
        indexes = reference_data.index_set_of(contents["index_set"])
    return org, indexes, engine, contents


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
    reference: Mapping[str, str] = field(default_factory=dict)
    """Kind → the registered content in force (canonical text, ``cchc.reference_data``)."""

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        organization: Path | None = None,
        index_set: Path | None = None,
        clock: Callable[[], datetime] = utcnow,
        follow: Collection[str] = (),
    ) -> Workspace:
        """Load and check the reference data, open the database, and settle the reference data
        with the tenant's registered versions (``cchc.reference_data.settle``).

        A file given here (or by ``CCHC_ORGANIZATION`` / ``CCHC_INDEX_SET``) that differs from
        the registered version is refused (``ReferenceMismatchError``); without one, the
        registered organization and index set are used. Likewise the definitions, calendar,
        emulation configuration and task deadline policy: a folder chosen by
        ``CCHC_DEFINITIONS_DIR`` must match their registered versions; without it the registered
        versions are used (the engine is built from the registered definitions, checked once
        per content in a process). Kinds in ``follow`` are not refused (``apply`` opens the
        workspace to register a new version).
        """
        engine = make_workflow_engine(clock=clock)
        org_path = organization or default_organization()
        org = load_organization(org_path, known_roles=set(engine.definitions.roles.roles))
        index_path = index_set or default_index_set()
        indexes = load_index_set(index_path, known_units={u.code for u in org.units})
        if (missing := missing_sqlite_file(settings.database_url)) is not None:
            raise SchemaOutdatedError(
                f"there is no database at {missing} yet: run `cchc db upgrade` (or `cchc demo`)"
            )
        db = make_engine(settings.database_url)
        try:
            require_current(db)
            sessions = session_factory(db)
            org, indexes, engine, contents = _settled(
                sessions,
                engine,
                org,
                org_path,
                indexes,
                index_path,
                applying_definitions="definitions" in follow,
                follow=set(follow)
                | reference_data.followed(
                    {
                        "organization": organization,
                        "index_set": index_set,
                        "definitions": None,
                        "calendar": None,
                        "emulation": None,
                        "deadlines": None,
                    }
                ),
            )
        except Exception:
            db.dispose()
            raise
        return cls(
            settings,
            db,
            sessions,
            engine,
            org,
            indexes,
            EvidenceStore.for_settings(settings, max_bytes=evidence_max_bytes(DEFAULT_MAX_BYTES)),
            contents,
        )

    @property
    def calendar(self) -> WorkingCalendar:
        """The ward's registered working calendar (``DefinitionError`` when invalid); the
        folder's when the workspace was not opened from a database (``reference`` empty)."""
        if "calendar" not in self.reference:
            return working_calendar()
        source = f"{self.tenant} (registered calendar)"
        return reference_data.calendar_of(self.reference["calendar"], source)

    @property
    def emulation(self) -> EmulationConfig:
        """The ward's registered emulation configuration (``DefinitionError`` when invalid);
        the folder's when the workspace was not opened from a database (``reference`` empty)."""
        if "emulation" not in self.reference:
            return load_emulation_config(definitions_dir() / "emulation.yaml")
        source = f"{self.tenant} (registered emulation)"
        return reference_data.emulation_of(self.reference["emulation"], source)

    @property
    def deadlines(self) -> TaskDeadlinePolicy:
        """The ward's registered task deadline policy; the folder's ``task-deadlines.yaml``
        when the workspace was not opened from a database (``reference`` empty)."""
        if "deadlines" not in self.reference:
            from cchc.plan.deadlines import load_policy

            return load_policy(definitions_dir() / "task-deadlines.yaml")
        return reference_data.deadlines_of(self.reference["deadlines"])

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

    def role_labels(self) -> dict[str, str]:
        """Role name → its Vietnamese label, from the definitions in force."""
        return {name: spec.label for name, spec in self.engine.definitions.roles.roles.items()}

    def person_name(self, person_id: str | None) -> str:
        """The person's full name (the id itself for anyone not in the organization file)."""
        if not person_id:
            return ""
        try:
            return self.organization.person(person_id).full_name
        except LookupError:
            return person_id

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
