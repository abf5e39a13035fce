"""The self-assessment: arithmetic, the XLSX table and the DOCX report."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from cchc.reports.model import (
    AssessmentRow,
    DocumentHeader,
    SelfAssessmentTable,
    Signature,
)
from cchc.reports.self_assessment import (
    COLUMNS,
    DOCX_COLUMNS,
    HEADER_ROW,
    SHEET_TITLE,
    summarise,
    write_self_assessment_docx,
    write_self_assessment_xlsx,
)
from tests.reports.docx_helpers import all_bold, table_rows, texts


def _sheet(path: Path) -> Worksheet:
    sheet = load_workbook(path)[SHEET_TITLE]
    assert isinstance(sheet, Worksheet)
    return sheet


def _row_of(sheet: Worksheet, code: str) -> int:
    """The spreadsheet row whose criterion code (column B) is ``code``."""
    return next(r for r in range(1, sheet.max_row + 1) if sheet.cell(r, 2).value == code)


def _row_labelled(sheet: Worksheet, label: str) -> int:
    return next(r for r in range(1, sheet.max_row + 1) if sheet.cell(r, 1).value == label)


@pytest.fixture
def xlsx(tmp_path: Path, assessment: SelfAssessmentTable) -> Worksheet:
    """The sample table written to XLSX and opened again."""
    return _sheet(write_self_assessment_xlsx(tmp_path / "reports" / "tu-danh-gia.xlsx", assessment))


@pytest.fixture
def report(
    tmp_path: Path,
    assessment: SelfAssessmentTable,
    header: DocumentHeader,
    signature: Signature,
    recipients: list[str],
) -> DocxDocument:
    """The sample report written to DOCX and opened again."""
    path = write_self_assessment_docx(
        tmp_path / "bao-cao.docx", assessment, header, signature, recipients
    )
    return Document(str(path))


# --- arithmetic -------------------------------------------------------------------------------


def test_summary_totals_index_and_coverage(assessment: SelfAssessmentTable) -> None:
    """Subtotals roll up; bonus stays outside the base; a penalty is lost by its unit."""
    summary = summarise(assessment)
    by_code = {row.row.code: row for row in summary.rows}
    assert by_code["1.1"].score == Decimal("3.25")
    assert by_code["1"].score == Decimal("8.75")
    assert by_code["3"].score == Decimal("4.9")
    assert by_code["T"].score == Decimal("0.5")
    assert by_code["1.3"].is_leaf
    assert [(a.code, a.max_points, a.score) for a in summary.areas] == [
        ("1", Decimal(10), Decimal("8.75")),
        ("3", Decimal(8), Decimal("4.9")),
    ]
    assert summary.areas[0].index_percent == Decimal("87.50")
    assert summary.base_max == Decimal(18)
    assert summary.base_score == Decimal("13.65")
    assert summary.bonus_penalty == Decimal("0.5")
    assert summary.total_score == Decimal("14.15")
    assert summary.index_percent == Decimal("78.61")
    assert [r.row.code for r in summary.losing] == ["1.1.3", "1.2.2", "3.1.1", "T.2"]
    assert summary.points_lost == Decimal("1.85")
    assert [r.row.code for r in summary.unscored] == ["3.1.2"]
    assert (summary.evidence_covered, summary.evidence_required) == (6, 8)
    assert summary.evidence_percent == Decimal("75.00")
    assert [r.stt for r in summary.rows[:5]] == ["I", "1", "a", "b", "c"]


def test_explicit_subtotal_wins() -> None:
    """A criterion row with its own score keeps it instead of the sum beneath it."""
    rows = [
        AssessmentRow(level="area", code="2", title="Cải cách thể chế", max_points=Decimal(3)),
        AssessmentRow(
            level="criterion",
            code="2.1",
            title="Rà soát văn bản QPPL",
            max_points=Decimal(3),
            self_score=Decimal(2),
        ),
        AssessmentRow(
            level="sub", code="2.1.1", title="x", max_points=Decimal(3), self_score=Decimal(3)
        ),
    ]
    summary = summarise(
        SelfAssessmentTable(ward_name="P", period_label="năm 2025", index_set_title="", rows=rows)
    )
    assert summary.areas[0].score == Decimal(2)
    assert summary.index_percent == Decimal("66.67")
    assert not summary.has_bonus_rows


# --- XLSX -------------------------------------------------------------------------------------


def test_xlsx_title_and_headers(xlsx: Worksheet) -> None:
    """Title rows name the ward and period; the header row has the eight columns, frozen."""
    assert xlsx.title == "Tự đánh giá"
    assert "CHỈ SỐ CẢI CÁCH HÀNH CHÍNH" in str(xlsx["A1"].value)
    assert xlsx["A2"].value == "Phường Phù Liễn - năm 2025"
    assert "3665/QĐ-UBND" in str(xlsx["A3"].value)
    assert [xlsx.cell(HEADER_ROW, c).value for c in range(1, 9)] == list(COLUMNS)
    assert xlsx.freeze_panes == f"A{HEADER_ROW + 1}"
    assert all(xlsx.cell(HEADER_ROW, c).font.b for c in range(1, 9))


def test_xlsx_sub_criterion_row(xlsx: Worksheet) -> None:
    """A sub-criterion row: numbers numeric with 2 decimals, Vietnamese text intact."""
    r = _row_of(xlsx, "1.1.3")
    values = [xlsx.cell(r, c).value for c in range(1, 9)]
    assert values == [
        "c",
        "1.1.3",
        "Mức độ hoàn thành kế hoạch CCHC",
        1.5,
        0.75,
        "- Báo cáo kết quả thực hiện kế hoạch\n- Danh mục sản phẩm nhiệm vụ",
        "Hoàn thành 18/22 nhiệm vụ (81,8%) đúng hạn",
        "Phòng Văn hóa - Xã hội",
    ]
    assert xlsx.cell(r, 4).number_format == "0.00"
    assert xlsx.cell(r, 5).number_format == "0.00"
    assert xlsx.cell(r, 6).alignment.wrap_text
    assert not xlsx.cell(r, 3).font.b
    assert xlsx.cell(_row_of(xlsx, "3.1.2"), 5).value is None


def test_xlsx_area_and_criterion_rows_bold_with_subtotals(xlsx: Worksheet) -> None:
    """Area and criterion rows are bold and carry the subtotal of the rows beneath."""
    area, criterion = _row_of(xlsx, "1"), _row_of(xlsx, "1.1")
    assert xlsx.cell(area, 1).value == "I"
    assert (xlsx.cell(area, 4).value, xlsx.cell(area, 5).value) == (10, 8.75)
    assert (xlsx.cell(criterion, 4).value, xlsx.cell(criterion, 5).value) == (4, 3.25)
    for r in (area, criterion):
        assert all(xlsx.cell(r, c).font.b for c in range(1, 9))
    assert xlsx.cell(_row_of(xlsx, "3"), 5).value == pytest.approx(4.9)


def test_xlsx_totals_and_index(xlsx: Worksheet) -> None:
    """Totals under the table; the index in percent with two decimals."""
    base = _row_labelled(xlsx, "Tổng điểm các lĩnh vực")
    assert (xlsx.cell(base, 4).value, xlsx.cell(base, 5).value) == (18, 13.65)
    assert xlsx.cell(_row_labelled(xlsx, "Điểm thưởng, điểm trừ"), 5).value == 0.5
    total = _row_labelled(xlsx, "Tổng điểm tự đánh giá")
    assert (xlsx.cell(total, 4).value, xlsx.cell(total, 5).value) == (18, 14.15)
    index = _row_labelled(xlsx, "Chỉ số CCHC (%)")
    assert index == xlsx.max_row
    assert xlsx.cell(index, 5).value == 78.61
    assert xlsx.cell(index, 5).number_format == "0.00"
    assert xlsx.cell(index, 1).font.b


def test_xlsx_layout(xlsx: Worksheet) -> None:
    """Column widths set, landscape A4 fitted to one page wide, header repeated."""
    assert xlsx.column_dimensions["C"].width == 60
    assert xlsx.column_dimensions["F"].width == 45
    assert xlsx.page_setup.orientation == "landscape"
    assert xlsx.print_title_rows == f"${HEADER_ROW}:${HEADER_ROW}"


def test_xlsx_without_bonus_rows(tmp_path: Path, assessment: SelfAssessmentTable) -> None:
    """Without bonus rows the totals are just the total and the index."""
    base_only = SelfAssessmentTable(
        ward_name=assessment.ward_name,
        period_label=assessment.period_label,
        index_set_title=assessment.index_set_title,
        rows=[row for row in assessment.rows if not row.code.startswith("T")],
    )
    sheet = _sheet(write_self_assessment_xlsx(tmp_path / "base.xlsx", base_only))
    labels = [sheet.cell(r, 1).value for r in range(sheet.max_row - 1, sheet.max_row + 1)]
    assert labels == ["Tổng điểm tự đánh giá", "Chỉ số CCHC (%)"]
    assert sheet.cell(sheet.max_row, 5).value == 75.83  # 13.65 / 18


# --- DOCX -------------------------------------------------------------------------------------


def test_docx_header_title_and_closing(report: DocxDocument) -> None:
    """The administrative layout: header table, title, Nơi nhận and signature block."""
    left, right = report.tables[0].rows[0].cells
    assert texts(left)[:2] == ["ỦY BAN NHÂN DÂN", "PHƯỜNG PHÙ LIỄN"]
    assert texts(left)[-1] == "Số: 12/BC-UBND"
    assert texts(right)[:2] == ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"]
    assert texts(right)[-1] == "Phù Liễn, ngày 05 tháng 12 năm 2025"
    lines = [p.text for p in report.paragraphs]
    title = lines.index("BÁO CÁO")
    assert lines[title + 1] == "Kết quả tự đánh giá, chấm điểm Chỉ số CCHC năm 2025"
    closing = next(t for t in report.tables if t.cell(0, 0).paragraphs[0].text == "Nơi nhận:")
    recipients, signature = closing.rows[0].cells
    assert texts(recipients)[-1] == "- Lưu: VT, VH-XH."
    assert texts(signature)[:3] == ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"]
    assert texts(signature)[-1] == "Trần Quang Hưng"


def test_docx_summary_body(report: DocxDocument) -> None:
    """Total, index, points lost by unit and evidence coverage in Vietnamese number format."""
    body = "\n".join(p.text for p in report.paragraphs)
    assert "Tổng điểm tự đánh giá đạt 14,15/18,00 điểm" in body
    assert "Chỉ số CCHC đạt 78,61%" in body
    assert "Có 4 tiêu chí thành phần bị trừ điểm, tổng số điểm bị trừ là 1,85 điểm" in body
    assert "- Văn phòng HĐND và UBND phường: 2 tiêu chí thành phần, 1,00 điểm." in body
    assert "- Phòng Văn hóa - Xã hội: 1 tiêu chí thành phần, 0,75 điểm." in body
    assert "3.1.2 (Trung tâm Phục vụ hành chính công)" in body
    assert "6/8 tiêu chí thành phần đã có tài liệu kiểm chứng (đạt 75,00%)" in body
    assert "- 1.2.2 Báo cáo đúng thời hạn (Văn phòng HĐND và UBND phường)." in body
    last = next(p.text for p in report.paragraphs if p.text.startswith("Trên đây là báo cáo"))
    assert last.endswith("năm 2025 của Ủy ban nhân dân phường Phù Liễn./.")


def test_docx_area_and_losing_tables(report: DocxDocument) -> None:
    """The per-area table with its total, and the table of sub-criteria that lose points."""
    areas = next(t for t in report.tables if t.cell(0, 1).text == "Lĩnh vực")
    assert table_rows(areas)[1:] == [
        ["1", "Công tác chỉ đạo, điều hành CCHC", "10,00", "8,75", "1,25", "87,50%"],
        ["3", "Cải cách thủ tục hành chính", "8,00", "4,90", "3,10", "61,25%"],
        ["", "Tổng cộng", "18,00", "13,65", "4,35", "75,83%"],
    ]
    assert all_bold(areas.cell(3, 1).paragraphs[0])
    losing = next(t for t in report.tables if t.cell(0, 1).text == "Tiêu chí thành phần")
    assert table_rows(losing)[1] == [
        "1.1.3",
        "Mức độ hoàn thành kế hoạch CCHC",
        "1,50",
        "0,75",
        "0,75",
        "Phòng Văn hóa - Xã hội",
    ]


def test_docx_appendix_holds_the_full_table(report: DocxDocument) -> None:
    """The whole table, totals and index in a landscape appendix after the signature."""
    assert report.sections[-1].orientation == WD_ORIENT.LANDSCAPE
    appendix = report.tables[-1]
    rows = table_rows(appendix)
    assert rows[0] == list(DOCX_COLUMNS)
    sub = next(row for row in rows if row[0] == "1.1.3")
    assert sub[2:4] == ["1,50", "0,75"]
    assert sub[4] == "- Báo cáo kết quả thực hiện kế hoạch\n- Danh mục sản phẩm nhiệm vụ"
    assert rows[-1][1:4] == ["Chỉ số CCHC (%)", "", "78,61%"]
    area = next(i for i, row in enumerate(rows) if row[0] == "1")
    assert all_bold(appendix.cell(area, 1).paragraphs[0])
    lines = [p.text for p in report.paragraphs]
    assert "PHƯỜNG PHÙ LIỄN NĂM 2025" in lines


def test_docx_rows_are_numbered_once(report: DocxDocument, assessment: SelfAssessmentTable) -> None:
    """Each row carries one number, the index set's code: no STT beside a code or in a title."""
    areas = next(t for t in report.tables if t.cell(0, 1).text == "Lĩnh vực")
    assert [row[:2] for row in table_rows(areas)[1:-1]] == [
        ["1", "Công tác chỉ đạo, điều hành CCHC"],
        ["3", "Cải cách thủ tục hành chính"],
    ]
    appendix = table_rows(report.tables[-1])
    assert appendix[0][:2] == ["STT", "Tiêu chí / tiêu chí thành phần"]
    assert "Mã tiêu chí" not in appendix[0]
    codes = [row.code for row in assessment.rows]
    assert [row[0] for row in appendix[1 : 1 + len(codes)]] == codes
    assert [row[1] for row in appendix[1 : 1 + len(codes)]] == [r.title for r in assessment.rows]
