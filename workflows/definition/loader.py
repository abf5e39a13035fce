"""Find, parse and validate definition files; report every problem at once.

A definitions folder holds ``roles.yaml`` (the role catalogue) and ``workflows/*.yaml`` (one kind
per file). A workflow file uses the nearest ``roles.yaml`` in its own folder or a parent folder.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from workflows.definition.checks import check_workflow, did_you_mean
from workflows.definition.models import RoleCatalog, WorkflowDefinition
from workflows.definition.yamlpos import FileCodes, Located, display_path, parse_mapping_file
from workflows.errors import DefinitionError, Problem, UnknownKindError
from workflows.registry import Registry

ROLE_CATALOG = "roles.yaml"
_CODES = FileCodes("CCHC-D001", "CCHC-D024", "CCHC-D026",
                   "a definition starts with 'kind:' (or 'roles:' for roles.yaml)")  # fmt: skip


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


def _parse(path: Path, problems: list[Problem]) -> Located | None:
    return parse_mapping_file(path, display_path(path), _CODES, problems)


def _validate(model: type[Any], name: str, located: Located, problems: list[Problem]) -> Any:
    try:
        return model.model_validate(located.data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            where = ".".join(str(part) for part in loc) or "(top)"
            if err["type"] == "extra_forbidden":
                code, message = "CCHC-D002", f"unknown key {where!r}"
                hint = f"allowed here: {_allowed_keys(model, loc)}"
            else:
                code, message, hint = "CCHC-D003", f"{where}: {err['msg']}", ""
                if err["type"] == "missing":
                    hint = "add this field"
            problems.append(Problem(name, located.line_of(loc), code, message, hint))
        return _without_unknown_keys(model, located.data, exc)


def _without_unknown_keys(model: type[Any], data: Any, exc: ValidationError) -> Any:
    """When unknown keys are the only problem, the model without them, so checks can go on."""
    if any(err["type"] != "extra_forbidden" for err in exc.errors()):
        return None
    data = copy.deepcopy(data)
    try:
        for err in exc.errors():
            *parents, key = err["loc"]
            holder = data
            for part in parents:
                holder = holder[part]
            del holder[key]
        return model.model_validate(data)
    except (LookupError, TypeError, ValidationError):
        return None


def _allowed_keys(model: type[Any], loc: tuple[Any, ...]) -> str:
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field_info = getattr(current, "model_fields", {}).get(part)
        if field_info is None:
            return "see docs/definitions.md"
        annotation = field_info.annotation
        args = getattr(annotation, "__args__", ())
        current = next((a for a in args if hasattr(a, "model_fields")), annotation)
    return ", ".join(getattr(current, "model_fields", {})) or "see docs/definitions.md"


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
            located_roles = _parse(catalog_path, problems)
            catalogs[catalog_path] = (
                _validate(RoleCatalog, display_path(catalog_path), located_roles, problems)
                if located_roles
                else None
            )
        roles = catalogs[catalog_path]
        located = _parse(path, problems)
        if located is None:
            continue
        defined_in = {kind: display_path(where) for kind, where in sources.items()}
        defn = _checked_workflow(located, display_path(path), roles, defined_in, problems,
                                 registry=registry, templates=templates)  # fmt: skip
        if defn is not None:
            workflows[defn.kind] = defn
            sources[defn.kind] = path
    if problems or roles is None:
        return None, problems
    return DefinitionSet(workflows=workflows, roles=roles, sources=sources), problems


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
    defn: WorkflowDefinition | None = _validate(WorkflowDefinition, name, located, problems)
    if defn is None:
        return None
    problems.extend(
        check_workflow(
            defn,
            name,
            located,
            roles=set(roles.roles) if roles else set(),
            registry=registry,
            templates=templates,
        )
    )
    if defn.kind in seen:
        problems.append(
            Problem(
                name,
                located.line_of(("kind",)),
                "CCHC-D023",
                f"kind {defn.kind!r} is already defined in {seen[defn.kind]}",
                "each kind is defined in one file",
            )
        )
        return None
    return defn


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
    catalog: RoleCatalog | None = _validate(RoleCatalog, f"{source}#roles", Located(roles),
                                            problems)  # fmt: skip
    checked: dict[str, WorkflowDefinition] = {}
    names: dict[str, str] = {}
    for index, data in enumerate(workflows):
        kind = data.get("kind") if isinstance(data, dict) else None
        name = f"{source}#{kind if isinstance(kind, str) else index}"
        defn = _checked_workflow(Located(data), name, catalog, names, problems,
                                 registry=registry, templates=templates)  # fmt: skip
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
