"""The XLSX readers (metrics, plans) say in words what hides a value: merged cells, formulas
never computed, the table on another sheet — instead of "unknown unit ''" or "None is not a
number"."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from tests.test_input_limits import METRIC_HEADER, METRIC_ROWS, run


def metrics_book(tmp_path: Path) -> tuple[Workbook, Path]:
    """A valid metrics workbook (three rows) and where to save it."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in [METRIC_HEADER, *METRIC_ROWS]:
        sheet.append(row)
    return book, tmp_path / "metrics.xlsx"


def check(tmp_path: Path, *args: str) -> str:
    result = run(tmp_path, *args)
    assert result.exit_code == 1, result.output
    return result.stdout.replace(f"{tmp_path}/", "")


def test_merged_unit_cells_are_named(tmp_path: Path) -> None:
    """Two rows sharing a merged unit cell give CCHC-M004 naming the merged cells."""
    book, path = metrics_book(tmp_path)
    sheet = book.active
    assert sheet is not None
    sheet["A3"] = None
    sheet.merge_cells("A2:A3")
    book.save(path)
    out = check(tmp_path, "metrics", "check", str(path))
    assert out.startswith("metrics.xlsx:2: CCHC-M004 cells A2:A3 are merged: only A2 holds a value")
    assert "unknown unit ''" not in out


def test_an_uncomputed_formula_is_named(tmp_path: Path) -> None:
    """A numerator written as a formula with no stored value gives CCHC-M004 naming the cell
    and the formula, not "None is not a number"."""
    book, path = metrics_book(tmp_path)
    sheet = book.active
    assert sheet is not None
    sheet["D2"] = "=2*490"
    book.save(path)
    out = check(tmp_path, "metrics", "check", str(path))
    assert out.startswith(
        "metrics.xlsx:2: CCHC-M004 cell D2 holds a formula (=2*490) whose value was never computed"
    )
    assert "None is not a number" not in out


def test_a_table_on_another_sheet_is_named(tmp_path: Path) -> None:
    """A cover sheet before the table gives CCHC-M004 naming both sheets."""
    book, path = metrics_book(tmp_path)
    data = book.active
    assert data is not None
    data.title = "Số liệu"
    cover = book.create_sheet("Bìa", 0)
    cover["A1"] = "Số liệu chỉ số CCHC"
    book.save(path)
    out = check(tmp_path, "metrics", "check", str(path))
    assert out.startswith(
        "metrics.xlsx:1: CCHC-M004 only the first sheet ('Bìa') is read, and "
        "the table is on sheet 'Số liệu'"
    )


def test_extra_sheets_after_the_table_are_fine(tmp_path: Path) -> None:
    """A notes sheet after the table does not matter: the file is valid."""
    book, path = metrics_book(tmp_path)
    book.create_sheet("Ghi chú")["A1"] = "Mã đơn vị: xem danh mục"
    book.save(path)
    assert run(tmp_path, "metrics", "check", str(path)).exit_code == 0


@pytest.fixture
def template(tmp_path: Path) -> Path:
    """The plan template with its three sample tasks (task rows 2 … 4)."""
    path = tmp_path / "plan.xlsx"
    assert run(tmp_path, "plan", "template", str(path)).exit_code == 0
    return path


def test_a_plan_with_merged_owner_cells_is_refused_in_words(tmp_path: Path, template: Path) -> None:
    """Merged owner-unit cells over two tasks give CCHC-P011 naming the cells."""
    book = load_workbook(template)
    book["Nhiệm vụ"].merge_cells("E2:E3")
    book.save(template)
    out = check(tmp_path, "plan", "check", str(template))
    assert out.startswith("plan.xlsx[Nhiệm vụ]:2: CCHC-P011 cells E2:E3 are merged")
    assert "Field required" not in out


def test_a_plan_formula_in_a_read_column_is_refused_in_words(
    tmp_path: Path, template: Path
) -> None:
    """An uncomputed formula as a task code is CCHC-P011; one in the STT column (not read) is
    harmless."""
    book = load_workbook(template)
    book["Nhiệm vụ"]["A3"] = "=A2+1"
    book.save(template)
    assert run(tmp_path, "plan", "check", str(template)).exit_code == 0
    book["Nhiệm vụ"]["B3"] = '="NV-"&A3'
    book.save(template)
    out = check(tmp_path, "plan", "check", str(template))
    assert out.startswith('plan.xlsx[Nhiệm vụ]:3: CCHC-P011 cell B3 holds a formula (="NV-"&A3)')


def test_a_plan_task_sheet_under_another_name_is_named(tmp_path: Path, template: Path) -> None:
    """A task sheet renamed "Sheet2" is named in the missing-sheet problem."""
    book = load_workbook(template)
    book["Nhiệm vụ"].title = "Sheet2"
    book.save(template)
    out = check(tmp_path, "plan", "check", str(template))
    assert "missing sheet(s): Nhiệm vụ; the workbook has 'Kế hoạch', 'Sheet2'; the tasks seem " in (
        out
    )
    assert "to be on sheet 'Sheet2' (rename it 'Nhiệm vụ')" in out
