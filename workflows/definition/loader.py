"""Find, parse and validate definition files; report every problem at once.

A definitions folder holds ``roles.yaml`` (the role catalogue) and ``workflows/*.yaml`` (one kind
per file). A workflow file uses the nearest ``roles.yaml`` in its own folder or a parent folder.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from workflows.datafile import DataFile, FileCodes, Reading, Schema, model_keys
from workflows.definition.checks import check_workflow, did_you_mean
from workflows.definition.models import RoleCatalog, WorkflowDefinition
from workflows.definition.yamlpos import Located, display_path
from workflows.errors import DefinitionError, Problem, UnknownKindError
from workflows.registry import Registry

ROLE_CATALOG = "roles.yaml"
_CODES = FileCodes(
    "CCHC-D001",
    "CCHC-D024",
    "CCHC-D026",
    "a definition starts with 'kind:' (or 'roles:' for roles.yaml)",
)
_DOCS = "see docs/definitions.md"


def _schema(model: type[Any]) -> Schema[Any]:
    """Validation by ``model``: CCHC-D002 for an unknown key, CCHC-D003 for any other error."""
    allowed = partial(model_keys, model, fallback=_DOCS)
    return Schema(model.model_validate, "CCHC-D002", "CCHC-D003", allowed)


@dataclass(frozen=True)
class _Against:
    """What a workflow file is checked against: its roles, the engine's names, the kinds seen
    before (kind → where it was defined)."""

    roles: RoleCatalog | None
    registry: Registry
    templates: Collection[str]
    seen: Mapping[str, str]


def _check_references(defn: WorkflowDefinition, reading: Reading[_Against]) -> None:
    against = reading.context
    reading.problems.extend(
        check_workflow(
            defn,
            reading.name,
            reading.located,
            roles=set(against.roles.roles) if against.roles else set(),
            registry=against.registry,
            templates=against.templates,
        )
    )


def _check_kind_once(defn: WorkflowDefinition, reading: Reading[_Against]) -> None:
    seen = reading.context.seen
    if defn.kind in seen:
        message = f"kind {defn.kind!r} is already defined in {seen[defn.kind]}"
        reading.report(("kind",), "CCHC-D023", message, "each kind is defined in one file")


WORKFLOW_FILE: DataFile[WorkflowDefinition, _Against] = DataFile(
    "workflow definition",
    _CODES,
    _schema(WorkflowDefinition),
    checks=(_check_references, _check_kind_once),
)
"""A workflow file (``workflows/*.yaml``), checked against its role catalogue."""

ROLE_FILE: DataFile[RoleCatalog, None] = DataFile(
    "workflow definition", _CODES, _schema(RoleCatalog)
)
"""The role catalogue (``roles.yaml``): same codes as the workflow files."""


@dataclass(frozen=True)
class DefinitionSet:
    """Validated definitions by kind, with the role catalogue they were checked against."""

    workflows: Mapping[str, WorkflowDefinition]
    roles: RoleCatalog
    sources: Mapping[str, Path] = field(default_factory=dict)

    def get(self, kind: str) -> WorkflowDefinition:
        """The definition of ``kind``; raises ``UnknownKindError`` with a hint."""
        try:
            return self.workflows[kind]
        except KeyError:
            raise UnknownKindError(
                f"no workflow definition for kind {kind!r}; {did_you_mean(kind, self.workflows)}"
            ) from None


def workflow_files(paths: Iterable[Path]) -> list[Path]:
    """The workflow YAML files among ``paths`` (folders are searched recursively)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            candidates = sorted(p for p in path.rglob("*.y*ml") if p.suffix in {".yaml", ".yml"})
            found.extend(p for p in candidates if p.parent.name == "workflows")
        else:
            found.append(path)
    return list(dict.fromkeys(found))


def find_role_catalog(file: Path) -> Path | None:
    """The nearest ``roles.yaml`` in ``file``'s folder or one of its parents."""
    for folder in file.resolve().parents:
        candidate = folder / ROLE_CATALOG
        if candidate.is_file():
            return candidate
    return None


def check_paths(
    paths: Iterable[Path], *, registry: Registry, templates: Collection[str]
) -> tuple[DefinitionSet | None, list[Problem]]:
    """Load every workflow file under ``paths``; return the set (if valid) and all problems."""
    problems: list[Problem] = []
    catalogs: dict[Path, RoleCatalog | None] = {}
    workflows: dict[str, WorkflowDefinition] = {}
    sources: dict[str, Path] = {}
    files = workflow_files(paths)
    if not files:
        problems.append(
            Problem(
                ", ".join(str(p) for p in paths) or ".",
                1,
                "CCHC-D027",
                "no workflow definition found",
                "workflow files are YAML files in a folder named 'workflows'",
            )
        )
    roles: RoleCatalog | None = None
    for path in files:
        catalog_path = find_role_catalog(path)
        if catalog_path is None:
            problems.append(
                Problem(
                    display_path(path),
                    1,
                    "CCHC-D025",
                    "no roles.yaml found",
                    "put roles.yaml in the definitions folder above workflows/",
                )
            )
            continue
        if catalog_path not in catalogs:
            catalogs[catalog_path] = _roles_of(catalog_path, problems)
        roles = catalogs[catalog_path]
        located = WORKFLOW_FILE.parse_file(path, display_path(path), problems)
        if located is None:
            continue
        defined_in = {kind: display_path(where) for kind, where in sources.items()}
        defn = _checked_workflow(
            located,
            display_path(path),
            roles,
            defined_in,
            problems,
            registry=registry,
            templates=templates,
        )
        if defn is not None:
            workflows[defn.kind] = defn
            sources[defn.kind] = path
    if problems or roles is None:
        return None, problems
    return DefinitionSet(workflows=workflows, roles=roles, sources=sources), problems


def _roles_of(path: Path, problems: list[Problem]) -> RoleCatalog | None:
    """The role catalogue at ``path``, the value even with unknown keys (so the workflows are
    still checked against it); every problem appended."""
    name = display_path(path)
    located = ROLE_FILE.parse_file(path, name, problems)
    if located is None:
        return None
    return ROLE_FILE.examine(Reading(name, located, None, problems))


def _checked_workflow(
    located: Located,
    name: str,
    roles: RoleCatalog | None,
    seen: Mapping[str, str],
    problems: list[Problem],
    *,
    registry: Registry,
    templates: Collection[str],
) -> WorkflowDefinition | None:
    """The workflow of ``located`` when it is valid and its kind is not in ``seen`` (kind →
    where it was defined); every problem appended."""
    reading = Reading(name, located, _Against(roles, registry, templates, seen), problems)
    defn = WORKFLOW_FILE.examine(reading)
    return None if defn is None or defn.kind in seen else defn


def check_mappings(
    roles: Any,
    workflows: Iterable[Any],
    *,
    source: str,
    registry: Registry,
    templates: Collection[str],
) -> tuple[DefinitionSet | None, list[Problem]]:
    """Like ``check_paths`` for definitions already parsed (e.g. registered in a database): the
    role catalogue and each workflow as plain mappings, run through the same checks. There are
    no lines: a problem is placed at line 1 of ``source`` with its path in the message."""
    problems: list[Problem] = []
    catalog = ROLE_FILE.examine(Reading(f"{source}#roles", Located(roles), None, problems))
    checked: dict[str, WorkflowDefinition] = {}
    names: dict[str, str] = {}
    for index, data in enumerate(workflows):
        kind = data.get("kind") if isinstance(data, dict) else None
        name = f"{source}#{kind if isinstance(kind, str) else index}"
        defn = _checked_workflow(
            Located(data), name, catalog, names, problems, registry=registry, templates=templates
        )
        if defn is not None:
            checked[defn.kind], names[defn.kind] = defn, name
    if not checked and not problems:
        problems.append(Problem(source, 1, "CCHC-D027", "no workflow definition found", ""))
    if problems or catalog is None:
        return None, problems
    return DefinitionSet(workflows=checked, roles=catalog), problems


def load_mappings(
    roles: Any,
    workflows: Iterable[Any],
    *,
    source: str,
    registry: Registry,
    templates: Collection[str],
) -> DefinitionSet:
    """Like ``check_mappings`` but raises ``DefinitionError`` listing every problem."""
    definitions, problems = check_mappings(
        roles, workflows, source=source, registry=registry, templates=templates
    )
    if definitions is None:
        raise DefinitionError(problems)
    return definitions


def load_definitions(
    paths: Iterable[Path], *, registry: Registry, templates: Collection[str]
) -> DefinitionSet:
    """Like ``check_paths`` but raises ``DefinitionError`` listing every problem."""
    definitions, problems = check_paths(list(paths), registry=registry, templates=templates)
    if definitions is None:
        raise DefinitionError(problems)
    return definitions
