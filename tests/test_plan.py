"""Plan files: YAML and the officials' XLSX read alike; every problem is named, none is written."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook

from cchc.plan.loader import TASK_SHEET, check_plan, write_plan_xlsx
from cchc.plan.models import Plan

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "plan-phu-lien-2025-h2.yaml"
UNITS = {"vhxh", "vp", "kt", "ttphc", "ttsnc"}
CRITERIA = {
    "1.3.1",
    "1.4.1",
    "3.1.1",
    "2.1.2",
    "2.2.1",
    "6.1.1",
    "6.3.2",
    "5.2.1",
    "7.3.1",
    "1.5.1",
    "7.1.3",
    "4.1.1",
    "4.2.1",
}
ALIASES = {"phòng văn hóa - xã hội": "vhxh", "văn phòng hđnd và ubnd": "vp"}


def _check(path: Path) -> tuple[Plan | None, list[str]]:
    plan, problems = check_plan(
        path, known_units=UNITS, known_criteria=CRITERIA, unit_aliases=ALIASES
    )
    return plan, [p.format() for p in problems]


def test_sample_yaml_is_valid() -> None:
    """The example plan reads with its 12 tasks, decision and period."""
    plan, problems = _check(SAMPLE)
    assert problems == []
    assert plan is not None
    assert len(plan.tasks) == 12
    assert plan.decision.number == "337/QĐ-UBND"
    assert plan.period.code == "2025-H2"


def test_xlsx_round_trip(tmp_path: Path) -> None:
    """The workbook written from a plan reads back as the same plan."""
    plan, _ = _check(SAMPLE)
    assert plan is not None
    again, problems = _check(write_plan_xlsx(plan, tmp_path / "kh.xlsx"))
    assert problems == []
    assert again == plan


def _sheet_with(tmp_path: Path, edit: dict[str, object], row: int = 3) -> Path:
    plan, _ = _check(SAMPLE)
    assert plan is not None
    path = write_plan_xlsx(plan, tmp_path / "kh.xlsx")
    book = load_workbook(path)
    sheet = book[TASK_SHEET]
    headers = [c.value for c in sheet[1]]
    for header, value in edit.items():
        sheet.cell(row=row, column=headers.index(header) + 1).value = value
    book.save(path)
    return path


def test_unit_names_as_officials_write_them(tmp_path: Path) -> None:
    """A unit written by its full name is mapped to its code."""
    path = _sheet_with(tmp_path, {"Đơn vị chủ trì": "Phòng Văn hóa - Xã hội"})
    plan, problems = _check(path)
    assert problems == []
    assert plan is not None
    assert plan.tasks[1].owner_unit == "vhxh"


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ({"Đơn vị chủ trì": "Phòng Tài nguyên"}, "CCHC-P006 task NV-02: unknown unit"),
        ({"Thời hạn": "31/02/2025"}, "deadline"),
        ({"Thời hạn": date(2026, 3, 1)}, "CCHC-P008 task NV-02: deadline 01/03/2026 is outside"),
        ({"Tiêu chí": "9.9.9"}, "CCHC-P007 task NV-02: unknown sub-criterion '9.9.9'"),
        ({"Mã nhiệm vụ": "NV-01"}, "CCHC-P005 task code 'NV-01' is used twice"),
        ({"Nội dung nhiệm vụ": None}, "title"),
    ],
    ids=[
        "unknown unit",
        "impossible date",
        "deadline outside period",
        "unknown criterion",
        "duplicate code",
        "missing title",
    ],
)
def test_bad_cell_is_named_with_sheet_and_row(
    tmp_path: Path, edit: dict[str, object], expected: str
) -> None:
    """A bad cell refuses the whole plan, naming the sheet, the row and the problem."""
    plan, problems = _check(_sheet_with(tmp_path, edit))
    assert plan is None
    assert any(expected in p and f"[{TASK_SHEET}]" in p and ":3:" in p for p in problems), problems


def test_missing_column_and_sheet(tmp_path: Path) -> None:
    """A sheet without a required column, or a workbook without the sheets, is refused."""
    path = _sheet_with(tmp_path, {})
    book = load_workbook(path)
    book[TASK_SHEET].delete_cols(5)
    book.save(path)
    assert any("CCHC-P010 missing column(s): đơn vị chủ trì" in p for p in _check(path)[1])
    del book[TASK_SHEET]
    book.save(path)
    assert any("CCHC-P009 missing sheet(s): Nhiệm vụ" in p for p in _check(path)[1])


def test_not_a_workbook(tmp_path: Path) -> None:
    """A file that is not a workbook, or of another type, gets one clear problem."""
    fake = tmp_path / "kh.xlsx"
    fake.write_bytes(b"not a zip")
    assert "CCHC-P001 cannot open the workbook" in _check(fake)[1][0]
    other = tmp_path / "kh.docx"
    other.write_bytes(b"x")
    assert "CCHC-P001 a plan is a .yaml or .xlsx file" in _check(other)[1][0]


def test_yaml_problems_have_lines(tmp_path: Path) -> None:
    """YAML problems carry the line of the offending key."""
    text = SAMPLE.read_text(encoding="utf-8")
    text = text.replace("    owner_unit: ttphc\n", "    owner_unit: ttphc\n    colour: red\n")
    path = tmp_path / "kh.yaml"
    path.write_text(text, encoding="utf-8")
    plan, problems = _check(path)
    assert plan is None
    line = text.splitlines().index("    colour: red") + 1
    assert any(f":{line}: CCHC-P002" in p for p in problems), problems
