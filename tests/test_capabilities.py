"""Capabilities of roles: declared in roles.yaml, looked up by the application, never role names."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

from cchc.organization.capabilities import CAPABILITIES, catalog, roles_with
from cchc.runtime import registry
from notifications.catalog import template_names
from tests.expectations import line_of, replace_once
from workflows.definition.loader import check_paths
from workflows.definition.models import RoleCatalog

ROOT = Path(__file__).resolve().parent.parent

ROLE_NAMES_ALLOWED: dict[str, set[str]] = {
    # The city file's structure: which of its officials is the city's (no permission decided).
    "cchc/city/model.py": {"city_official"},
    # Whom a message or escalation is addressed to (the outbox names roles, not people).
    "cchc/plan/deadlines.py": {"unit_head", "unit_official", "vice_chairman"},
    # The demonstration's personas.
    "cchc/demo.py": {"admin", "focal_official"},
    # The committee's structure: its chairman, the vice-chairman in charge of a field, the head
    # of a unit, the focal and office officials in their units.
    "cchc/organization/model.py": {
        "chairman",
        "vice_chairman",
        "unit_head",
        "focal_official",
        "office_official",
    },
    # Who follows up a conclusion notice by default: an office official (addressing).
    "cchc/review/files.py": {"office_official"},
}
"""Where application code may name a role, and why; anything else asks for a capability."""


def _role_literals(path: Path, roles: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value in roles
        and id(node) not in docstrings
    }


def test_no_module_names_a_role_to_decide_a_permission() -> None:
    """Application code asks for capabilities; role names appear only where the allow-list says."""
    roles = set(catalog().roles)
    named: dict[str, set[str]] = {}
    for package in ("cchc", "notifications", "flows"):
        for path in sorted((ROOT / package).rglob("*.py")):
            found = _role_literals(path, roles)
            if found:
                named[str(path.relative_to(ROOT))] = found
    assert named == ROLE_NAMES_ALLOWED


def test_every_capability_looked_up_is_declared_and_every_declared_one_is_known() -> None:
    """roles.yaml and cchc.organization.capabilities agree: no capability is missing or unknown."""
    declared = {c for spec in catalog().roles.values() for c in spec.capabilities}
    assert declared == set(CAPABILITIES)
    assert all(roles_with(capability) for capability in CAPABILITIES)


def test_roles_with_gives_the_roles_that_declare_a_capability() -> None:
    """The lookup reads the catalogue: the roles as they were named in code before."""
    assert roles_with("read_only") == {"inspector"}
    assert roles_with("act_for_any_unit") == {"focal_official", "chairman", "vice_chairman"}
    assert roles_with("read_own_unit") == {"unit_head", "unit_official"}
    with pytest.raises(KeyError, match="unknown capability 'fly'"):
        roles_with("fly")


def test_holders_is_generic_over_free_names() -> None:
    """The engine's catalogue model keeps capabilities as free names and finds their holders."""
    roles = RoleCatalog.model_validate(
        {
            "roles": {
                "a": {"label": "A", "capabilities": ["x", "y"]},
                "b": {"label": "B", "capabilities": ["y"]},
                "c": {"label": "C"},
            }
        }
    )
    assert roles.holders("y") == {"a", "b"}
    assert roles.holders("z") == frozenset()


def test_a_capability_listed_twice_is_reported_at_its_line(tmp_path: Path) -> None:
    """The definitions check reports a repeated capability in roles.yaml at its line."""
    folder = tmp_path / "definitions"
    shutil.copytree(ROOT / "definitions", folder)
    roles = folder / "roles.yaml"
    text = replace_once(
        roles.read_text(encoding="utf-8"),
        "capabilities: [read_ward, read_only, read_checkpoint]",
        "capabilities: [read_ward, read_only, read_ward]",
    )
    roles.write_text(text, encoding="utf-8")
    definitions, problems = check_paths([folder], registry=registry(), templates=template_names())
    assert definitions is None
    twice = [(p.line, p.code) for p in problems if "listed twice: read_ward" in p.message]
    assert twice == [(line_of(text, "read_only, read_ward]"), "CCHC-D003")]
