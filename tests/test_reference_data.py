"""Reference data is registered, not passed: once a tenant is registered, a file that differs
from its registered organization or definitions is refused, naming the difference, and nothing
is written but the refusal."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from typer.testing import CliRunner, Result

from cchc.cli import app
from tests.conftest import Db

ROOT = Path(__file__).resolve().parent.parent
ORG = ROOT / "definitions" / "organizations" / "phu-lien.yaml"
TENANT = "phuong-phu-lien"
INSPECTOR = "cu.van.son"
ADMIN = "tran.van.minh"
runner = CliRunner()


class Ward:
    """The CLI on the test database, with the sample files chosen by default."""

    def __init__(self, db: Db, folder: Path) -> None:
        self.db = db
        self.folder = folder
        self.env = {"CCHC_DATABASE_URL": db.url, "CCHC_DATA_DIR": str(folder / "var")}
        self.env |= {"CCHC_ORGANIZATION": "", "CCHC_INDEX_SET": "", "CCHC_DEFINITIONS_DIR": ""}

    def __call__(self, *args: str, **env: str) -> Result:
        return runner.invoke(app, list(args), env={**self.env, **env})

    def rows(self, sql: str) -> list[Any]:
        """Rows of a query on the test database."""
        with self.db.engine.connect() as conn:
            return list(conn.execute(sa.text(sql)))

    def counts(self) -> dict[str, int]:
        """Rows per table (the audit trail apart)."""
        names = sa.inspect(self.db.engine).get_table_names()
        return {n: self.rows(f'select count(*) from "{n}"')[0][0] for n in sorted(names)
                if n not in {"audit_events", "audit_chain_heads", "alembic_version"}}  # fmt: skip

    def events(self) -> list[tuple[Any, ...]]:
        """(actor, kind, outcome, reason) of the tenant's chain, in order."""
        return [tuple(r) for r in self.rows(
            "select actor, kind, outcome, reason from audit_events "
            f"where tenant = '{TENANT}' order by seq")]  # fmt: skip


@pytest.fixture
def ward(db: Db, tmp_path: Path) -> Ward:
    """A ward whose reference data was registered by a first command (the default files)."""
    ward = Ward(db, tmp_path)
    result = ward("audit", "verify", "--as", INSPECTOR)
    assert result.exit_code == 0, result.output
    return ward


def evil_organization(folder: Path) -> Path:
    """The sample organization, same tenant, with bui.duc.anh as Chairman."""
    data = yaml.safe_load(ORG.read_text("utf-8"))
    for person in data["people"]:
        if person["id"] == "bui.duc.anh":
            person["roles"] = ["chairman"]
    path = folder / "evil.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    return path


def test_the_first_command_registers_the_files_it_was_given(ward: Ward) -> None:
    """A tenant's first command registers its five kinds of reference data in one audited event."""
    kinds = ward.rows("select kind, version, registered_by from reference_data order by kind")
    assert [tuple(k) for k in kinds] == [
        ("calendar", 1, "system"), ("definitions", 1, "system"), ("emulation", 1, "system"),
        ("index_set", 1, "system"), ("organization", 1, "system"),
    ]  # fmt: skip
    assert ward.events() == [("system", "reference_data", "applied", None)]


def test_an_evil_org_file_for_a_registered_tenant_is_refused(ward: Ward) -> None:
    """`--org evil.yaml` (same tenant, bui.duc.anh as chairman) is refused naming the change; only
    the refusal is written."""
    before, events = ward.counts(), ward.events()
    evil = evil_organization(ward.folder)
    result = ward("--org", str(evil), "assessments", "fire", "1.1.3", "lock",
                  "--plan", "KH-CCHC-2025", "--as", "bui.duc.anh")  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "bui.duc.anh.roles" in result.output
    assert '["unit_official"] → ["chairman"]' in result.output
    assert ward.counts() == before
    after = ward.events()
    assert after[: len(events)] == events
    assert [(a, k, o) for a, k, o, _ in after[len(events) :]] == [
        ("system", "reference_data", "refused")
    ]
    assert "bui.duc.anh" in after[-1][3]
    assert ward("audit", "verify", "--as", INSPECTOR).exit_code == 0


def test_the_same_file_passed_again_is_accepted(ward: Ward) -> None:
    """`--org` naming a file equal to the registered organization works and registers nothing."""
    before = ward.counts()
    result = ward("--org", str(ORG), "audit", "verify", "--as", INSPECTOR)
    assert result.exit_code == 0, result.output
    assert ward.counts() == before


def test_another_evidence_body_under_the_same_version_is_refused(
    ward: Ward, tmp_path: Path
) -> None:
    """CCHC_DEFINITIONS_DIR with an `evidence` in which a unit official accepts, same version,
    is refused naming the transition; nothing but the refusal is written."""
    copy = tmp_path / "definitions"
    shutil.copytree(ROOT / "definitions", copy)
    path = copy / "workflows" / "evidence.yaml"
    data = yaml.safe_load(path.read_text("utf-8"))
    data["transitions"][0]["roles"] = ["focal_official", "unit_official"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    before, events = ward.counts(), ward.events()
    result = ward("audit", "verify", "--as", INSPECTOR, CCHC_DEFINITIONS_DIR=str(copy))
    assert result.exit_code == 1, result.output
    assert "workflows.evidence.transitions.accept.roles" in result.output
    assert ward.counts() == before
    assert [o for _, _, o, _ in ward.events()[len(events) :]] == ["refused"]
