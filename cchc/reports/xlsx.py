"""What every worksheet officials print shares: fonts and borders, the header row, widths,
frozen and repeated header, row heights for wrapped text, A4 page set-up, save.

openpyxl does not size rows: a wrapped cell keeps the default height and its lines run over
the next rows on screen and on paper. :func:`fit_row_heights` estimates the lines of every
wrapped cell from its text, font and column width (merged cells count their whole width) and
sets each row's height to its tallest cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from cchc.reports.neutral import neutral_workbook

FONT = "Times New Roman"
"""The font of documents officials print (Decree 30)."""
THIN = Side(style="thin", color="000000")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEADER_FILL = PatternFill("solid", fgColor="D9D9D9")

PORTRAIT_WIDTH = 100.0
"""Column-width units (≈ 1,9 mm each) that print across A4 portrait; wider sheets go landscape."""
DEFAULT_WIDTH = 8.43
"""Excel's width of a column nobody sized."""
MAX_ROW_HEIGHT = 409.0
"""Excel's tallest row, in points."""
_LINE = 1.3
"""Line height as a multiple of the font size (Times New Roman, with Excel's leading)."""
_PAD = 3.0
"""Points above and below the text of a wrapped cell."""
_CHARS = 1.3
"""Average characters of 11 pt Times New Roman per width unit (LibreOffice fits about 1,45;
a little less leaves room for Excel's rendering)."""
_BOLD = 1.1
"""Bold text is about a tenth wider."""
_UPPER = 1.3
"""Capitals are about a third wider than the average lower-case letter."""


def write_titles(ws: Worksheet, titles: Sequence[tuple[str, int]], columns: int) -> None:
    """Rows 1, 2 … : each ``(text, size)`` merged across ``columns``, centred and wrapped; the
    first bold, the others italic."""
    last_col = get_column_letter(columns)
    for r, (text, size) in enumerate(titles, start=1):
        ws.merge_cells(f"A{r}:{last_col}{r}")
        cell = ws.cell(row=r, column=1, value=text)
        cell.font = Font(name=FONT, size=size, bold=r == 1, italic=r > 1)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)


def write_header_row(ws: Worksheet, columns: Sequence[str], row: int) -> None:
    """The column headings at ``row``: bold, grey, bordered, centred and wrapped."""
    for c, title in enumerate(columns, start=1):
        cell = ws.cell(row=row, column=c, value=title)
        cell.font = Font(name=FONT, size=12, bold=True)
        cell.fill = HEADER_FILL
        cell.border = BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)


def text_lines(text: str, width: float, size: float = 11.0, *, bold: bool = False) -> int:
    """How many lines ``text`` takes in a wrapped cell ``width`` units wide at ``size`` pt.

    Words wrap whole, and a word longer than a line (a hash) is cut across lines, as
    spreadsheet programs do.
    """
    room = max(width - 1.0, 1.0) * _CHARS * 11.0 / size / (_BOLD if bold else 1.0)
    lines = 0
    for paragraph in text.split("\n"):
        lines += 1
        used = 0.0
        for word in paragraph.split():
            length = sum(_UPPER if ch.isupper() else 1.0 for ch in word)
            if used and used + 1 + length > room:
                lines += 1
                used = 0.0
            if length > room:
                whole, rest = divmod(length, room)
                lines += int(whole) - (1 if rest == 0 else 0)
                used = rest
            else:
                used += length + (1 if used else 0)
    return max(lines, 1)


def _widths_of(ws: Worksheet) -> dict[int, float]:
    """Column index → width, spanning merged ranges (keyed by their first cell's column)."""
    widths: dict[int, float] = {}
    for c in range(1, ws.max_column + 1):
        dim = ws.column_dimensions.get(get_column_letter(c))
        widths[c] = dim.width if dim is not None and dim.customWidth else DEFAULT_WIDTH
    return widths


def _cell_height(cell: Cell, width: float) -> float:
    font = cell.font
    size = float(font.sz or 11) if font is not None else 11.0
    lines = text_lines(str(cell.value), width, size, bold=bool(font is not None and font.b))
    return lines * size * _LINE + _PAD


def fit_row_heights(ws: Worksheet, first_row: int = 1) -> None:
    """Give each row from ``first_row`` that has wrapped text the height of its tallest cell."""
    widths = _widths_of(ws)
    spans: dict[tuple[int, int], float] = {}
    hidden: set[tuple[int, int]] = set()
    for merged in ws.merged_cells.ranges:
        if merged.min_row != merged.max_row:
            hidden.update((r, c) for r, c in merged.cells)  # several rows: leave alone
            continue
        cols = range(merged.min_col, merged.max_col + 1)
        spans[(merged.min_row, merged.min_col)] = sum(widths.get(c, DEFAULT_WIDTH) for c in cols)
        hidden.update((merged.min_row, c) for c in cols[1:])
    for row in ws.iter_rows(min_row=first_row):
        tallest = 0.0
        for cell in row:
            if not isinstance(cell, Cell) or not isinstance(cell.value, str):
                continue
            if (cell.row, cell.column) in hidden or not cell.alignment.wrap_text:
                continue
            width = spans.get((cell.row, cell.column), widths.get(cell.column, DEFAULT_WIDTH))
            tallest = max(tallest, _cell_height(cell, width))
        number = row[0].row
        if tallest and number is not None:
            ws.row_dimensions[number].height = min(round(tallest, 1), MAX_ROW_HEIGHT)


def set_layout(ws: Worksheet, widths: Sequence[float], header_row: int | None) -> None:
    """Column widths and row heights; the header row frozen and printed on every page; A4,
    landscape when the columns are wider than a portrait page, fitted to one page wide,
    page numbers in the footer."""
    for c, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(c)].width = width
    if header_row is not None:
        ws.freeze_panes = f"A{header_row + 1}"
        ws.print_title_rows = f"{header_row}:{header_row}"
    ws.page_setup.orientation = "landscape" if sum(widths) > PORTRAIT_WIDTH else "portrait"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.page_margins = PageMargins(left=0.5, right=0.4, top=0.6, bottom=0.6, header=0.3, footer=0.3)
    ws.print_options.horizontalCentered = True
    if ws.oddFooter is not None:  # openpyxl makes every sheet one
        ws.oddFooter.center.text = "Trang &P/&N"
    fit_row_heights(ws)


def save(wb: Workbook, path: Path | str) -> Path:
    """Write ``wb`` to ``path`` (creating parent folders) and return the path; every text that
    a spreadsheet program would run as a formula is kept text (:mod:`cchc.reports.neutral`)."""
    neutral_workbook(wb)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    wb.save(str(target))
    return target


def finish_and_save(
    wb: Workbook, ws: Worksheet, widths: Sequence[float], header_row: int, path: Path | str
) -> Path:
    """:func:`set_layout` of ``ws``, then :func:`save` the workbook to ``path``."""
    set_layout(ws, widths, header_row)
    return save(wb, path)
