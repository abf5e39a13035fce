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
from cchc.workspace import Workspace
from tests.conftest import Db
from workflows.database import Settings

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
        return {
            n: self.rows(f'select count(*) from "{n}"')[0][0]
            for n in sorted(names)
            if n not in {"audit_events", "audit_chain_heads", "alembic_version"}
        }

    def events(self) -> list[tuple[Any, ...]]:
        """(actor, kind, outcome, reason) of the tenant's chain, in order."""
        return [
            tuple(r)
            for r in self.rows(
                "select actor, kind, outcome, reason from audit_events "
                f"where tenant = '{TENANT}' order by seq"
            )
        ]


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
    """A tenant's first command registers its six kinds of reference data in one audited event."""
    kinds = ward.rows("select kind, version, registered_by from reference_data order by kind")
    assert [tuple(k) for k in kinds] == [
        ("calendar", 1, "system"),
        ("deadlines", 1, "system"),
        ("definitions", 1, "system"),
        ("emulation", 1, "system"),
        ("index_set", 1, "system"),
        ("organization", 1, "system"),
    ]
    assert ward.events() == [("system", "reference_data", "applied", None)]


def test_an_evil_org_file_for_a_registered_tenant_is_refused(ward: Ward) -> None:
    """`--org evil.yaml` (same tenant, bui.duc.anh as chairman) is refused naming the change; only
    the refusal is written."""
    before, events = ward.counts(), ward.events()
    evil = evil_organization(ward.folder)
    result = ward(
        "--org",
        str(evil),
        "assessments",
        "fire",
        "1.1.3",
        "lock",
        "--plan",
        "KH-CCHC-2025",
        "--as",
        "bui.duc.anh",
    )
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
    before = ward.counts(), ward.events()
    result = ward("--org", str(ORG), "audit", "verify", "--as", INSPECTOR)
    assert result.exit_code == 0, result.output
    assert (ward.counts(), ward.events()) == before


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


def changed_organization(folder: Path, title: str = "Chuyên viên chính") -> Path:
    """The sample organization with bui.duc.anh's title changed."""
    data = yaml.safe_load(ORG.read_text("utf-8"))
    for person in data["people"]:
        if person["id"] == "bui.duc.anh":
            person["title"] = title
    path = folder / "to-chuc-moi.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    return path


def test_org_apply_shows_the_difference_and_registers(ward: Ward) -> None:
    """`org apply FILE --as ADMIN --yes` prints the difference, registers version 2 audited by the
    admin; then the registered file is accepted, the old one refused, and the default follows."""
    path = changed_organization(ward.folder)
    result = ward("org", "apply", str(path), "--as", ADMIN, "--yes")
    assert result.exit_code == 0, result.output
    assert (
        'people.bui.duc.anh.title: "Chuyên viên Phòng Văn hóa - Xã hội" → "Chuyên viên chính"'
        in (result.output)
    )
    rows = ward.rows(
        "select version, registered_by from reference_data "
        "where kind = 'organization' order by version"
    )
    assert [tuple(r) for r in rows] == [(1, "system"), (2, ADMIN)]
    assert ward.events()[-1] == (ADMIN, "reference_data", "applied", None)
    assert ward("--org", str(path), "audit", "verify", "--as", INSPECTOR).exit_code == 0
    refused = ward("--org", str(ORG), "audit", "verify", "--as", INSPECTOR)
    assert refused.exit_code == 1
    assert '"Chuyên viên chính" → "Chuyên viên Phòng Văn hóa - Xã hội"' in refused.output
    settings = Settings(data_dir=ward.folder / "var", database_url=ward.db.url)
    ws = Workspace.open(settings)
    try:
        assert ws.organization.person("bui.duc.anh").title == "Chuyên viên chính"
    finally:
        ws.close()


def test_org_apply_asks_first_and_a_no_registers_nothing(ward: Ward) -> None:
    """Without --yes the difference is shown and a "no" leaves everything as it was."""
    before, events = ward.counts(), ward.events()
    result = runner.invoke(
        app,
        ["org", "apply", str(changed_organization(ward.folder)), "--as", ADMIN],
        env=ward.env,
        input="n\n",
    )
    assert result.exit_code == 1, result.output
    assert "people.bui.duc.anh.title" in result.output
    assert (ward.counts(), ward.events()) == (before, events)


def test_a_file_cannot_make_its_author_the_admin_who_applies_it(ward: Ward) -> None:
    """`org apply` checks the roles of the registered organization: a unit official whose file
    makes them admin is refused, the refusal audited, nothing registered."""
    data = yaml.safe_load(ORG.read_text("utf-8"))
    for person in data["people"]:
        if person["id"] == "bui.duc.anh":
            person["roles"] = ["admin"]
    path = ward.folder / "tu-cap-quyen.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    before, events = ward.counts(), ward.events()
    result = ward("org", "apply", str(path), "--as", "bui.duc.anh", "--yes")
    assert result.exit_code == 1, result.output
    assert ward.counts() == before
    assert [(a, o) for a, _, o, _ in ward.events()[len(events) :]] == [("bui.duc.anh", "refused")]


def test_definitions_apply_registers_a_new_version(ward: Ward, tmp_path: Path) -> None:
    """A changed `evidence` under a new version number is refused until an admin applies the
    definitions folder; then it is accepted, and the shipped folder named explicitly is refused."""
    copy = tmp_path / "definitions"
    shutil.copytree(ROOT / "definitions", copy)
    path = copy / "workflows" / "evidence.yaml"
    data = yaml.safe_load(path.read_text("utf-8"))
    old = data["version"]
    data["version"] = old + 1
    data["states"][0]["label"] = "Đã nộp (phiên bản mới)"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    env = {"CCHC_DEFINITIONS_DIR": str(copy)}
    assert ward("audit", "verify", "--as", INSPECTOR, **env).exit_code == 1
    result = ward("definitions", "apply", "--as", ADMIN, "--yes", **env)
    assert result.exit_code == 0, result.output
    assert f"workflows.evidence.version: {old} → {old + 1}" in result.output
    assert ward("audit", "verify", "--as", INSPECTOR, **env).exit_code == 0
    shipped = {"CCHC_DEFINITIONS_DIR": str(ROOT / "definitions")}
    assert ward("audit", "verify", "--as", INSPECTOR, **shipped).exit_code == 1


def test_index_set_apply_shows_the_difference_and_registers(ward: Ward) -> None:
    """`index-set apply FILE --as ADMIN --yes` names the changed title and registers version 2;
    the old file is then refused."""
    sample = ROOT / "definitions" / "index-sets" / "par-2025-ward-sample.yaml"
    data = yaml.safe_load(sample.read_text("utf-8"))
    data["title"] = "Bộ chỉ số đã sửa"
    path = ward.folder / "bo-chi-so.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    result = ward("index-set", "apply", str(path), "--as", ADMIN, "--yes")
    assert result.exit_code == 0, result.output
    assert 'title: "Bộ Chỉ số cải cách hành chính' in result.output
    assert '→ "Bộ chỉ số đã sửa"' in result.output
    rows = ward.rows(
        "select version, registered_by from reference_data "
        "where kind = 'index_set' order by version"
    )
    assert [tuple(r) for r in rows] == [(1, "system"), (2, ADMIN)]
    refused = ward("--index-set", str(sample), "audit", "verify", "--as", INSPECTOR)
    assert refused.exit_code == 1
    assert "bộ chỉ số (index set)" in refused.output


def test_registered_role_capabilities_rule_over_the_installed_ones(
    ward: Ward, tmp_path: Path
) -> None:
    """Once an admin registers a roles.yaml giving a role other capabilities, a command started
    on the installed roles.yaml is refused (exit 2, the role named) instead of deciding with it."""
    copy = tmp_path / "definitions"
    shutil.copytree(ROOT / "definitions", copy)
    roles = copy / "roles.yaml"
    roles.write_text(
        roles.read_text("utf-8").replace(
            "capabilities: [read_own_unit, belongs_to_unit, notified_for_own_unit, "
            "follows_up_notices]",
            "capabilities: [read_own_unit, belongs_to_unit, notified_for_own_unit, "
            "follows_up_notices, read_checkpoint]",
        ),
        "utf-8",
    )
    env = {"CCHC_DEFINITIONS_DIR": str(copy)}
    applied = ward("definitions", "apply", "--as", ADMIN, "--yes", **env)
    assert applied.exit_code == 0, applied.output
    result = ward("audit", "verify", "--as", INSPECTOR)
    assert result.exit_code == 2, result.output
    assert "unit_official" in result.output
    assert "CCHC_DEFINITIONS_DIR" in result.output


def test_definitions_apply_registers_new_capabilities_the_installation_brings(
    ward: Ward, tmp_path: Path
) -> None:
    """After an upgrade whose roles.yaml gives a role another capability, commands are refused
    until an admin applies the definitions, and `definitions apply` itself is not refused."""
    copy = tmp_path / "definitions"
    shutil.copytree(ROOT / "definitions", copy)
    roles = copy / "roles.yaml"
    roles.write_text(
        roles.read_text("utf-8").replace(
            "capabilities: [read_own_unit, belongs_to_unit, notified_for_own_unit",
            "capabilities: [read_own_unit, belongs_to_unit, read_checkpoint, notified_for_own_unit",
        ),
        "utf-8",
    )
    env = {"CCHC_DEFINITIONS_DIR": str(copy)}
    assert ward("definitions", "apply", "--as", ADMIN, "--yes", **env).exit_code == 0
    # The installation (shipped roles.yaml) is now the "older" catalogue: refused, then applied.
    refused = ward("audit", "verify", "--as", INSPECTOR)
    assert refused.exit_code == 2, refused.output
    shipped = {"CCHC_DEFINITIONS_DIR": str(ROOT / "definitions")}
    applied = ward("definitions", "apply", "--as", ADMIN, "--yes", **shipped)
    assert applied.exit_code == 0, applied.output
    assert ward("audit", "verify", "--as", INSPECTOR).exit_code == 0
