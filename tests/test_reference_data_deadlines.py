"""The deadline policy (``task-deadlines.yaml``) and the role catalogue (``roles.yaml``) of a
registered ward are read from the database: a chosen folder whose files differ is refused,
naming the difference; ``definitions apply`` registers a new version; the sweep and the role
labels of tables use the registered versions."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

import flows.sweep
from cchc.vietnam import LOCAL_TZ
from cchc.workspace import Workspace
from tests import test_reference_data
from tests.test_reference_data import ADMIN, INSPECTOR, ORG, ROOT, Ward
from tests.test_registered_definitions import edit
from workflows.database import Settings, unit_of_work

ward = test_reference_data.ward
"""A ward whose reference data was registered by a first command (the default files)."""

LABEL = "Công chức chuyên môn (nhãn đã đăng ký)"
NEW_ROLE = "thu_ky"


def folder_with(tmp_path: Path, change: Any) -> Path:
    """A copy of the shipped definitions folder after ``change(folder)``."""
    folder = tmp_path / "definitions"
    shutil.copytree(ROOT / "definitions", folder)
    change(folder)
    return folder


def fewer_reminders(folder: Path) -> None:
    """Remind 2 working days before the deadline only (the shipped policy: 7, 3 and 1)."""
    path = folder / "task-deadlines.yaml"
    path.write_text(path.read_text("utf-8").replace("[7, 3, 1]", "[2]"), "utf-8")


def relabel_and_add_role(folder: Path) -> None:
    """A new label for unit_official and a new role ``thu_ky``."""

    def change(data: Any) -> None:
        data["roles"]["unit_official"]["label"] = LABEL
        data["roles"][NEW_ROLE] = {"label": "Thư ký", "description": "Ghi biên bản."}

    edit(folder / "roles.yaml", change)


def test_the_first_command_registers_the_deadline_policy(ward: Ward) -> None:
    """The first command registers the deadline policy as checked data (defaults filled in)."""
    rows = ward.rows(
        "select version, registered_by, content from reference_data where kind = 'deadlines'"
    )
    assert [(r[0], r[1]) for r in rows] == [(1, "system")]
    assert '"reminders":[7,3,1]' in rows[0][2]


def test_a_changed_deadlines_file_is_refused_naming_the_difference(
    ward: Ward, tmp_path: Path
) -> None:
    """A chosen folder whose task-deadlines.yaml differs is refused naming the reminders and the
    command that registers it; only the refusal is written."""
    folder = folder_with(tmp_path, fewer_reminders)
    before, events = ward.counts(), ward.events()
    result = ward("audit", "verify", "--as", INSPECTOR, CCHC_DEFINITIONS_DIR=str(folder))
    assert result.exit_code == 1, result.output
    assert "hạn xử lý nhiệm vụ (deadlines)" in result.output
    assert "reminders: [7,3,1] → [2]" in result.output
    assert "`cchc definitions apply --as ADMIN`" in result.output  # the folder: no FILE
    assert ward.counts() == before
    assert [(a, o) for a, _, o, _ in ward.events()[len(events) :]] == [("system", "refused")]


def test_definitions_apply_registers_the_deadline_policy(ward: Ward, tmp_path: Path) -> None:
    """`definitions apply` shows the changed reminders and registers deadlines version 2 by the
    admin; the folder is accepted afterwards and the shipped one, named, refused."""
    env = {"CCHC_DEFINITIONS_DIR": str(folder_with(tmp_path, fewer_reminders))}
    result = ward("definitions", "apply", "--as", ADMIN, "--yes", **env)
    assert result.exit_code == 0, result.output
    assert "reminders: [7,3,1] → [2]" in result.output
    rows = ward.rows(
        "select version, registered_by from reference_data "
        "where kind = 'deadlines' order by version"
    )
    assert [tuple(r) for r in rows] == [(1, "system"), (2, ADMIN)]
    assert ward.events()[-1] == (ADMIN, "reference_data", "applied", None)
    assert ward("audit", "verify", "--as", INSPECTOR, **env).exit_code == 0
    shipped = ward(
        "audit", "verify", "--as", INSPECTOR, CCHC_DEFINITIONS_DIR=str(ROOT / "definitions")
    )
    assert shipped.exit_code == 1
    assert "reminders: [2] → [7,3,1]" in shipped.output


def test_the_sweep_chases_tasks_by_the_registered_policy(
    ward: Ward, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After an admin registered "remind 2 days before", the sweep run without the folder sends
    one reminder for a task due 23/02/2026 on 13/02, not the shipped policy's three."""
    env = {"CCHC_DEFINITIONS_DIR": str(folder_with(tmp_path, fewer_reminders))}
    assert ward("definitions", "apply", "--as", ADMIN, "--yes", **env).exit_code == 0
    monkeypatch.setenv("CCHC_DEFINITIONS_DIR", "")
    monkeypatch.delenv("CCHC_NOTIFY_CHANNEL", raising=False)
    monkeypatch.delenv("CCHC_MAILDIR", raising=False)
    now = datetime(2026, 2, 13, 9, tzinfo=LOCAL_TZ)
    settings = Settings(data_dir=ward.folder / "var", database_url=ward.db.url)
    ws = Workspace.open(settings, clock=lambda: now)
    try:
        assert ws.deadlines.reminders == (2,)
        with unit_of_work(ws.sessions) as session:
            ws.engine.create(
                session,
                "task",
                actor=ws.actor("nguyen.thi.lan"),
                ref="KH-2026/NV-01",
                data={
                    "plan": "KH-2026",
                    "code": "NV-01",
                    "title": "Rà soát TTHC",
                    "expected_product": "Báo cáo",
                    "owner_unit": "kt",
                    "owner_unit_name": "Phòng Kinh tế, Hạ tầng và Đô thị",
                    "support_units": [],
                    "deadline": "2026-02-23",
                    "deadline_text": "23/02/2026",
                    "criteria": [],
                },
            )
        result = flows.sweep.sweep_ward(ws, ADMIN)
    finally:
        ws.close()
    assert result["reminders"] == 1


def test_a_changed_roles_file_is_refused_naming_the_difference(ward: Ward, tmp_path: Path) -> None:
    """`org show` with a chosen folder whose roles.yaml relabels a role is refused naming the
    label (it printed the folder's label); only the refusal is written."""
    folder = folder_with(tmp_path, relabel_and_add_role)
    before, events = ward.counts(), ward.events()
    result = ward("org", "show", CCHC_DEFINITIONS_DIR=str(folder))
    assert result.exit_code == 1, result.output
    assert f'roles.unit_official.label: "Công chức đơn vị" → "{LABEL}"' in result.output
    assert LABEL not in result.stdout
    assert ward.counts() == before
    assert [(a, o) for a, _, o, _ in ward.events()[len(events) :]] == [("system", "refused")]


def test_role_labels_come_from_the_registered_definitions(ward: Ward, tmp_path: Path) -> None:
    """After an admin registered a relabelled role catalogue, `org show` run without the folder
    labels the officials with the registered label, not the shipped roles.yaml's."""
    env = {"CCHC_DEFINITIONS_DIR": str(folder_with(tmp_path, relabel_and_add_role))}
    assert ward("definitions", "apply", "--as", ADMIN, "--yes", **env).exit_code == 0
    shown = ward("org", "show")
    assert shown.exit_code == 0, shown.output
    assert LABEL in shown.stdout
    rows = ward.rows(
        "select registered_by from reference_data where kind = 'definitions' order by version"
    )
    assert [r[0] for r in rows] == ["system", ADMIN]


def test_org_check_knows_the_registered_roles(ward: Ward, tmp_path: Path) -> None:
    """A role added by registered definitions is known to `org check` run without the folder
    (the shipped roles.yaml does not list it)."""
    env = {"CCHC_DEFINITIONS_DIR": str(folder_with(tmp_path, relabel_and_add_role))}
    assert ward("definitions", "apply", "--as", ADMIN, "--yes", **env).exit_code == 0
    data = yaml.safe_load(ORG.read_text("utf-8"))
    for person in data["people"]:
        if person["id"] == "bui.duc.anh":
            person["roles"] = ["unit_official", NEW_ROLE]
    path = tmp_path / "to-chuc-thu-ky.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    checked = ward("org", "check", str(path))
    assert checked.exit_code == 0, checked.output
