"""The Decree 30 administrative document: page, header, title, body, closing, appendix."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Length

from cchc.reports.admin_document import (
    FONT,
    AdminDocument,
    normalise_recipients,
    write_admin_document,
)
from cchc.reports.model import (
    Block,
    DocumentHeader,
    Heading,
    Signature,
    TableBlock,
    TextBlock,
)
from tests.reports.docx_helpers import (
    all_bold,
    borders,
    has_bottom_rule,
    paragraph,
    table_rows,
    texts,
)

PLACE_DATE = re.compile(r"^Phù Liễn, ngày \d{2} tháng \d{1,2} năm 2025$")
BLOCKS: list[Block] = [
    Heading(text="I. TÌNH HÌNH THỰC HIỆN"),
    TextBlock(text="Ủy ban nhân dân phường đã triển khai Kế hoạch CCHC 6 tháng cuối năm 2025."),
    TableBlock(
        columns=["Đơn vị", "Số nhiệm vụ"],
        rows=[["Phòng Văn hóa - Xã hội", "12"], ["Tổng cộng", "12"]],
        widths_mm=[120, 45],
        numeric_columns=frozenset({1}),
        bold_rows=frozenset({1}),
    ),
]


def _mm(length: Length | None) -> int:
    assert length is not None
    return round(float(length.mm))


@pytest.fixture
def written(
    tmp_path: Path, header: DocumentHeader, signature: Signature, recipients: list[str]
) -> DocxDocument:
    """A report with a heading, a paragraph and a table, saved and opened again."""
    path = write_admin_document(tmp_path / "out" / "bc.docx", header, BLOCKS, recipients, signature)
    assert path.is_file()
    return Document(str(path))


def test_page_is_a4_with_decree_30_margins(written: DocxDocument) -> None:
    """A4 portrait; margins top/bottom 20-25, left 30-35, right 15-20 mm; Times New Roman 14."""
    section = written.sections[0]
    assert section.orientation == WD_ORIENT.PORTRAIT
    assert _mm(section.page_width) == 210
    assert _mm(section.page_height) == 297
    assert 20 <= _mm(section.top_margin) <= 25
    assert 20 <= _mm(section.bottom_margin) <= 25
    assert 30 <= _mm(section.left_margin) <= 35
    assert 15 <= _mm(section.right_margin) <= 20
    normal = written.styles["Normal"]
    assert normal.font.name == FONT
    assert normal.font.size is not None
    assert 13 <= normal.font.size.pt <= 14


def test_header_table(written: DocxDocument) -> None:
    """Borderless two columns: issuing body, rule, number | national name, motto, place-date."""
    table = written.tables[0]
    assert set(borders(table).values()) == {"nil"}
    left, right = table.rows[0].cells
    assert texts(left)[:2] == ["ỦY BAN NHÂN DÂN", "PHƯỜNG PHÙ LIỄN"]
    assert all_bold(paragraph(left, "ỦY BAN NHÂN DÂN"))
    assert all_bold(paragraph(left, "PHƯỜNG PHÙ LIỄN"))
    assert has_bottom_rule(left.paragraphs[2])
    number = [t for t in texts(left) if t.startswith("Số:")]
    assert number == ["Số: 12/BC-UBND"]

    assert texts(right)[:2] == ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"]
    assert all_bold(paragraph(right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"))
    motto = paragraph(right, "Độc lập - Tự do - Hạnh phúc")
    assert all_bold(motto)
    assert all(run.underline for run in motto.runs)
    place_date = texts(right)[-1]
    assert PLACE_DATE.match(place_date)
    assert place_date == "Phù Liễn, ngày 05 tháng 12 năm 2025"
    assert all(run.italic for run in paragraph(right, place_date).runs)
    for cell in (left, right):
        for p in cell.paragraphs:
            assert p.alignment == WD_ALIGN_PARAGRAPH.CENTER
            for run in p.runs:
                assert run.font.name == FONT


def test_title_and_subject_centred_bold(written: DocxDocument) -> None:
    """BÁO CÁO, then the subject line, both centred and bold, then a short rule."""
    body = written.paragraphs
    i = next(n for n, p in enumerate(body) if p.text == "BÁO CÁO")
    title, subject, rule = body[i], body[i + 1], body[i + 2]
    assert subject.text == "Kết quả tự đánh giá, chấm điểm Chỉ số CCHC năm 2025"
    for p in (title, subject):
        assert p.alignment == WD_ALIGN_PARAGRAPH.CENTER
        assert all_bold(p)
    assert has_bottom_rule(rule)


def test_body_blocks(written: DocxDocument) -> None:
    """Headings bold; paragraphs justified with a first-line indent; tables with a grid."""
    heading = next(p for p in written.paragraphs if p.text == "I. TÌNH HÌNH THỰC HIỆN")
    assert all_bold(heading)
    text = next(p for p in written.paragraphs if p.text.startswith("Ủy ban nhân dân phường đã"))
    assert text.alignment == WD_ALIGN_PARAGRAPH.JUSTIFY
    assert text.paragraph_format.first_line_indent == Cm(1.27)
    table = written.tables[1]
    assert set(borders(table).values()) == {"single"}
    assert table_rows(table) == [
        ["Đơn vị", "Số nhiệm vụ"],
        ["Phòng Văn hóa - Xã hội", "12"],
        ["Tổng cộng", "12"],
    ]
    assert all_bold(table.cell(0, 0).paragraphs[0])
    assert all_bold(table.cell(2, 0).paragraphs[0])
    assert not all_bold(table.cell(1, 0).paragraphs[0])
    assert table.cell(1, 1).paragraphs[0].alignment == WD_ALIGN_PARAGRAPH.RIGHT
    header_row = table.rows[0]._tr.trPr
    assert header_row is not None
    assert header_row.find(qn("w:tblHeader")) is not None


def test_closing_recipients_and_signature(written: DocxDocument) -> None:
    """Nơi nhận (bold italic) and recipients left; TM. / KT. / title, blanks, name right."""
    table = written.tables[-1]
    assert set(borders(table).values()) == {"nil"}
    left, right = table.rows[0].cells
    assert texts(left) == [
        "Nơi nhận:",
        "- Như trên;",
        "- Sở Nội vụ (Phòng CCHC&PC);",
        "- Lưu: VT, VH-XH.",
    ]
    head = paragraph(left, "Nơi nhận:")
    assert all(run.bold and run.italic for run in head.runs)
    lines = texts(right)
    assert lines[:3] == ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"]
    assert lines[-1] == "Trần Quang Hưng"
    assert lines[3:-1] == ["", "", "", ""]
    for line in ("TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH", "Trần Quang Hưng"):
        assert all_bold(paragraph(right, line))


def test_page_numbers_from_page_two(written: DocxDocument) -> None:
    """A PAGE field in the header; the first page has its own, empty header."""
    section = written.sections[0]
    assert section.different_first_page_header_footer
    fields = section.header._element.findall(f".//{qn('w:fldSimple')}")
    assert [f.get(qn("w:instr")) for f in fields] == ["PAGE"]
    assert section.first_page_header.paragraphs[0].text == ""


def test_official_letter_puts_subject_under_number(tmp_path: Path, signature: Signature) -> None:
    """Without a kind title (công văn) the subject is a V/v line under the number."""
    header = DocumentHeader(
        number="215/UBND-VHXH",
        date=date(2025, 9, 9),
        kind_title=None,
        subject=["thực hiện Bộ Chỉ số CCHC của", "UBND xã, phường, đặc khu"],
    )
    path = write_admin_document(
        tmp_path / "cv.docx", header, [], ["Như trên", "Lưu: VT"], signature
    )
    document = Document(str(path))
    left, right = document.tables[0].rows[0].cells
    assert texts(left)[-3:] == [
        "Số: 215/UBND-VHXH",
        "V/v thực hiện Bộ Chỉ số CCHC của",
        "UBND xã, phường, đặc khu",
    ]
    assert texts(right)[-1] == "Phù Liễn, ngày 09 tháng 9 năm 2025"
    assert not any(p.text == "BÁO CÁO" for p in document.paragraphs)


def test_signature_on_behalf_of_the_chairman(tmp_path: Path, header: DocumentHeader) -> None:
    """TL. CHỦ TỊCH / CHÁNH VĂN PHÒNG, as the Office signs a conclusion notice (seed 003)."""
    signature = Signature(
        on_behalf=None, deputy="TL. CHỦ TỊCH", title="CHÁNH VĂN PHÒNG", name="Cao Nguyễn Bình"
    )
    path = write_admin_document(tmp_path / "tb.docx", header, [], ["Lưu: VT"], signature)
    right = Document(str(path)).tables[-1].rows[0].cells[1]
    assert texts(right)[:2] == ["TL. CHỦ TỊCH", "CHÁNH VĂN PHÒNG"]
    assert texts(right)[-1] == "Cao Nguyễn Bình"


def test_appendix_is_a_landscape_section(
    tmp_path: Path, header: DocumentHeader, signature: Signature
) -> None:
    """Phụ lục on a new landscape page, citing the document's number and date."""
    document = AdminDocument(header)
    document.paragraph("Nội dung.")
    document.close(["Lưu: VT"], signature)
    document.appendix(["DANH MỤC NHIỆM VỤ"])
    reopened = Document(str(document.save(tmp_path / "pl.docx")))
    assert len(reopened.sections) == 2
    appendix = reopened.sections[1]
    assert appendix.orientation == WD_ORIENT.LANDSCAPE
    assert _mm(appendix.page_width) == 297
    lines = [p.text for p in reopened.paragraphs]
    assert "Phụ lục" in lines
    assert "DANH MỤC NHIỆM VỤ" in lines
    assert (
        "(Kèm theo Báo cáo số 12/BC-UBND ngày 05/12/2025 của Ủy ban nhân dân phường Phù Liễn)"
        in lines
    )


def test_normalise_recipients() -> None:
    """Dash in front, semicolons between, a full stop after the last; given ones kept."""
    assert normalise_recipients(
        ["Như trên", "- CT, các PCT UBND phường;", " ", "Lưu: VT, VHXH"]
    ) == [
        "- Như trên;",
        "- CT, các PCT UBND phường;",
        "- Lưu: VT, VHXH.",
    ]


def test_table_rows_stay_on_one_page_and_header_repeats(written: DocxDocument) -> None:
    """Every row of a body table is w:cantSplit; its first row is a repeated w:tblHeader."""
    table = written.tables[1]
    for row in table.rows:
        tr_pr = row._tr.trPr
        assert tr_pr is not None
        assert tr_pr.find(qn("w:cantSplit")) is not None
    header_pr = table.rows[0]._tr.trPr
    assert header_pr is not None
    assert header_pr.find(qn("w:tblHeader")) is not None
    assert all(r._tr.trPr.find(qn("w:tblHeader")) is None for r in table.rows[1:])


def test_header_names_break_between_names_only(tmp_path: Path, signature: Signature) -> None:
    """Given lines stay lines; a place name after other words keeps non-breaking spaces."""
    header = DocumentHeader(
        issuing_body_parent="Ủy ban nhân dân phường Phù Liễn",
        issuing_body="Đoàn kiểm tra\ncải cách hành chính",
        bold_parent=False,
        number="1/BC-ĐKT",
        date=date(2025, 12, 5),
    )
    path = write_admin_document(tmp_path / "h.docx", header, [], ["Lưu: VT"], signature)
    left = Document(str(path)).tables[0].rows[0].cells[0]
    assert texts(left)[:3] == [
        "ỦY BAN NHÂN DÂN PHƯỜNG\u00a0PHÙ\u00a0LIỄN",
        "ĐOÀN KIỂM TRA",
        "CẢI CÁCH HÀNH CHÍNH",
    ]
    assert not all_bold(left.paragraphs[0])
    assert all_bold(left.paragraphs[1])
    assert all_bold(left.paragraphs[2])


def test_appendix_cites_an_issuer_that_is_not_the_committee(
    tmp_path: Path, signature: Signature
) -> None:
    """Under a parent other than ỦY BAN NHÂN DÂN the citation names the issuing body itself."""
    header = DocumentHeader(
        issuing_body_parent="UBND phường Phù Liễn",
        issuing_body="Đoàn kiểm tra cải cách hành chính",
        number="1/BC-ĐKT",
        date=date(2025, 12, 5),
    )
    document = AdminDocument(header)
    document.close(["Lưu: VT"], signature)
    document.appendix(["LỊCH SỬ"])
    lines = [p.text for p in Document(str(document.save(tmp_path / "a.docx"))).paragraphs]
    assert (
        "(Kèm theo Báo cáo số 1/BC-ĐKT ngày 05/12/2025 của Đoàn kiểm tra cải cách hành chính)"
        in lines
    )
