"""What every worksheet officials print shares: fonts and borders, the header row, widths,
frozen header, A4 landscape, save."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

FONT = "Times New Roman"
"""The font of documents officials print (Decree 30)."""
THIN = Side(style="thin", color="000000")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEADER_FILL = PatternFill("solid", fgColor="D9D9D9")


def write_titles(ws: Worksheet, titles: Sequence[tuple[str, int]], columns: int) -> None:
    """Rows 1, 2 … : each ``(text, size)`` merged across ``columns``, centred; the first
    bold, the others italic."""
    last_col = get_column_letter(columns)
    for r, (text, size) in enumerate(titles, start=1):
        ws.merge_cells(f"A{r}:{last_col}{r}")
        cell = ws.cell(row=r, column=1, value=text)
        cell.font = Font(name=FONT, size=size, bold=r == 1, italic=r > 1)
        cell.alignment = Alignment(horizontal="center", vertical="center")


def write_header_row(ws: Worksheet, columns: Sequence[str], row: int) -> None:
    """The column headings at ``row``: bold, grey, bordered, centred and wrapped."""
    for c, title in enumerate(columns, start=1):
        cell = ws.cell(row=row, column=c, value=title)
        cell.font = Font(name=FONT, size=12, bold=True)
        cell.fill = HEADER_FILL
        cell.border = BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    ws.row_dimensions[row].height = 32


def finish_and_save(
    wb: Workbook, ws: Worksheet, widths: Sequence[float], header_row: int, path: Path | str
) -> Path:
    """Set column widths, freeze and repeat the header row, fit A4 landscape; save to ``path``."""
    for c, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(c)].width = width
    ws.freeze_panes = f"A{header_row + 1}"
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    wb.save(str(target))
    return target
