"""The emulation ranking of units for a period: a spreadsheet and a bar chart.

Bands (xếp loại) are configuration, so they arrive as text; their order (best first) comes
from ``RankingTable.band_order`` or, when that is empty, from the best score in each band.
Colours run from green (best band) to red (worst) in the chart, and, lightened, in the
spreadsheet's band cells.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import matplotlib as mpl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from cchc import vi_text
from cchc.reports.model import RankingTable
from cchc.reports.xlsx import BORDER, FONT, finish_and_save, write_header_row, write_titles
from cchc.scoring.rounding import half_up

__all__ = [
    "CHART_FONT",
    "COLUMNS",
    "HEADER_ROW",
    "SHEET_TITLE",
    "band_colours",
    "band_order",
    "write_ranking_png",
    "write_ranking_xlsx",
]

SHEET_TITLE = "Xếp hạng"
COLUMNS = (
    "Hạng",
    "Đơn vị",
    "Điểm tổng hợp",
    "Xếp loại",
    "Tỷ lệ nhiệm vụ đúng hạn",
    "Minh chứng đạt lần đầu",
    "Điểm bị trừ",
    "Việc quá hạn",
    "Giải thích",
)
XLSX_WIDTHS = (7, 38, 12, 24, 14, 14, 11, 10, 60)
HEADER_ROW = 3
CHART_FONT = "DejaVu Sans"  # ships with matplotlib and covers Vietnamese
# Green (best) to red (worst), from ColorBrewer's RdYlGn, readable on white.
PALETTE = ("#1a9850", "#66bd63", "#a6d96a", "#fdae61", "#f46d43", "#d73027")


def band_order(ranking: RankingTable) -> list[str]:
    """Bands best first: ``ranking.band_order``, then any other band by its best score."""
    given = list(ranking.band_order)
    best: dict[str, Decimal] = {}
    for row in ranking.rows:
        best[row.band] = max(best.get(row.band, row.score), row.score)
    rest = sorted((b for b in best if b not in given), key=lambda b: (-best[b], b))
    return given + rest


def band_colours(ranking: RankingTable) -> dict[str, str]:
    """A hex colour per band, spread from green (best) to red (worst).

    Colours follow the whole ``band_order``, so a band keeps its colour from one period to
    the next even when some band has no unit this time.
    """
    bands = band_order(ranking)
    n = len(bands)
    if n <= 1:
        return dict.fromkeys(bands, PALETTE[0])
    if n <= len(PALETTE):
        last = len(PALETTE) - 1
        return {band: PALETTE[round(i * last / (n - 1))] for i, band in enumerate(bands)}
    cmap = mpl.colormaps["RdYlGn"]
    return {band: to_hex(cmap(0.9 - 0.8 * i / (n - 1))) for i, band in enumerate(bands)}


def _lighten(colour: str, amount: float = 0.6) -> str:
    """Blend ``colour`` with white (``amount`` = share of white)."""
    r, g, b = to_rgb(colour)
    return to_hex((r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount))


def _share(value: Decimal | None) -> float | None:
    return None if value is None else float(half_up(value, 4))


def write_ranking_xlsx(path: Path | str, ranking: RankingTable) -> Path:
    """Write the ranking to ``path`` (sheet ``Xếp hạng``) and return the path.

    Row 1: title; row 2: period; row 3: column headers (frozen); then one row per unit in the
    given order. Scores have two decimals, shares are percentages, all cells stay numeric.
    """
    wb = Workbook()
    ws = wb.active
    if not isinstance(ws, Worksheet):  # a new workbook always starts with one worksheet
        raise TypeError("openpyxl created a workbook without a worksheet")
    ws.title = SHEET_TITLE
    wb.properties.title = ranking.title
    write_titles(ws, ((ranking.title, 14), (ranking.period_label, 12)), len(COLUMNS))
    write_header_row(ws, COLUMNS, HEADER_ROW)

    colours = band_colours(ranking)
    formats = {3: "0.00", 5: "0.00%", 6: "0.00%", 7: "0.00", 8: "0"}
    for r, row in enumerate(ranking.rows, start=HEADER_ROW + 1):
        values: tuple[str | int | float | None, ...] = (
            row.rank,
            row.unit_name,
            float(half_up(row.score)),
            row.band,
            _share(row.on_time_share),
            _share(row.first_review_share),
            float(half_up(row.points_lost)),
            row.overdue,
            row.explanation or None,
        )
        for c, value in enumerate(values, start=1):
            cell = ws.cell(row=r, column=c, value=value)
            cell.font = Font(name=FONT, size=12, bold=c in (1, 2, 3))
            cell.border = BORDER
            cell.alignment = Alignment(
                horizontal="center" if c in (1, 4) else "right" if c in formats else "left",
                vertical="top",
                wrap_text=True,
            )
            if c in formats:
                cell.number_format = formats[c]
            if c == 4:
                fill = _lighten(colours[row.band]).lstrip("#").upper()
                cell.fill = PatternFill("solid", fgColor=fill)

    return finish_and_save(wb, ws, XLSX_WIDTHS, HEADER_ROW, path)


def _chart_title(ranking: RankingTable) -> str:
    if ranking.period_label and ranking.period_label not in ranking.title:
        return f"{ranking.title}\n{ranking.period_label}"
    return ranking.title


def write_ranking_png(path: Path | str, ranking: RankingTable, *, dpi: int = 150) -> Path:
    """A horizontal bar chart of the composite scores, best on top, coloured by band.

    Drawn on the Agg canvas of a standalone figure (no pyplot, no global backend switch) in
    DejaVu Sans, so Vietnamese labels render on any machine.
    """
    colours = band_colours(ranking)
    count = len(ranking.rows)
    with mpl.rc_context({"font.family": CHART_FONT, "font.size": 10}):
        figure = Figure(figsize=(10, 1.8 + 0.45 * max(count, 1)), layout="constrained")
        FigureCanvasAgg(figure)
        ax = figure.add_subplot()
        labels = [f"{row.rank}. {row.unit_name}" for row in ranking.rows]
        scores = [float(half_up(row.score)) for row in ranking.rows]
        positions = list(range(count))
        bars = ax.barh(
            positions,
            scores,
            color=[colours[row.band] for row in ranking.rows],
            edgecolor="#333333",
            linewidth=0.5,
            height=0.65,
        )
        ax.set_yticks(positions, labels)
        ax.invert_yaxis()
        top = max([100.0, *scores])
        ax.set_xlim(0, top * 1.1)
        ax.bar_label(bars, labels=[vi_text.number(row.score) for row in ranking.rows], padding=3)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: vi_text.number(x, 0)))
        ax.set_xlabel("Điểm tổng hợp")
        ax.grid(axis="x", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.set_title(_chart_title(ranking), fontweight="bold", fontsize=12)
        handles = [
            Patch(facecolor=colours[band], edgecolor="#333333", linewidth=0.5, label=band)
            for band in band_order(ranking)
            if any(row.band == band for row in ranking.rows)
        ]
        ax.legend(
            handles=handles,
            title="Xếp loại",
            loc="upper center",
            bbox_to_anchor=(0.5, -0.14 if count > 3 else -0.3),
            ncols=min(len(handles), 4) or 1,
            frameon=False,
        )
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(target, format="png", dpi=dpi, metadata={"Software": None})
    return target
