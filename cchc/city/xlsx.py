"""The city ranking as a spreadsheet: one sheet per block, ranked wards then those not ranked."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet

from cchc.city.model import BLOCKS
from cchc.city.ranking import CityRanking
from cchc.reports.xlsx import BORDER, FONT, save, set_layout, write_header_row, write_titles
from cchc.scoring.rounding import half_up

COLUMNS = (
    "Hạng",
    "Đơn vị",
    "Chỉ số CCHC (%)",
    "Điểm cơ bản",
    "Điểm thưởng/trừ",
    "Tổng điểm",
    "Kế hoạch",
    "Lần chấm",
    "Giải thích",
)
WIDTHS = (7, 30, 12, 11, 11, 11, 20, 14, 80)
HEADER_ROW = 3
_FORMATS = {3: "0.00_)", 4: "0.00_)", 5: "+0.00_);-0.00_);0.00_)", 6: "0.00_)"}
"""Column → number format; ``_)`` keeps a gap of one ``)`` from the right border (Excel and
LibreOffice), which an indent does not in LibreOffice."""


def write_city_ranking_xlsx(path: Path | str, ranking: CityRanking, city_name: str) -> Path:
    """Write ``ranking`` to ``path``: a sheet per block (``Khối phường``, ``Khối xã, đặc khu``).

    Row 1: title; row 2: city, period and run; row 3: headers (frozen); then one row per ward.
    Numbers stay numeric; a ward not ranked has no rank and its reason as the explanation.
    """
    wb = Workbook()
    first = wb.active
    if not isinstance(first, Worksheet):  # a new workbook always starts with one worksheet
        raise TypeError("openpyxl created a workbook without a worksheet")
    wb.properties.title = f"Xếp hạng chỉ số CCHC – {ranking.period_label}"
    for i, (block, label) in enumerate(BLOCKS.items()):
        ws = first if i == 0 else wb.create_sheet()
        ws.title = label
        _write_sheet(ws, ranking, block, label, city_name)
        set_layout(ws, WIDTHS, HEADER_ROW)
    return save(wb, path)


def _write_sheet(
    ws: Worksheet, ranking: CityRanking, block: str, label: str, city_name: str
) -> None:
    heading = (
        (f"XẾP HẠNG CHỈ SỐ CẢI CÁCH HÀNH CHÍNH – {label.upper()}", 14),
        (f"{city_name} – {ranking.period_label} (lần xếp hạng {ranking.run_id[:12]})", 12),
    )
    write_titles(ws, heading, len(COLUMNS))
    write_header_row(ws, COLUMNS, HEADER_ROW)
    for r, row in enumerate(ranking.block(block), start=HEADER_ROW + 1):
        f = row.entry.figures
        values: tuple[str | int | float | None, ...] = (
            row.rank,
            row.entry.name,
            None if f is None else float(f.index),
            None if f is None else float(half_up(f.base_points)),
            None if f is None else float(half_up(f.adjustments)),
            None if f is None else float(half_up(f.total_points)),
            None if f is None else f.plan,
            None if f is None else f.score_run[:12],
            row.explanation_vi,
        )
        for c, value in enumerate(values, start=1):
            cell = ws.cell(row=r, column=c, value=value)
            cell.font = Font(name=FONT, size=12, bold=c in (1, 2, 3))
            cell.border = BORDER
            horizontal = "center" if c == 1 else "right" if c in _FORMATS else "left"
            cell.alignment = Alignment(
                horizontal=horizontal,
                vertical="top",
                wrap_text=True,
                indent=1 if horizontal == "left" else 0,  # a gap from the cell's left border
            )
            if c in _FORMATS:
                cell.number_format = _FORMATS[c]
