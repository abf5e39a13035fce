"""The form of the files officials open: DOCX core properties, XLSX row heights and page set-up."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from docx import Document
from openpyxl import load_workbook
from openpyxl.cell.cell import Cell
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from cchc.inspection.exports import HEADINGS, write_xlsx
from cchc.inspection.history import History, HistoryRow, Subject
from cchc.plan.loader import PLAN_SHEET, TASK_SHEET, check_plan, write_plan_xlsx
from cchc.reports.admin_document import write_admin_document
from cchc.reports.model import (
    DocumentHeader,
    RankingTable,
    SelfAssessmentTable,
    Signature,
    TextBlock,
)
from cchc.reports.ranking import write_ranking_xlsx
from cchc.reports.self_assessment import write_self_assessment_xlsx
from cchc.review.compile import ReviewData, UnitProgress
from cchc.review.documents import review_chart
from tests import render

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_PLAN = ROOT / "examples" / "plan-phu-lien-2025-h2.yaml"
UNIT_NAMES = {
    "vhxh": "Phòng Văn hóa - Xã hội",
    "vp": "Văn phòng HĐND và UBND",
    "kt": "Phòng Kinh tế, Hạ tầng và Đô thị",
    "ttphc": "Trung tâm Phục vụ hành chính công",
    "ttsnc": "Trung tâm sự nghiệp công",
}


def _criteria() -> set[str]:
    data = yaml.safe_load(SAMPLE_PLAN.read_text(encoding="utf-8"))
    return {code for task in data["tasks"] for code in task.get("criteria", [])}


def test_docx_core_properties(
    tmp_path: Path, header: DocumentHeader, signature: Signature, recipients: list[str]
) -> None:
    """A written DOCX says when it was made and by whom: created and modified now, author,
    title, no python-docx leftovers."""
    before = datetime.now(UTC).replace(microsecond=0)
    path = write_admin_document(
        tmp_path / "bc.docx", header, [TextBlock(text="Nội dung.")], recipients, signature
    )
    after = datetime.now(UTC)
    props = Document(str(path)).core_properties
    assert props.created is not None
    assert props.modified is not None
    assert before <= props.created.replace(tzinfo=UTC) <= after
    assert props.modified.replace(tzinfo=UTC) - props.created.replace(tzinfo=UTC) < timedelta(
        seconds=1
    )
    assert props.author == "ỦY BAN NHÂN DÂN PHƯỜNG PHÙ LIỄN"
    assert props.last_modified_by == props.author
    assert props.title.startswith("BÁO CÁO Kết quả tự đánh giá")
    assert "python-docx" not in props.comments


# --- XLSX -------------------------------------------------------------------------------------


def _width(ws: Worksheet, cell: Cell) -> float:
    """The cell's printed width in width units: its column, or its merged range."""
    for merged in ws.merged_cells.ranges:
        if cell.coordinate in merged:
            cols = range(merged.min_col, merged.max_col + 1)
            return sum(ws.column_dimensions[get_column_letter(c)].width for c in cols)
    return float(ws.column_dimensions[get_column_letter(cell.column)].width)


def _assert_rows_fit(ws: Worksheet) -> int:
    """Every row with wrapped text is at least as tall as a lenient count of its lines needs
    (1,5 characters of 11 pt per width unit, 1,15 × the font size per line); returns how many
    rows needed more than one line."""
    tall = 0
    for row in ws.iter_rows():
        for cell in row:
            if not isinstance(cell, Cell) or not isinstance(cell.value, str):
                continue
            if not cell.alignment.wrap_text:
                continue
            size = float(cell.font.sz or 11)
            per_line = _width(ws, cell) * 1.5 * 11 / size
            lines = sum(math.ceil(max(len(p), 1) / per_line) for p in cell.value.split("\n"))
            if lines < 2:
                continue
            tall += 1
            height = ws.row_dimensions[cell.row].height
            assert height is not None, f"{ws.title}!{cell.coordinate}: {lines} lines, no height"
            assert height >= lines * size * 1.15, f"{ws.title}!{cell.coordinate}: {height} pt"
    return tall


def _assert_a4(ws: Worksheet, orientation: str, title_rows: str | None) -> None:
    assert str(ws.page_setup.paperSize) == ws.PAPERSIZE_A4  # 9: A4
    assert ws.page_setup.orientation == orientation
    assert ws.sheet_properties.pageSetUpPr is not None
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.page_setup.fitToWidth == 1
    assert ws.page_setup.fitToHeight == 0
    assert ws.print_title_rows == title_rows


def test_ranking_rows_are_as_tall_as_their_wrapped_text(
    tmp_path: Path, ranking: RankingTable
) -> None:
    """Long explanations get row heights for all their lines; the sheet prints A4 landscape,
    one page wide, with the header row on every page."""
    long = replace(ranking.rows[0], explanation="Điểm thành phần: nhiệm vụ đúng hạn 2/2. " * 8)
    ranking = replace(ranking, rows=[long, *ranking.rows[1:]])
    ws = load_workbook(write_ranking_xlsx(tmp_path / "xh.xlsx", ranking)).active
    assert isinstance(ws, Worksheet)
    assert _assert_rows_fit(ws) >= 2  # the long explanation and the wrapped headings
    _assert_a4(ws, "landscape", "$3:$3")


def test_self_assessment_rows_fit(tmp_path: Path, assessment: SelfAssessmentTable) -> None:
    """The self-assessment sheet's wrapped titles, evidence and explanations fit their rows."""
    ws = load_workbook(write_self_assessment_xlsx(tmp_path / "tdg.xlsx", assessment)).active
    assert isinstance(ws, Worksheet)
    assert _assert_rows_fit(ws) >= 1
    _assert_a4(ws, "landscape", "$4:$4")


def test_plan_workbook_prints_on_a4_and_names_units(tmp_path: Path) -> None:
    """The plan workbook: the plan sheet A4 portrait, the task sheet landscape with its header
    on every page and rows tall enough; units by their names, which read back as the plan."""
    plan, problems = check_plan(
        SAMPLE_PLAN, known_units=set(UNIT_NAMES), known_criteria=_criteria()
    )
    assert plan is not None, problems
    path = write_plan_xlsx(plan, tmp_path / "kh.xlsx", unit_names=UNIT_NAMES)
    book = load_workbook(path)
    info, tasks = book[PLAN_SHEET], book[TASK_SHEET]
    _assert_a4(info, "portrait", None)
    _assert_a4(tasks, "landscape", "$1:$1")
    assert _assert_rows_fit(tasks) >= 3
    owners = [row[4] for row in tasks.iter_rows(min_row=2, values_only=True)]
    assert set(owners) <= set(UNIT_NAMES.values())
    assert "Phòng Văn hóa - Xã hội" in owners
    aliases = {name.lower(): code for code, name in UNIT_NAMES.items()}
    again, problems = check_plan(
        path, known_units=set(UNIT_NAMES), known_criteria=_criteria(), unit_aliases=aliases
    )
    assert problems == []
    assert again == plan


def test_history_times_are_date_times(tmp_path: Path) -> None:
    """The history sheet writes each time as a real date-time (local time, shown dd/mm/yyyy
    hh:mm:ss) and says the times are Vietnam's; its rows fit their text."""
    at = datetime(2025, 11, 3, 2, 5, 9, tzinfo=UTC)  # 09:05:09 in Hà Nội
    row = HistoryRow(
        occurred_at=at,
        actor="bui.duc.anh",
        actor_name="Bùi Đức Anh",
        role="Chuyên viên",
        kind="evidence",
        instance_id=7,
        ref="criterion:1.1.3/1",
        object="Tài liệu kiểm chứng #7",
        trigger="submit",
        action="Nộp",
        from_state=None,
        to_state="submitted",
        moved="— → Đã nộp, chờ thẩm định",
        outcome="applied",
        outcome_label="Đã thực hiện",
        sha256="ab" * 32,
        reason="Bổ sung biên bản họp và danh sách đại biểu tham dự. " * 3,
    )
    subject = Subject(
        what="person",
        code="bui.duc.anh",
        title="Bùi Đức Anh",
        tenant="t",
        plan=None,
        owner_unit=None,
    )
    path = write_xlsx(tmp_path / "ls.xlsx", History(subject, None, None, (row, row)))
    ws = load_workbook(path).active
    assert isinstance(ws, Worksheet)
    assert [c.value for c in ws[4]] == list(HEADINGS)
    cell = ws["B5"]
    assert cell.value == datetime(2025, 11, 3, 9, 5, 9)
    assert cell.number_format == "dd/mm/yyyy hh:mm:ss"
    assert any("GMT+7" in str(c.value) for c in ws["A"][:3])
    assert _assert_rows_fit(ws) >= 2
    _assert_a4(ws, "landscape", "$4:$4")


def test_review_chart_labels_axes_and_bars_with_whole_numbers() -> None:
    """The review chart names both axes, writes each bar's count at its end (0 too), and ticks
    whole numbers of tasks only, from 0."""
    units = [
        UnitProgress(
            unit="vhxh",
            unit_name="Phòng Văn hóa - Xã hội",
            done_in_period=["NV-01", "NV-02", "NV-03"],
            overdue=["NV-04"],
        ),
        UnitProgress(unit="vp", unit_name="Văn phòng HĐND và UBND"),
    ]
    review = ReviewData(
        plan="KH-CCHC-2025-H2",
        start=date(2025, 11, 1),
        end=date(2025, 11, 30),
        label="tháng 11/2025",
        units=units,
        index=Decimal(80),
    )
    figure = review_chart(review)
    figure.canvas.draw()
    axes = figure.axes[0]
    assert axes.get_xlabel() == "Số nhiệm vụ"
    assert axes.get_ylabel() == "Đơn vị"
    assert sorted(text.get_text() for text in axes.texts) == ["0", "0", "1", "3"]
    low, high = axes.get_xlim()
    ticks = [t for t in axes.get_xticks() if low <= t <= high]
    assert low == 0
    assert high > 3  # room for the label of the longest bar
    assert ticks == [round(t) for t in ticks]
    assert len(ticks) >= 2


def test_missing_libreoffice_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rendering tests fail under CI=true when LibreOffice is missing, and skip elsewhere."""
    monkeypatch.setattr(render, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="required in CI"):
        render.tool("soffice-that-is-not-installed")
    monkeypatch.setattr(render, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception, match="not installed"):
        render.tool("soffice-that-is-not-installed")
