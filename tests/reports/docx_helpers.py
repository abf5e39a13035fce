"""Reading back what the DOCX writers produced."""

from __future__ import annotations

from docx.oxml.ns import qn
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph


def texts(cell: _Cell) -> list[str]:
    """The text of each paragraph of ``cell``."""
    return [p.text for p in cell.paragraphs]


def paragraph(cell: _Cell, text: str) -> Paragraph:
    """The paragraph of ``cell`` whose text is ``text``."""
    found: Paragraph = next(p for p in cell.paragraphs if p.text == text)
    return found


def all_bold(p: Paragraph) -> bool:
    """Every run of ``p`` is bold."""
    return bool(p.runs) and all(run.bold for run in p.runs)


def has_bottom_rule(p: Paragraph) -> bool:
    """``p`` draws a horizontal rule (a bottom paragraph border)."""
    p_pr = p._p.pPr
    return p_pr is not None and p_pr.find(f"{qn('w:pBdr')}/{qn('w:bottom')}") is not None


def borders(table: Table) -> dict[str, str]:
    """Each table border's ``w:val`` (``nil`` = none)."""
    element = table._tbl.tblPr.find(qn("w:tblBorders"))
    if element is None:
        return {}
    return {child.tag.split("}")[1]: child.get(qn("w:val")) for child in element}


def table_rows(table: Table) -> list[list[str]]:
    """The text of every cell, row by row."""
    return [[cell.text for cell in row.cells] for row in table.rows]
