"""The ward's self-assessment of the index set: a spreadsheet and a report in the admin layout.

:func:`summarise` does the arithmetic once (subtotals, totals, index, points lost, evidence
coverage); the writers only lay it out.

* Scores add up as shown: every given score is rounded once, half up to 2 decimals, and every
  subtotal and total is the sum of those rounded values.
* Subtotals: an area or criterion row with ``self_score=None`` gets the sum of the rows
  directly beneath it (recursively); a row with an explicit score keeps it.
* Base and bonus: rows flagged ``bonus_penalty`` (and the rows beneath them) stay outside the
  100-point base, wherever they sit: a bonus or penalty row inside a criterion is left out of
  that criterion's and its area's subtotals. Bonus/penalty = the sum of those rows (shown on
  its own line); total = base score + bonus/penalty; index (%) = total / base maximum × 100,
  rounded half up to 2 decimals (DOMAIN §5). Caps are the scorer's job, not the writer's.
* Points lost and evidence coverage count the scored leaves (rows with nothing beneath them):
  a base leaf loses ``max - score`` points, a penalty leaf the points it took (``-score``); a
  base leaf is covered when it lists evidence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from cchc import vi_text
from cchc.reports.admin_document import AdminDocument
from cchc.reports.formatting import roman
from cchc.reports.model import (
    AssessmentRow,
    DocumentHeader,
    Heading,
    SelfAssessmentTable,
    Signature,
    TableBlock,
    TextBlock,
)
from cchc.reports.xlsx import BORDER, FONT, finish_and_save, write_header_row
from cchc.scoring.rounding import half_up

__all__ = [
    "COLUMNS",
    "DOCX_COLUMNS",
    "HEADER_ROW",
    "SHEET_TITLE",
    "AreaResult",
    "ComputedRow",
    "SelfAssessmentSummary",
    "self_assessment_blocks",
    "summarise",
    "write_self_assessment_docx",
    "write_self_assessment_xlsx",
]

SHEET_TITLE = "Tự đánh giá"
COLUMNS = (
    "STT",
    "Mã tiêu chí",
    "Tiêu chí / tiêu chí thành phần",
    "Điểm tối đa",
    "Điểm tự đánh giá",
    "Tài liệu kiểm chứng",
    "Giải trình",
    "Đơn vị chủ trì",
)
XLSX_WIDTHS = (7, 11, 60, 11, 12, 45, 40, 28)
DOCX_COLUMNS = ("STT", *COLUMNS[2:])
"""The report's appendix numbers each row once, by its code in the index set (``1.1.3``)."""
DOCX_APPENDIX_WIDTHS_MM = (17.0, 85.0, 16.0, 18.0, 50.0, 38.0, 28.0)
HEADER_ROW = 4
NUMBER_FORMAT = "0.00"
_DEPTH = {"area": 0, "criterion": 1, "sub": 2}
_HUNDRED = Decimal(100)


# --- arithmetic -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ComputedRow:
    """A row with its number (STT), its score or subtotal, and where it sits."""

    row: AssessmentRow
    stt: str
    score: Decimal | None
    is_leaf: bool
    in_bonus: bool

    @property
    def best(self) -> Decimal:
        """The most the row can give: its maximum in the base, 0 for a penalty (negative)."""
        if self.in_bonus:
            return max(Decimal(0), self.score or Decimal(0))
        return self.row.max_points

    @property
    def lost(self) -> Decimal:
        """Points lost: ``best - score`` (0 when not scored, over the maximum, or a bonus)."""
        if self.score is None:
            return Decimal(0)
        return max(Decimal(0), self.best - self.score)


@dataclass(frozen=True)
class AreaResult:
    """One area of the base: maximum, score, points lost and index (%)."""

    stt: str
    code: str
    title: str
    max_points: Decimal
    score: Decimal
    lost: Decimal
    index_percent: Decimal | None


@dataclass(frozen=True)
class SelfAssessmentSummary:
    """Everything the writers show, computed once from a :class:`SelfAssessmentTable`."""

    rows: tuple[ComputedRow, ...]
    areas: tuple[AreaResult, ...]
    base_max: Decimal
    base_score: Decimal
    bonus_penalty: Decimal
    has_bonus_rows: bool
    total_score: Decimal
    index_percent: Decimal | None
    losing: tuple[ComputedRow, ...]
    unscored: tuple[ComputedRow, ...]
    evidence_required: int
    missing_evidence: tuple[ComputedRow, ...]

    @property
    def evidence_covered(self) -> int:
        """Scored-base leaves that list at least one evidence document."""
        return self.evidence_required - len(self.missing_evidence)

    @property
    def evidence_percent(self) -> Decimal | None:
        """Evidence coverage in percent, 2 decimals (``None`` when nothing needs evidence)."""
        if self.evidence_required == 0:
            return None
        return half_up(Decimal(self.evidence_covered) * _HUNDRED / self.evidence_required)

    @property
    def points_lost(self) -> Decimal:
        """Sum of the points lost by the scored leaves: base rows and penalties."""
        return sum((row.lost for row in self.losing), Decimal(0))


def _percent(part: Decimal, whole: Decimal) -> Decimal | None:
    return None if whole == 0 else half_up(part * _HUNDRED / whole)


def _letters(n: int) -> str:
    """1 → a, 26 → z, 27 → aa."""
    out = ""
    while n > 0:
        n, rest = divmod(n - 1, 26)
        out = chr(ord("a") + rest) + out
    return out


def _numbers(rows: Sequence[AssessmentRow]) -> list[str]:
    """STT per row: areas I, II …; criteria 1, 2 … within their area; sub-criteria a, b …"""
    counters = [0, 0, 0]
    out = []
    for row in rows:
        depth = _DEPTH[row.level]
        counters[depth] += 1
        for deeper in range(depth + 1, 3):
            counters[deeper] = 0
        n = counters[depth]
        out.append(roman(n) if depth == 0 else str(n) if depth == 1 else _letters(n))
    return out


def summarise(table: SelfAssessmentTable) -> SelfAssessmentSummary:
    """Subtotals, totals, index, points lost and evidence coverage of ``table``."""
    rows = list(table.rows)
    depths = [_DEPTH[row.level] for row in rows]
    count = len(rows)
    children: list[list[int]] = [[] for _ in rows]
    parent: list[int | None] = [None] * count
    stack: list[int] = []
    for i, depth in enumerate(depths):
        while stack and depths[stack[-1]] >= depth:
            stack.pop()
        if stack:
            parent[i] = stack[-1]
            children[stack[-1]].append(i)
        stack.append(i)

    in_bonus = [False] * count
    for i in range(count):
        up = parent[i]
        in_bonus[i] = rows[i].bonus_penalty or (up is not None and in_bonus[up])

    scores: list[Decimal | None] = [None] * count
    for i in reversed(range(count)):
        own = rows[i].self_score
        if own is not None or not children[i]:
            scores[i] = None if own is None else half_up(own)
            continue
        same_side = [c for c in children[i] if in_bonus[c] == in_bonus[i]]
        scored = [s for s in (scores[c] for c in same_side) if s is not None]
        scores[i] = sum(scored, Decimal(0)) if scored else None

    numbers = _numbers(rows)
    computed = tuple(
        ComputedRow(
            row=rows[i],
            stt=numbers[i],
            score=scores[i],
            is_leaf=not children[i],
            in_bonus=in_bonus[i],
        )
        for i in range(count)
    )
    tops = [c for c, p in zip(computed, parent, strict=True) if p is None]
    base_tops = [c for c in tops if not c.in_bonus]
    areas = tuple(
        AreaResult(
            stt=c.stt,
            code=c.row.code,
            title=c.row.title,
            max_points=c.row.max_points,
            score=c.score or Decimal(0),
            lost=max(Decimal(0), c.row.max_points - (c.score or Decimal(0))),
            index_percent=_percent(c.score or Decimal(0), c.row.max_points),
        )
        for c in base_tops
    )
    base_max = sum((a.max_points for a in areas), Decimal(0))
    base_score = sum((a.score for a in areas), Decimal(0))
    bonus_roots = [
        c
        for c, p in zip(computed, parent, strict=True)
        if c.in_bonus and (p is None or not in_bonus[p])
    ]
    bonus = sum((c.score or Decimal(0) for c in bonus_roots), Decimal(0))
    total = base_score + bonus
    base_leaves = [c for c in computed if c.is_leaf and not c.in_bonus]
    return SelfAssessmentSummary(
        rows=computed,
        areas=areas,
        base_max=base_max,
        base_score=base_score,
        bonus_penalty=bonus,
        has_bonus_rows=any(in_bonus),
        total_score=total,
        index_percent=_percent(total, base_max),
        losing=tuple(c for c in computed if c.is_leaf and c.lost > 0),
        unscored=tuple(c for c in base_leaves if c.score is None),
        evidence_required=len(base_leaves),
        missing_evidence=tuple(c for c in base_leaves if not c.row.evidence),
    )


def _totals(summary: SelfAssessmentSummary) -> list[tuple[str, Decimal | None, Decimal | None]]:
    """(label, max, score) rows under the table; the last one is the index in percent."""
    out: list[tuple[str, Decimal | None, Decimal | None]] = []
    if summary.has_bonus_rows:
        out.append(("Tổng điểm các lĩnh vực", summary.base_max, summary.base_score))
        out.append(("Điểm thưởng, điểm trừ", None, summary.bonus_penalty))
    out.append(("Tổng điểm tự đánh giá", summary.base_max, summary.total_score))
    out.append(("Chỉ số CCHC (%)", None, summary.index_percent))
    return out


def _evidence_text(row: AssessmentRow) -> str:
    if len(row.evidence) == 1:
        return row.evidence[0]
    return "\n".join(f"- {item}" for item in row.evidence)


# --- XLSX -------------------------------------------------------------------------------------

_AREA_FILL = PatternFill("solid", fgColor="DDEBF7")
_TOTAL_FILL = PatternFill("solid", fgColor="FFF2CC")


def write_self_assessment_xlsx(path: Path | str, table: SelfAssessmentTable) -> Path:
    """Write the self-assessment table to ``path`` (sheet ``Tự đánh giá``) and return the path.

    Rows 1-3: title, ward and period, index set; row 4: the column headers (frozen); then one
    row per line of the index set (areas and criteria bold, with subtotals), then the totals
    and the index in percent. Numbers stay numeric with two decimals shown.
    """
    summary = summarise(table)
    wb = Workbook()
    ws = wb.active
    if not isinstance(ws, Worksheet):  # a new workbook always starts with one worksheet
        raise TypeError("openpyxl created a workbook without a worksheet")
    ws.title = SHEET_TITLE
    wb.properties.title = f"Tự đánh giá Chỉ số CCHC {table.period_label} - {table.ward_name}"
    wb.properties.creator = table.ward_name
    last_col = get_column_letter(len(COLUMNS))

    titles = (
        ("KẾT QUẢ TỰ ĐÁNH GIÁ, CHẤM ĐIỂM CHỈ SỐ CẢI CÁCH HÀNH CHÍNH", 14, True, False),
        (f"{table.ward_name} - {table.period_label}", 13, True, False),
        (table.index_set_title, 12, False, True),
    )
    for r, (text, size, bold, italic) in enumerate(titles, start=1):
        ws.merge_cells(f"A{r}:{last_col}{r}")
        cell = ws.cell(row=r, column=1, value=text)
        cell.font = Font(name=FONT, size=size, bold=bold, italic=italic)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    ws.row_dimensions[3].height = 32

    write_header_row(ws, COLUMNS, HEADER_ROW)

    r = HEADER_ROW
    for item in summary.rows:
        r += 1
        row = item.row
        bold = row.level != "sub"
        values: tuple[str | float | None, ...] = (
            item.stt,
            row.code,
            row.title,
            float(half_up(row.max_points)),
            None if item.score is None else float(half_up(item.score)),
            _evidence_text(row),
            row.explanation,
            row.owner_unit,
        )
        for c, value in enumerate(values, start=1):
            cell = ws.cell(row=r, column=c, value=value if value != "" else None)
            cell.font = Font(name=FONT, size=12, bold=bold, italic=item.in_bonus)
            cell.border = BORDER
            numeric = c in (4, 5)
            cell.alignment = Alignment(
                horizontal="right" if numeric else "center" if c in (1, 2) else "left",
                vertical="top",
                wrap_text=True,
            )
            if numeric:
                cell.number_format = NUMBER_FORMAT
            if row.level == "area":
                cell.fill = _AREA_FILL

    for label, maximum, score in _totals(summary):
        r += 1
        ws.merge_cells(f"A{r}:C{r}")
        ws.cell(row=r, column=1, value=label)
        if maximum is not None:
            ws.cell(row=r, column=4, value=float(half_up(maximum)))
        if score is not None:
            ws.cell(row=r, column=5, value=float(half_up(score)))
        if label.startswith("Chỉ số"):
            ws.cell(row=r, column=6, value="Tổng điểm tự đánh giá / Điểm tối đa × 100")
        for c in range(1, len(COLUMNS) + 1):
            total_cell = ws.cell(row=r, column=c)
            total_cell.font = Font(name=FONT, size=12, bold=True)
            total_cell.fill = _TOTAL_FILL
            total_cell.border = BORDER
            total_cell.alignment = Alignment(
                horizontal="right" if c in (4, 5) else "left", vertical="top", wrap_text=True
            )
            if c in (4, 5):
                total_cell.number_format = NUMBER_FORMAT

    return finish_and_save(wb, ws, XLSX_WIDTHS, HEADER_ROW, path)


# --- DOCX -------------------------------------------------------------------------------------


def _of_ward(ward_name: str) -> str:
    """``Phường Phù Liễn`` → ``Ủy ban nhân dân phường Phù Liễn``."""
    return f"Ủy ban nhân dân {ward_name[:1].lower()}{ward_name[1:]}"


def _score_text(value: Decimal | None) -> str:
    return "" if value is None else vi_text.number(value)


def _signed(value: Decimal) -> str:
    return f"+{vi_text.number(value)}" if value > 0 else vi_text.number(value)


def _percent_text(value: Decimal | None) -> str:
    return "-" if value is None else vi_text.percent(value)


def _area_table(summary: SelfAssessmentSummary) -> TableBlock:
    rows = [
        [
            a.code or a.stt,
            a.title,
            vi_text.number(a.max_points),
            vi_text.number(a.score),
            vi_text.number(a.lost),
            _percent_text(a.index_percent),
        ]
        for a in summary.areas
    ]
    rows.append(
        [
            "",
            "Tổng cộng",
            vi_text.number(summary.base_max),
            vi_text.number(summary.base_score),
            vi_text.number(sum((a.lost for a in summary.areas), Decimal(0))),
            _percent_text(_percent(summary.base_score, summary.base_max)),
        ]
    )
    return TableBlock(
        columns=("STT", "Lĩnh vực", "Điểm tối đa", "Điểm tự đánh giá", "Điểm bị trừ", "Tỷ lệ"),
        rows=rows,
        widths_mm=(12, 73, 20, 22, 18, 20),
        numeric_columns=frozenset({2, 3, 4, 5}),
        bold_rows=frozenset({len(rows) - 1}),
    )


def _losing_table(summary: SelfAssessmentSummary) -> TableBlock:
    rows = [
        [
            c.row.code,
            c.row.title,
            vi_text.number(c.best),
            _score_text(c.score),
            vi_text.number(c.lost),
            c.row.owner_unit,
        ]
        for c in summary.losing
    ]
    return TableBlock(
        columns=("Mã", "Tiêu chí thành phần", "Điểm tối đa", "Tự đánh giá", "Bị trừ", "Đơn vị"),
        rows=rows,
        widths_mm=(16, 62, 18, 20, 17, 32),
        numeric_columns=frozenset({2, 3, 4}),
    )


def _by_unit(rows: Sequence[ComputedRow]) -> list[tuple[str, int, Decimal]]:
    """(unit, number of sub-criteria, points lost), most points lost first."""
    counts: dict[str, int] = defaultdict(int)
    lost: dict[str, Decimal] = defaultdict(Decimal)
    for c in rows:
        unit = c.row.owner_unit or "Chưa phân công"
        counts[unit] += 1
        lost[unit] += c.lost
    return sorted(((u, counts[u], lost[u]) for u in counts), key=lambda t: (-t[2], t[0]))


def _appendix_table(summary: SelfAssessmentSummary) -> TableBlock:
    rows: list[list[str]] = []
    bold: set[int] = set()
    for c in summary.rows:
        if c.row.level != "sub":
            bold.add(len(rows))
        rows.append(
            [
                c.row.code or c.stt,
                c.row.title,
                vi_text.number(c.row.max_points),
                _score_text(c.score),
                _evidence_text(c.row),
                c.row.explanation,
                c.row.owner_unit,
            ]
        )
    for label, maximum, score in _totals(summary):
        bold.add(len(rows))
        shown = _percent_text(score) if label.startswith("Chỉ số") else _score_text(score)
        rows.append(["", label, _score_text(maximum), shown, "", "", ""])
    return TableBlock(
        columns=DOCX_COLUMNS,
        rows=rows,
        widths_mm=DOCX_APPENDIX_WIDTHS_MM,
        numeric_columns=frozenset({2, 3}),
        bold_rows=frozenset(bold),
        font_pt=10,
    )


def self_assessment_blocks(
    table: SelfAssessmentTable,
    summary: SelfAssessmentSummary,
    *,
    intro: Sequence[str] = (),
    conclusion: Sequence[str] = (),
) -> list[Heading | TextBlock | TableBlock]:
    """The body of the report: overall result, per area, points lost, evidence coverage."""
    ward = _of_ward(table.ward_name)
    blocks: list[Heading | TextBlock | TableBlock] = [TextBlock(text=text) for text in intro]
    blocks.append(Heading(text="I. KẾT QUẢ TỰ ĐÁNH GIÁ, CHẤM ĐIỂM"))
    blocks.append(
        TextBlock(
            text=(
                f"Căn cứ {table.index_set_title}, {ward} đã tổ chức tự đánh giá, chấm điểm "
                f"các tiêu chí, tiêu chí thành phần của Bộ Chỉ số {table.period_label}."
            )
        )
    )
    result = (
        f"Tổng điểm tự đánh giá đạt {vi_text.number(summary.total_score)}/"
        f"{vi_text.number(summary.base_max)} điểm"
    )
    if summary.has_bonus_rows:
        result += (
            f" (trong đó điểm các lĩnh vực: {vi_text.number(summary.base_score)} điểm; "
            f"điểm thưởng, điểm trừ: {_signed(summary.bonus_penalty)} điểm)"
        )
    result += f"; Chỉ số CCHC đạt {_percent_text(summary.index_percent)}."
    blocks.append(TextBlock(text=result))
    blocks.append(TextBlock(text="Kết quả theo từng lĩnh vực:"))
    blocks.append(_area_table(summary))

    blocks.append(Heading(text="II. CÁC TIÊU CHÍ THÀNH PHẦN BỊ TRỪ ĐIỂM"))
    if not summary.losing:
        blocks.append(TextBlock(text="Không có tiêu chí thành phần nào bị trừ điểm."))
    else:
        blocks.append(
            TextBlock(
                text=(
                    f"Có {len(summary.losing)} tiêu chí thành phần bị trừ điểm, tổng số điểm "
                    f"bị trừ là {vi_text.number(summary.points_lost)} điểm:"
                )
            )
        )
        blocks.append(_losing_table(summary))
        blocks.append(TextBlock(text="Điểm bị trừ theo đơn vị chủ trì:"))
        blocks.extend(
            TextBlock(text=f"- {unit}: {n} tiêu chí thành phần, {vi_text.number(lost)} điểm.")
            for unit, n, lost in _by_unit(summary.losing)
        )
    if summary.unscored:
        listed = "; ".join(
            f"{c.row.code} ({c.row.owner_unit or 'chưa phân công'})" for c in summary.unscored
        )
        blocks.append(
            TextBlock(
                text=f"Còn {len(summary.unscored)} tiêu chí thành phần chưa chấm điểm: {listed}."
            )
        )

    blocks.append(Heading(text="III. TÀI LIỆU KIỂM CHỨNG"))
    coverage = (
        f"{summary.evidence_covered}/{summary.evidence_required} tiêu chí thành phần đã có "
        f"tài liệu kiểm chứng (đạt {_percent_text(summary.evidence_percent)})."
    )
    blocks.append(TextBlock(text=coverage))
    if summary.missing_evidence:
        blocks.append(TextBlock(text="Các tiêu chí thành phần chưa có tài liệu kiểm chứng:"))
        blocks.extend(
            TextBlock(
                text=(f"- {c.row.code} {c.row.title} ({c.row.owner_unit or 'chưa phân công'}).")
            )
            for c in summary.missing_evidence
        )
    blocks.extend(TextBlock(text=text) for text in conclusion)
    blocks.append(
        TextBlock(
            text=(
                "Chi tiết kết quả tự đánh giá, chấm điểm từng tiêu chí, tiêu chí thành phần "
                "tại Phụ lục kèm theo."
            )
        )
    )
    blocks.append(
        TextBlock(
            text=(
                "Trên đây là báo cáo kết quả tự đánh giá, chấm điểm Chỉ số cải cách hành chính "
                f"{table.period_label} của {ward}./."
            )
        )
    )
    return blocks


def write_self_assessment_docx(
    path: Path | str,
    table: SelfAssessmentTable,
    header: DocumentHeader,
    signature: Signature,
    recipients: Sequence[str],
    *,
    intro: Sequence[str] = (),
    conclusion: Sequence[str] = (),
) -> Path:
    """Write the self-assessment report (Decree 30 layout) with the full table as an appendix.

    ``intro`` paragraphs open the body; ``conclusion`` paragraphs come before its last sentence.
    """
    summary = summarise(table)
    document = AdminDocument(header)
    document.extend(self_assessment_blocks(table, summary, intro=intro, conclusion=conclusion))
    document.close(recipients, signature)
    document.appendix(
        (
            "BẢNG TỰ ĐÁNH GIÁ, CHẤM ĐIỂM CHỈ SỐ CẢI CÁCH HÀNH CHÍNH",
            f"{table.ward_name.upper()} {table.period_label.upper()}",
        )
    )
    document.table(_appendix_table(summary))
    return document.save(path)
