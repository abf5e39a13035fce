"""Scores add up as shown: every total shown equals the sum of the rows shown beneath it.

The score card, the CLI's JSON, the self-assessment XLSX (read back with openpyxl) and DOCX (read
back with python-docx) are checked on the sample index set as the loader accepts it, with its
bonus and penalty sub-criteria inside the areas.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from tempfile import TemporaryDirectory

from docx import Document
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from cchc.commands.score_cmd import card_json
from cchc.indexset import IndexSet, SubCriterion, load_index_set
from cchc.reports.model import DocumentHeader, SelfAssessmentTable, Signature
from cchc.reports.outputs import assessment_rows
from cchc.reports.self_assessment import (
    HEADER_ROW,
    SHEET_TITLE,
    write_self_assessment_docx,
    write_self_assessment_xlsx,
)
from cchc.scoring.scores import ScoreCard, SubScore, rows_as_json
from cchc.vietnam import LOCAL_TZ
from tests.reports.docx_helpers import table_rows

ROOT = Path(__file__).resolve().parent.parent
INDEX_SET: IndexSet = load_index_set(ROOT / "definitions/index-sets/par-2025-ward-sample.yaml")
CENT = Decimal("0.01")
NOW = datetime(2025, 12, 5, 9, 0, tzinfo=LOCAL_TZ)
NO_SHRINK = tuple(p for p in Phase if p is not Phase.shrink)
"""For the file tests: shrinking 57 points through a written file takes minutes; fail fast."""


def _range(sub: SubCriterion) -> st.SearchStrategy[Decimal]:
    """Exact points (4 decimals, as the scores table keeps them) a sub-criterion can get."""
    top = Decimal(sub.max_points)
    low, high = (-top, Decimal(0)) if sub.rule.type == "penalty" else (Decimal(0), top)
    return st.decimals(min_value=low, max_value=high, places=4, allow_nan=False)


POINTS = st.tuples(*(_range(sub) for sub in INDEX_SET.sub_criteria()))
"""Random points for every sub-criterion of the sample set, in file order."""


def card_of(points: tuple[Decimal, ...]) -> ScoreCard:
    """A card of the sample index set with ``points`` on its sub-criteria, in file order."""
    subs = tuple(
        SubScore(
            code=sub.code,
            title=sub.title,
            owner_unit=sub.owner_unit,
            max_points=Decimal(sub.max_points),
            points=value,
            explanation="",
            rule={},
            inputs={},
            outside_base=sub.is_adjustment,
            missing_input=False,
            evidence_complete=True,
        )
        for sub, value in zip(INDEX_SET.sub_criteria(), points, strict=True)
    )
    return ScoreCard("t", "KH", INDEX_SET, "run", subs, NOW)


def card_with(points: dict[str, Decimal]) -> ScoreCard:
    """A card with full points on every base sub-criterion, 0 on the others, except ``points``."""
    subs = tuple(
        SubScore(
            code=sub.code,
            title=sub.title,
            owner_unit=sub.owner_unit,
            max_points=Decimal(sub.max_points),
            points=points.get(sub.code, Decimal(0 if sub.is_adjustment else sub.max_points)),
            explanation="",
            rule={},
            inputs={},
            outside_base=sub.is_adjustment,
            missing_input=False,
            evidence_complete=True,
        )
        for sub in INDEX_SET.sub_criteria()
    )
    return ScoreCard("t", "KH", INDEX_SET, "run", subs, NOW)


def table_of(card: ScoreCard) -> SelfAssessmentTable:
    """The self-assessment table the exports build from ``card``."""
    rows = assessment_rows(INDEX_SET, card, {}, {})
    return SelfAssessmentTable(
        ward_name="Phường Phù Liễn",
        period_label="năm 2025",
        index_set_title=INDEX_SET.title,
        rows=rows,
    )


def write_docx(path: Path, table: SelfAssessmentTable) -> Path:
    """The self-assessment report of ``table`` written to ``path``."""
    header = DocumentHeader(number="01/BC-UBND", date=date(2025, 12, 5), subject=["Kết quả"])
    return write_self_assessment_docx(path, table, header, Signature(name="Nguyễn Văn A"), ["Lưu"])


def vn(text: str) -> Decimal:
    """A number as the DOCX shows it (``-1.234,50``, ``96,25%``) back to a decimal."""
    return Decimal(text.rstrip("%").replace(".", "").replace(",", "."))


def cell(value: object) -> Decimal:
    """A numeric XLSX cell as the 2-decimal number it shows (blank → 0)."""
    return Decimal(0) if value is None else Decimal(str(value)).quantize(CENT)


def adjustment_codes() -> set[str]:
    return {s.code for s in INDEX_SET.adjustments()}


def check_sums(shown: dict[str, Decimal], totals: dict[str, Decimal]) -> None:
    """Criterion and area rows equal the sum of their base rows; totals add up as labelled."""
    bonus = adjustment_codes()
    for area in INDEX_SET.areas:
        for criterion in area.criteria:
            base = [s.code for s in criterion.sub_criteria if s.code not in bonus]
            assert shown[criterion.code] == sum(shown[c] for c in base), criterion.code
        assert shown[area.code] == sum(shown[c.code] for c in area.criteria), area.code
    base_total = sum(shown[a.code] for a in INDEX_SET.areas)
    net = sum(shown[c] for c in bonus)
    assert totals["Tổng điểm các lĩnh vực"] == base_total
    assert totals["Điểm thưởng, điểm trừ"] == net
    assert totals["Tổng điểm tự đánh giá"] == base_total + net
    expected_index = (totals["Tổng điểm tự đánh giá"] * 100 / INDEX_SET.total_max).quantize(CENT)
    assert totals["Chỉ số CCHC (%)"] == expected_index


@settings(max_examples=40, deadline=None)
@given(points=POINTS)
def test_score_card_and_json_totals_are_the_sums_of_the_rows_shown(
    points: tuple[Decimal, ...],
) -> None:
    """Area totals, base, adjustments, total, index and lost points add up the rows shown."""
    card = card_of(points)
    rows = {r["code"]: r for r in rows_as_json(card.subs)}
    shown = {code: Decimal(r["points"]) for code, r in rows.items()}
    totals = card_json(card)
    bonus = adjustment_codes()
    for area, data in zip(INDEX_SET.areas, totals["areas"], strict=True):
        codes = [s.code for c in area.criteria for s in c.sub_criteria if s.code not in bonus]
        assert Decimal(data["points"]) == sum(shown[c] for c in codes), area.code
    base = sum(Decimal(a["points"]) for a in totals["areas"])
    net = sum(shown[c] for c in bonus)
    assert Decimal(totals["base_points"]) == base
    assert Decimal(totals["adjustments"]) == net
    assert Decimal(totals["total_points"]) == base + net
    assert Decimal(totals["index"]) == ((base + net) * 100 / INDEX_SET.total_max).quantize(CENT)
    for code, r in rows.items():
        if code not in bonus:
            assert Decimal(r["points"]) + Decimal(r["lost"]) == Decimal(r["max_points"]), code
    lost = card.lost_by_unit()
    for unit in {s.owner_unit for s in card.subs}:
        mine = sum(Decimal(r["lost"]) for r in rows.values() if r["owner_unit"] == unit)
        assert lost.get(unit, Decimal(0)) == mine, unit


@settings(
    max_examples=15, deadline=None, phases=NO_SHRINK, suppress_health_check=[HealthCheck.too_slow]
)
@given(points=POINTS)
def test_xlsx_totals_are_the_sums_of_the_rows_shown(points: tuple[Decimal, ...]) -> None:
    """In the XLSX read back, every subtotal and total equals the sum of the cells above it."""
    card = card_of(points)
    with TemporaryDirectory() as tmp:
        sheet = load_workbook(write_self_assessment_xlsx(Path(tmp) / "t.xlsx", table_of(card)))[
            SHEET_TITLE
        ]
        assert isinstance(sheet, Worksheet)
        body = [
            [sheet.cell(r, c).value for c in (1, 2, 5)]
            for r in range(HEADER_ROW + 1, sheet.max_row + 1)
        ]
    shown = {str(code): cell(score) for _, code, score in body if code}
    totals = {str(label): cell(score) for label, _, score in body if label}
    check_sums(shown, totals)


@settings(
    max_examples=10, deadline=None, phases=NO_SHRINK, suppress_health_check=[HealthCheck.too_slow]
)
@given(points=POINTS)
def test_docx_totals_are_the_sums_of_the_rows_shown(points: tuple[Decimal, ...]) -> None:
    """In the DOCX read back, the appendix and the per-area table add up as shown."""
    card = card_of(points)
    with TemporaryDirectory() as tmp:
        document = Document(str(write_docx(Path(tmp) / "t.docx", table_of(card))))
    appendix = table_rows(document.tables[-1])
    # Columns: the row's code (its only number), title, max, self-score, …; totals have no code.
    shown = {row[0]: vn(row[3]) if row[3] else Decimal(0) for row in appendix[1:] if row[0]}
    totals = {row[1]: vn(row[3]) for row in appendix[1:] if not row[0]}
    check_sums(shown, totals)
    areas = next(table_rows(t) for t in document.tables if table_rows(t)[0][1] == "Lĩnh vực")
    *area_rows, total_row = areas[1:]
    for row, area in zip(area_rows, INDEX_SET.areas, strict=True):
        assert vn(row[3]) == shown[area.code]
        assert vn(row[3]) + vn(row[4]) == vn(row[2])
    for column in (2, 3, 4):
        assert vn(total_row[column]) == sum(vn(row[column]) for row in area_rows)


def test_exports_show_bonus_and_penalty_apart_from_the_areas(tmp_path: Path) -> None:
    """A bonus and a penalty inside an area stay out of its subtotal and show as the net."""
    card = card_with({"1.2.2": Decimal(-1), "1.5.3": Decimal("0.5")})
    table = table_of(card)
    sheet = load_workbook(write_self_assessment_xlsx(tmp_path / "t.xlsx", table))[SHEET_TITLE]
    assert isinstance(sheet, Worksheet)
    by_code = {sheet.cell(r, 2).value: r for r in range(1, sheet.max_row + 1)}
    by_label = {sheet.cell(r, 1).value: r for r in range(1, sheet.max_row + 1)}
    assert sheet.cell(by_code["1.2"], 5).value == 2
    assert sheet.cell(by_code["1"], 5).value == 14
    assert sheet.cell(by_label["Tổng điểm các lĩnh vực"], 5).value == 100
    assert sheet.cell(by_label["Điểm thưởng, điểm trừ"], 5).value == -0.5
    assert sheet.cell(by_label["Tổng điểm tự đánh giá"], 5).value == 99.5
    assert card.adjustments == Decimal("-0.5")

    document = Document(str(write_docx(tmp_path / "t.docx", table)))
    appendix = {row[1]: row[3] for row in table_rows(document.tables[-1])}
    assert appendix["Điểm thưởng, điểm trừ"] == "-0,50"
    assert appendix["Tổng điểm tự đánh giá"] == "99,50"
    body = "\n".join(p.text for p in document.paragraphs)
    assert "điểm các lĩnh vực: 100,00 điểm; điểm thưởng, điểm trừ: -0,50 điểm" in body


def test_demo_tables_write_numbers_the_vietnamese_way() -> None:
    """The demo's score table shows the maximum as "100,00" and its timings as "30,7 giây"."""
    import time

    from rich.console import Console

    from cchc.demo import _seconds, score_table

    console = Console(width=200, record=True)
    console.print(score_table(card_with({})))
    total = next(line for line in console.export_text().splitlines() if "Tổng cộng" in line)
    assert [cell.strip() for cell in total.split("│")[3:6]] == ["100,00", "100,00", "100,00%"]
    assert re.fullmatch(r"\d+,\d", _seconds(time.perf_counter() - 30.7))
