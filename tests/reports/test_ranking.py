"""The emulation ranking: XLSX table, PNG chart and band colours."""

from __future__ import annotations

import struct
import warnings
from decimal import Decimal
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from cchc.reports.model import RankingRow, RankingTable
from cchc.reports.ranking import (
    COLUMNS,
    HEADER_ROW,
    PALETTE,
    SHEET_TITLE,
    band_colours,
    band_order,
    write_ranking_png,
    write_ranking_xlsx,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_xlsx_headers_and_rows(tmp_path: Path, ranking: RankingTable) -> None:
    """Title, period, the nine headers (frozen), then one numeric row per unit."""
    sheet = load_workbook(write_ranking_xlsx(tmp_path / "xh" / "xep-hang.xlsx", ranking))[
        SHEET_TITLE
    ]
    assert isinstance(sheet, Worksheet)
    assert sheet["A1"].value == "Xếp hạng thi đua CCHC 6 tháng cuối năm 2025"
    assert sheet["A2"].value == "6 tháng cuối năm 2025"
    assert [sheet.cell(HEADER_ROW, c).value for c in range(1, 10)] == list(COLUMNS)
    assert sheet.freeze_panes == f"A{HEADER_ROW + 1}"
    first = HEADER_ROW + 1
    assert [sheet.cell(first + 1, c).value for c in range(1, 10)] == [
        2,
        "Phòng Văn hóa - Xã hội",
        92.25,
        "Hoàn thành xuất sắc",
        0.95,
        0.8,
        0.5,
        1,
        "Đủ minh chứng, đúng hạn",
    ]
    assert sheet.cell(first, 3).number_format == "0.00"
    assert sheet.cell(first, 5).number_format == "0.00%"
    assert sheet.cell(first + 3, 5).value is None  # no task due: no share
    assert sheet.max_row == HEADER_ROW + len(ranking.rows)
    assert sheet.cell(first, 4).fill.fgColor.rgb != sheet.cell(first + 4, 4).fill.fgColor.rgb


def test_png_written(tmp_path: Path, ranking: RankingTable) -> None:
    """A real PNG of non-trivial size, 1500 px wide, with no missing-glyph warning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = write_ranking_png(tmp_path / "xh" / "xep-hang.png", ranking)
    assert not [w for w in caught if "glyph" in str(w.message).lower()]
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 20_000
    width, height = struct.unpack(">II", data[16:24])
    assert width == 1500
    assert 400 < height < 1500


def test_png_of_an_empty_ranking(tmp_path: Path) -> None:
    """No units yet still gives a chart (title and axes)."""
    empty = RankingTable(title="Xếp hạng thi đua CCHC", period_label="quý I năm 2026", rows=[])
    assert write_ranking_png(tmp_path / "empty.png", empty).read_bytes().startswith(PNG_SIGNATURE)


def test_band_order_and_colours(ranking: RankingTable) -> None:
    """Given order first, best band green, worst red; unlisted bands follow by best score."""
    assert band_order(ranking)[:2] == ["Hoàn thành xuất sắc", "Hoàn thành tốt"]
    colours = band_colours(ranking)
    assert colours["Hoàn thành xuất sắc"] == PALETTE[0]
    assert colours["Không hoàn thành"] == PALETTE[-1]

    def row(band: str, score: int) -> RankingRow:
        return RankingRow(
            rank=1,
            unit_name="Trung tâm sự nghiệp công",
            score=Decimal(score),
            band=band,
            on_time_share=None,
            first_review_share=None,
            points_lost=Decimal(0),
            overdue=0,
        )

    inferred = RankingTable(title="t", period_label="p", rows=[row("Khá", 70), row("Tốt", 85)])
    assert band_order(inferred) == ["Tốt", "Khá"]
    many = RankingTable(title="t", period_label="p", rows=[row(f"B{i}", 90 - i) for i in range(8)])
    assert len(set(band_colours(many).values())) == 8
