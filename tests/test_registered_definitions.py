"""Commands on a registered ward read its definitions, calendar and emulation configuration
from the database: a default folder that differs follows the registered version, an explicitly
chosen one (``CCHC_DEFINITIONS_DIR``) is refused."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from cchc.workspace import Workspace
from tests import test_reference_data
from tests.test_reference_data import ADMIN, INSPECTOR, ROOT, Ward
from workflows.database import Settings

ward = test_reference_data.ward
"""A ward whose reference data was registered by a first command (the default files)."""

NEW_LABEL = "Đã nộp (phiên bản đã đăng ký)"
HOLIDAY = date(2026, 3, 10)  # a Tuesday
BAND = "Hoàn thành xuất sắc nhiệm vụ (đã đăng ký)"


def applied(ward: Ward, folder: Path, change: Callable[[Path], None]) -> None:
    """Copy the shipped definitions to ``folder``, ``change`` them and apply them as ADMIN."""
    shutil.copytree(ROOT / "definitions", folder)
    change(folder)
    result = ward("definitions", "apply", "--as", ADMIN, "--yes", CCHC_DEFINITIONS_DIR=str(folder))
    assert result.exit_code == 0, result.output


def edit(path: Path, change: Callable[[Any], None]) -> None:
    """Rewrite the YAML file ``path`` after ``change`` on its data."""
    data = yaml.safe_load(path.read_text("utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")


def relabel_evidence(data: Any) -> None:
    data["version"] += 1
    data["states"][0]["label"] = NEW_LABEL


def opened(ward: Ward) -> Workspace:
    """The workspace a command without CCHC_DEFINITIONS_DIR opens."""
    return Workspace.open(Settings(data_dir=ward.folder / "var", database_url=ward.db.url))


def test_the_shipped_folder_follows_the_registered_definitions(ward: Ward, tmp_path: Path) -> None:
    """After an admin applied changed definitions, a command without CCHC_DEFINITIONS_DIR runs
    on the registered ones; naming the shipped folder explicitly is still refused."""
    applied(
        ward, tmp_path / "d", lambda d: edit(d / "workflows" / "evidence.yaml", relabel_evidence)
    )
    assert ward("audit", "verify", "--as", INSPECTOR).exit_code == 0
    refused = ward(
        "audit", "verify", "--as", INSPECTOR, CCHC_DEFINITIONS_DIR=str(ROOT / "definitions")
    )
    assert refused.exit_code == 1
    assert "định nghĩa quy trình (definitions)" in refused.output
    ws = opened(ward)
    try:
        evidence = ws.engine.definitions.get("evidence")
        assert evidence.states[0].label == NEW_LABEL
        assert ws.engine.current("evidence").definition.content_hash == evidence.content_hash
    finally:
        ws.close()


def test_the_calendar_is_read_from_the_registered_version(ward: Ward, tmp_path: Path) -> None:
    """A holiday added by an applied calendar is a day off for a command run without the
    folder (the shipped calendar does not list it)."""

    def add_holiday(folder: Path) -> None:
        path = folder / "calendar.yaml"
        text = path.read_text("utf-8").replace(
            "days_off:\n", f'days_off:\n  {HOLIDAY}: "Nghỉ theo văn bản thử"\n', 1
        )
        path.write_text(text, "utf-8")

    applied(ward, tmp_path / "d", add_holiday)
    ws = opened(ward)
    try:
        assert not ws.calendar.is_working_day(HOLIDAY)
        assert ws.calendar.holiday_name(HOLIDAY) == "Nghỉ theo văn bản thử"
    finally:
        ws.close()


def test_the_emulation_config_is_read_from_the_registered_version(
    ward: Ward, tmp_path: Path
) -> None:
    """A band label changed by an applied emulation configuration is the one a command run
    without the folder ranks with."""

    def relabel_band(data: Any) -> None:
        data["bands"][0]["label"] = BAND

    applied(ward, tmp_path / "d", lambda d: edit(d / "emulation.yaml", relabel_band))
    ws = opened(ward)
    try:
        assert ws.emulation.band_labels[0] == BAND
    finally:
        ws.close()
