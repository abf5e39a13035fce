"""A Decree 30/2020/NĐ-CP administrative document (báo cáo, thông báo, công văn …) as .docx.

The layout follows Appendix I of the decree and the ward's own documents (``shared/seeds``):
A4 portrait, margins top 20, bottom 20, left 30, right 15 mm, Times New Roman; a borderless
two-column header (issuing body and number on the left; national name, motto and the
place-and-date line on the right); the kind of document and its subject centred in bold;
justified body paragraphs with a first-line indent; a borderless two-column closing
(“Nơi nhận:” and the recipients on the left, the signature block on the right); page
numbers centred at the top from page 2 on. An appendix may follow in a landscape section.

Use :class:`AdminDocument` step by step, or :func:`write_admin_document` with a list of blocks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.section import Section
from docx.shared import Cm, Mm, Pt
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from cchc import vi_text
from cchc.reports.model import (
    Alignment,
    Block,
    DocumentHeader,
    Heading,
    Signature,
    TableBlock,
    TextBlock,
)

__all__ = [
    "FONT",
    "AdminDocument",
    "build_admin_document",
    "normalise_recipients",
    "write_admin_document",
]

FONT = "Times New Roman"
BODY_PT = 14
NAME_PT = 12  # issuing body and national name: 12-13 pt, upper case, bold
MOTTO_PT = 13  # motto and number line: 13-14 pt
RECIPIENTS_HEAD_PT = 12
RECIPIENTS_PT = 11

PAGE_W_MM, PAGE_H_MM = 210.0, 297.0
TOP_MM, BOTTOM_MM, LEFT_MM, RIGHT_MM = 20.0, 20.0, 30.0, 15.0
HEADER_LEFT_MM, HEADER_RIGHT_MM = 63.0, 102.0
CLOSING_LEFT_MM, CLOSING_RIGHT_MM = 80.0, 85.0
SIGNATURE_BLANK_LINES = 4
NBSP = "\u00a0"
DRAFT_MARK = "DỰ THẢO"
DRAFT_BOX_MM = 30.0

_ALIGN = {
    "justify": WD_ALIGN_PARAGRAPH.JUSTIFY,
    "left": WD_ALIGN_PARAGRAPH.LEFT,
    "center": WD_ALIGN_PARAGRAPH.CENTER,
    "right": WD_ALIGN_PARAGRAPH.RIGHT,
}


# --- low-level helpers -----------------------------------------------------------------------


def _run(
    paragraph: Paragraph,
    text: str,
    *,
    size: float = BODY_PT,
    bold: bool = False,
    italic: bool = False,
    underline: bool = False,
) -> None:
    """Append ``text`` to ``paragraph`` in Times New Roman for every script Word knows of."""
    run = paragraph.add_run(text)
    font = run.font
    font.name = FONT
    font.size = Pt(size)
    # Only what is switched on is written: the rest inherits from the style (plain text).
    font.bold = bold or None
    font.italic = italic or None
    font.underline = underline or None
    rfonts = run._r.get_or_add_rPr().get_or_add_rFonts()
    for attribute in ("w:eastAsia", "w:cs"):
        rfonts.set(qn(attribute), FONT)


def _spacing(
    paragraph: Paragraph,
    *,
    before: float = 0,
    after: float = 0,
    align: Alignment = "center",
    line: float | None = 1.0,
) -> Paragraph:
    fmt = paragraph.paragraph_format
    fmt.space_before = Pt(before)
    fmt.space_after = Pt(after)
    fmt.alignment = _ALIGN[align]
    if line is not None:
        fmt.line_spacing = line
    return paragraph


def _first_paragraph(cell: _Cell) -> Paragraph:
    """A new cell holds one empty paragraph: use it for the first line instead of adding one."""
    first: Paragraph = cell.paragraphs[0]
    return first


def _cell_paragraph(cell: _Cell, first: bool) -> Paragraph:
    return _first_paragraph(cell) if first else cell.add_paragraph()


def _rule(paragraph: Paragraph, length_mm: float, area_mm: float) -> None:
    """Turn an empty paragraph into a short centred horizontal rule of ``length_mm``."""
    fmt = paragraph.paragraph_format
    side = max(0.0, (area_mm - length_mm) / 2)
    fmt.left_indent = Mm(side)
    fmt.right_indent = Mm(side)
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(0)
    fmt.line_spacing = Pt(2)
    fmt.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p_pr = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        bottom.set(qn(key), value)
    borders.append(bottom)
    # pBdr must come before the spacing, indentation and justification elements.
    anchor = p_pr.find(qn("w:spacing"))
    if anchor is None:
        p_pr.append(borders)
    else:
        anchor.addprevious(borders)


def _table_borders(table: Table, value: str) -> None:
    """Set every border of ``table`` to ``value`` (``nil`` for none, ``single`` for a grid)."""
    tbl_pr = table._tbl.tblPr
    existing = tbl_pr.find(qn("w:tblBorders"))
    if existing is not None:
        tbl_pr.remove(existing)
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), value)
        if value != "nil":
            element.set(qn("w:sz"), "4")
            element.set(qn("w:space"), "0")
            element.set(qn("w:color"), "000000")
        borders.append(element)
    # Schema order: tblBorders comes after tblInd and before shd, tblLayout, tblCellMar, tblLook.
    tbl_pr.insert_element_before(
        borders, "w:shd", "w:tblLayout", "w:tblCellMar", "w:tblLook", "w:tblCaption"
    )


def _widths(table: Table, widths_mm: Sequence[float]) -> None:
    table.autofit = False
    for column, width in zip(table.columns, widths_mm, strict=True):
        column.width = Mm(width)
    for row in table.rows:
        for cell, width in zip(row.cells, widths_mm, strict=True):
            cell.width = Mm(width)


def _row_flag(tr_pr: BaseOxmlElement, name: str) -> None:
    """Switch on the row property ``name`` (``w:cantSplit``, ``w:tblHeader``) once."""
    if tr_pr.find(qn(name)) is None:
        flag = OxmlElement(name)
        flag.set(qn("w:val"), "true")
        tr_pr.append(flag)


def _repeat_header(table: Table) -> None:
    _row_flag(table.rows[0]._tr.get_or_add_trPr(), "w:tblHeader")


def _keep_rows_whole(table: Table) -> None:
    """No row is split across two pages (a row that does not fit moves to the next page)."""
    for row in table.rows:
        _row_flag(row._tr.get_or_add_trPr(), "w:cantSplit")


_PLACE = re.compile(r"(?<=\S )((?:PHƯỜNG|XÃ|ĐẶC KHU|THÀNH PHỐ|TỈNH) .+)$")


def header_lines(name: str) -> list[str]:
    """The lines of an issuing body's name in the header: the given lines (``\n``), each
    keeping a place name whole after other words (``ỦY BAN NHÂN DÂN PHƯỜNG PHÙ LIỄN`` may
    wrap after ``DÂN``, never inside ``PHƯỜNG PHÙ LIỄN``): its spaces become non-breaking."""
    return [
        _PLACE.sub(lambda m: m.group(1).replace(" ", NBSP), line.strip())
        for line in name.split("\n")
        if line.strip()
    ]


def _page_number(section: Section) -> None:
    """A centred PAGE field in the section header (the first page of the document has none)."""
    paragraph = section.header.paragraphs[0]
    _spacing(paragraph, align="center")
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    r_pr = OxmlElement("w:rPr")
    fonts = OxmlElement("w:rFonts")
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attribute), FONT)
    size = OxmlElement("w:sz")
    size.set(qn("w:val"), str(BODY_PT * 2))
    r_pr.append(fonts)
    r_pr.append(size)
    text = OxmlElement("w:t")
    text.text = "2"
    run.append(r_pr)
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def _page_setup(section: Section, *, landscape: bool = False) -> None:
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    width, height = (PAGE_H_MM, PAGE_W_MM) if landscape else (PAGE_W_MM, PAGE_H_MM)
    section.page_width = Mm(width)
    section.page_height = Mm(height)
    section.top_margin = Mm(TOP_MM)
    section.bottom_margin = Mm(BOTTOM_MM)
    section.left_margin = Mm(LEFT_MM)
    section.right_margin = Mm(RIGHT_MM)
    section.header_distance = Mm(10)
    section.footer_distance = Mm(10)


def normalise_recipients(recipients: Iterable[str]) -> list[str]:
    """Each recipient as ``- …;``, the last one ending in ``.`` (as in the seeds).

    Lines already starting with ``-`` or ending with ``;`` or ``.`` are left as they are.
    """
    items = [item.strip() for item in recipients if item.strip()]
    out = []
    for i, item in enumerate(items):
        line = item if item.startswith("-") else f"- {item}"
        if not line.endswith((";", ".")):
            line += "." if i == len(items) - 1 else ";"
        out.append(line)
    return out


# --- the builder ----------------------------------------------------------------------------


class AdminDocument:
    """A document under construction: header and title on creation, then body, closing, appendix.

    Typical order: blocks (:meth:`add`), :meth:`close` (recipients and signature), then
    optionally :meth:`appendix` and more blocks, then :meth:`save`.
    """

    def __init__(self, header: DocumentHeader) -> None:
        self.header = header
        self.document: DocxDocument = Document()
        self._text_width_mm = PAGE_W_MM - LEFT_MM - RIGHT_MM
        self._setup()
        self._write_header()
        self._write_title()

    # -- set-up -------------------------------------------------------------------------------

    def _setup(self) -> None:
        doc = self.document
        normal = doc.styles["Normal"]
        normal.font.name = FONT
        normal.font.size = Pt(BODY_PT)
        r_pr = normal.element.get_or_add_rPr()
        fonts = r_pr.get_or_add_rFonts()
        for attribute in ("w:eastAsia", "w:cs"):
            fonts.set(qn(attribute), FONT)
        lang = OxmlElement("w:lang")
        lang.set(qn("w:val"), "vi-VN")
        r_pr.append(lang)
        section = doc.sections[0]
        _page_setup(section)
        section.different_first_page_header_footer = True
        _page_number(section)
        props = doc.core_properties
        h = self.header
        # Header names and subjects may hold line breaks: properties are one line each.
        props.title = " ".join(" ".join((h.kind_title or "", *h.subject)).split())
        props.author = " ".join(f"{h.issuing_body_parent} {h.issuing_body}".split())
        props.last_modified_by = props.author
        props.language = "vi-VN"
        props.comments = ""  # python-docx's template says "generated by python-docx"
        props.revision = 1
        props.created = props.modified = _now()

    def _borderless(self, widths_mm: Sequence[float]) -> Table:
        table: Table = self.document.add_table(rows=1, cols=len(widths_mm))
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        _table_borders(table, "nil")
        _widths(table, widths_mm)
        return table

    # -- header, title ------------------------------------------------------------------------

    def _write_draft_mark(self) -> None:
        """``DỰ THẢO`` in a box at the top right: the document is a draft, not yet issued."""
        p = _spacing(self.document.add_paragraph(), after=6, align="center")
        _run(p, DRAFT_MARK, size=NAME_PT, bold=True)
        p_pr = p._p.get_or_add_pPr()
        borders = OxmlElement("w:pBdr")
        for edge in ("top", "left", "bottom", "right"):
            line = OxmlElement(f"w:{edge}")
            for key, value in (
                ("w:val", "single"),
                ("w:sz", "6"),
                ("w:space", "2"),
                ("w:color", "000000"),
            ):
                line.set(qn(key), value)
            borders.append(line)
        p_pr.insert_element_before(borders, "w:spacing", "w:ind", "w:jc")
        p.paragraph_format.left_indent = Mm(self._text_width_mm - DRAFT_BOX_MM)

    def _write_header(self) -> None:
        h = self.header
        if h.draft:
            self._write_draft_mark()
        table = self._borderless((HEADER_LEFT_MM, HEADER_RIGHT_MM))
        left, right = table.rows[0].cells
        for cell in (left, right):
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.TOP

        names = [(line, h.bold_parent) for line in header_lines(h.issuing_body_parent.upper())]
        names += [(line, True) for line in header_lines(h.issuing_body.upper())]
        for i, (line, bold) in enumerate(names):
            _run(_spacing(_cell_paragraph(left, i == 0)), line, size=NAME_PT, bold=bold)
        _rule(left.add_paragraph(), HEADER_LEFT_MM / 3, HEADER_LEFT_MM - 4)
        p = _spacing(left.add_paragraph(), before=6)
        _run(p, f"Số: {h.number}", size=MOTTO_PT)
        if h.kind_title is None:
            for i, line in enumerate(h.subject):
                p = _spacing(left.add_paragraph(), before=6 if i == 0 else 0)
                _run(p, f"V/v {line}" if i == 0 else line, size=NAME_PT)

        p = _spacing(_first_paragraph(right))
        _run(p, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", size=NAME_PT, bold=True)
        p = _spacing(right.add_paragraph())
        _run(p, "Độc lập - Tự do - Hạnh phúc", size=MOTTO_PT, bold=True, underline=True)
        p = _spacing(right.add_paragraph(), line=None)
        p.paragraph_format.line_spacing = Pt(2)
        p = _spacing(right.add_paragraph(), before=6)
        _run(p, vi_text.place_date(h.place, h.date), size=BODY_PT, italic=True)

    def _write_title(self) -> None:
        h = self.header
        if h.kind_title is None:
            _spacing(self.document.add_paragraph(), after=6)
            return
        p = _spacing(self.document.add_paragraph(), before=24)
        _run(p, h.kind_title.upper(), bold=True)
        for line in h.subject:
            _run(_spacing(self.document.add_paragraph()), line, bold=True)
        _rule(self.document.add_paragraph(), 50, self._text_width_mm)
        _spacing(self.document.add_paragraph(), after=6)

    # -- body ---------------------------------------------------------------------------------

    def heading(self, text: str) -> Paragraph:
        """A bold section heading, justified, with the body's first-line indent."""
        p = _spacing(self.document.add_paragraph(), before=6, after=6, align="justify")
        p.paragraph_format.first_line_indent = Cm(1.27)
        _run(p, text, bold=True)
        return p

    def paragraph(
        self,
        text: str,
        *,
        bold: bool = False,
        italic: bool = False,
        indent: bool = True,
        align: Alignment = "justify",
    ) -> Paragraph:
        """A body paragraph (justified, 1.27 cm first-line indent, 6 pt after, 1.15 lines)."""
        p = _spacing(self.document.add_paragraph(), after=6, align=align, line=1.15)
        if indent:
            p.paragraph_format.first_line_indent = Cm(1.27)
        _run(p, text, bold=bold, italic=italic)
        return p

    def table(self, block: TableBlock) -> Table:
        """A bordered table, bold header row repeated on each page, then a small gap."""
        columns = len(block.columns)
        table: Table = self.document.add_table(rows=1 + len(block.rows), cols=columns)
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        _table_borders(table, "single")
        widths = block.widths_mm or [self._text_width_mm / columns] * columns
        _widths(table, widths)
        _repeat_header(table)
        _keep_rows_whole(table)
        # ``Table.cell(r, c)`` rebuilds the whole cell grid on every call (quadratic time);
        # take each row's cells once instead.
        rows = table.rows
        for title, cell in zip(block.columns, rows[0].cells, strict=True):
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
            _run(_spacing(_first_paragraph(cell)), title, size=block.font_pt, bold=True)
        for r, values in enumerate(block.rows, start=1):
            bold = (r - 1) in block.bold_rows
            cells = rows[r].cells
            for c, value in enumerate(values):
                cell = cells[c]
                cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
                align: Alignment = "right" if c in block.numeric_columns else "left"
                for i, line in enumerate(value.split("\n")):
                    p = _spacing(_cell_paragraph(cell, i == 0), align=align)
                    _run(p, line, size=block.font_pt, bold=bold)
        _spacing(self.document.add_paragraph(), after=6)
        return table

    def add(self, block: Block) -> None:
        """Append one body block."""
        if isinstance(block, Heading):
            self.heading(block.text)
        elif isinstance(block, TextBlock):
            self.paragraph(
                block.text,
                bold=block.bold,
                italic=block.italic,
                indent=block.indent,
                align=block.align,
            )
        else:
            self.table(block)

    def extend(self, blocks: Iterable[Block]) -> None:
        """Append body blocks in order."""
        for block in blocks:
            self.add(block)

    # -- closing, appendix --------------------------------------------------------------------

    def close(self, recipients: Sequence[str], signature: Signature) -> Table:
        """The closing table: “Nơi nhận:” and the recipients left, the signature block right."""
        table = self._borderless((CLOSING_LEFT_MM, CLOSING_RIGHT_MM))
        left, right = table.rows[0].cells
        for cell in (left, right):
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.TOP

        p = _spacing(_first_paragraph(left), align="left")
        _run(p, "Nơi nhận:", size=RECIPIENTS_HEAD_PT, bold=True, italic=True)
        for line in normalise_recipients(recipients):
            _run(_spacing(left.add_paragraph(), align="left"), line, size=RECIPIENTS_PT)

        lines = [line for line in (signature.on_behalf, signature.deputy, signature.title) if line]
        for i, line in enumerate(lines):
            _run(_spacing(_cell_paragraph(right, i == 0)), line.upper(), bold=True)
        for _ in range(SIGNATURE_BLANK_LINES):
            _spacing(right.add_paragraph())
        _run(_spacing(right.add_paragraph()), signature.name, bold=True)
        return table

    def appendix(
        self,
        title_lines: Sequence[str],
        *,
        label: str = "Phụ lục",
        issuer_phrase: str | None = None,
        landscape: bool = True,
    ) -> None:
        """Start an appendix on a new page (landscape by default) with its Decree 30 heading.

        ``label`` (e.g. ``Phụ lục I``) and ``title_lines`` are centred in bold, then the italic
        reference ``(Kèm theo Báo cáo số 12/BC-UBND ngày 05/12/2025 của …)``; ``issuer_phrase``
        defaults to ``Ủy ban nhân dân phường Phù Liễn`` built from the header.
        """
        h = self.header
        section = self.document.add_section(WD_SECTION.NEW_PAGE)
        _page_setup(section, landscape=landscape)
        section.different_first_page_header_footer = False
        self._text_width_mm = (PAGE_H_MM if landscape else PAGE_W_MM) - LEFT_MM - RIGHT_MM
        _run(_spacing(self.document.add_paragraph()), label, bold=True)
        for line in title_lines:
            _run(_spacing(self.document.add_paragraph()), line, bold=True)
        if issuer_phrase is None:
            issuer_phrase = default_issuer_phrase(h)
        kind = (h.kind_title or "Văn bản").capitalize()
        day = vi_text.document_date(h.date)
        reference = f"(Kèm theo {kind} số {h.number} ngày {day} của {issuer_phrase})"
        _run(_spacing(self.document.add_paragraph(), after=12), reference, italic=True)

    def save(self, path: Path | str) -> Path:
        """Write the .docx (creating parent folders) and return its path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        self.document.core_properties.modified = _now()
        self.document.save(str(target))
        return target


def _now() -> datetime:
    """Now in UTC to the second, as the core properties store it (W3CDTF, ``Z``)."""
    return datetime.now(UTC).replace(microsecond=0, tzinfo=None)


def default_issuer_phrase(header: DocumentHeader) -> str:
    """Who issued the document, in running text, from its header.

    Under the bare ``ỦY BAN NHÂN DÂN`` the issuer is the committee of the place named by the
    issuing body (``Ủy ban nhân dân phường Phù Liễn``); under any other parent it is the issuing
    body itself, in sentence case (``Đoàn kiểm tra cải cách hành chính``: pass ``issuer_phrase``
    when its name holds proper nouns the upper-case header cannot restore).
    """
    body = " ".join(header.issuing_body.split())
    if " ".join(header.issuing_body_parent.split()).upper() == "ỦY BAN NHÂN DÂN":
        return _title_place(f"Ủy ban nhân dân {body.lower()}", header.place)
    return _title_place(body.capitalize(), header.place)


def _title_place(phrase: str, place: str) -> str:
    """Restore the capitals of the place name inside a lower-cased phrase."""
    return phrase.replace(place.lower(), place)


def build_admin_document(
    header: DocumentHeader,
    blocks: Iterable[Block],
    recipients: Sequence[str],
    signature: Signature,
) -> AdminDocument:
    """Header, title, ``blocks``, then the closing: a complete document without an appendix."""
    document = AdminDocument(header)
    document.extend(blocks)
    document.close(recipients, signature)
    return document


def write_admin_document(
    path: Path | str,
    header: DocumentHeader,
    blocks: Iterable[Block],
    recipients: Sequence[str],
    signature: Signature,
) -> Path:
    """:func:`build_admin_document` saved to ``path``."""
    return build_admin_document(header, blocks, recipients, signature).save(path)
