"""What every worksheet officials print shares: widths, frozen header, A4 landscape, save."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet


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
