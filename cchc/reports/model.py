"""The plain data the report writers take: frozen dataclasses, no database, no engine.

Sequences given as lists are stored as tuples, so every instance is immutable and hashable.
Amounts are ``Decimal``; shares are fractions between 0 and 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal, get_args

__all__ = [
    "Alignment",
    "AssessmentRow",
    "Block",
    "DocumentHeader",
    "Heading",
    "Level",
    "RankingRow",
    "RankingTable",
    "SelfAssessmentTable",
    "Signature",
    "TableBlock",
    "TextBlock",
]

Level = Literal["area", "criterion", "sub"]
Alignment = Literal["justify", "left", "center", "right"]


def _freeze(obj: object, name: str) -> None:
    """Store the sequence attribute ``name`` of a frozen dataclass as a tuple."""
    object.__setattr__(obj, name, tuple(getattr(obj, name)))


# --- the administrative document (Decree 30/2020/NĐ-CP) --------------------------------------


@dataclass(frozen=True, kw_only=True)
class DocumentHeader:
    """Everything above the body: issuing body, number, place and date, kind and subject.

    ``subject`` holds the lines of the excerpt (trích yếu) under the kind title, e.g.
    ``("Kết quả tự đánh giá, chấm điểm Chỉ số CCHC năm 2025",)``. With ``kind_title=None`` the
    document is an official letter (công văn): the subject goes under the number line as
    ``V/v …`` instead. ``bold_parent=False`` is for a parent body (cơ quan chủ quản) that is not
    itself the issuer, e.g. ``UBND PHƯỜNG PHÙ LIỄN`` above ``PHÒNG VĂN HÓA - XÃ HỘI``.
    A line break (``\n``) in a name sets where it wraps in the header. ``draft=True`` marks a
    draft (``DỰ THẢO``, boxed, above the header) that is not yet signed and numbered.
    """

    issuing_body_parent: str = "ỦY BAN NHÂN DÂN"
    issuing_body: str = "PHƯỜNG PHÙ LIỄN"
    number: str
    place: str = "Phù Liễn"
    date: date
    kind_title: str | None = "BÁO CÁO"
    subject: Sequence[str] = ()
    bold_parent: bool = True
    draft: bool = False

    def __post_init__(self) -> None:
        _freeze(self, "subject")


@dataclass(frozen=True, kw_only=True)
class Signature:
    """The signature block, top to bottom; ``on_behalf`` or ``deputy`` may be ``None``.

    ``TM. ỦY BAN NHÂN DÂN`` / ``KT. CHỦ TỊCH`` / ``PHÓ CHỦ TỊCH`` / name (seed 000);
    ``TM. ỦY BAN NHÂN DÂN`` / ``None`` / ``CHỦ TỊCH`` (seed 004);
    ``None`` / ``TL. CHỦ TỊCH`` / ``CHÁNH VĂN PHÒNG`` (seed 003).
    """

    on_behalf: str | None = "TM. ỦY BAN NHÂN DÂN"
    deputy: str | None = "KT. CHỦ TỊCH"
    title: str = "PHÓ CHỦ TỊCH"
    name: str


@dataclass(frozen=True, kw_only=True)
class Heading:
    """A section heading of the body, e.g. ``I. KẾT QUẢ TỰ ĐÁNH GIÁ`` (bold, not indented)."""

    text: str


@dataclass(frozen=True, kw_only=True)
class TextBlock:
    """A body paragraph: justified with a first-line indent unless told otherwise."""

    text: str
    bold: bool = False
    italic: bool = False
    indent: bool = True
    align: Alignment = "justify"


@dataclass(frozen=True, kw_only=True)
class TableBlock:
    """A bordered table of text cells with a bold header row.

    ``widths_mm`` gives each column's width; ``numeric_columns`` are right-aligned;
    ``bold_rows`` are indices into ``rows`` (e.g. a totals row).
    """

    columns: Sequence[str]
    rows: Sequence[Sequence[str]]
    widths_mm: Sequence[float] = ()
    numeric_columns: frozenset[int] = frozenset()
    bold_rows: frozenset[int] = frozenset()
    font_pt: float = 11

    def __post_init__(self) -> None:
        _freeze(self, "columns")
        _freeze(self, "widths_mm")
        object.__setattr__(self, "rows", tuple(tuple(row) for row in self.rows))
        width = len(self.columns)
        if self.widths_mm and len(self.widths_mm) != width:
            raise ValueError(f"{len(self.widths_mm)} widths for {width} columns")
        for i, row in enumerate(self.rows):
            if len(row) != width:
                raise ValueError(f"row {i} has {len(row)} cells, the table {width} columns")


Block = Heading | TextBlock | TableBlock


# --- self-assessment of the index set ---------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AssessmentRow:
    """One line of the index set: an area, a criterion or a sub-criterion, in table order.

    ``max_points`` is the configured maximum (for a bonus or penalty row: its cap).
    ``self_score=None`` on an area or criterion row means “sum of the rows beneath it”; on a
    row with nothing beneath it, “not scored yet”. A penalty is a negative ``self_score``.
    ``bonus_penalty`` puts the row, and every row beneath it, outside the 100-point base.
    """

    level: Level
    code: str
    title: str
    max_points: Decimal
    self_score: Decimal | None = None
    evidence: Sequence[str] = ()
    explanation: str = ""
    owner_unit: str = ""
    bonus_penalty: bool = False

    def __post_init__(self) -> None:
        if self.level not in get_args(Level):
            raise ValueError(f"level must be one of {get_args(Level)}, got {self.level!r}")
        _freeze(self, "evidence")


@dataclass(frozen=True, kw_only=True)
class SelfAssessmentTable:
    """The ward's self-assessment for one period, rows in the order of the index set."""

    ward_name: str
    period_label: str
    index_set_title: str
    rows: Sequence[AssessmentRow]

    def __post_init__(self) -> None:
        _freeze(self, "rows")
        if self.rows and self.rows[0].level != "area":
            raise ValueError("the first row of a self-assessment table must be an area")


# --- emulation ranking of units ---------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RankingRow:
    """One unit's place in the emulation ranking; shares are fractions (0.95 = 95%)."""

    rank: int
    unit_name: str
    score: Decimal
    band: str
    on_time_share: Decimal | None
    first_review_share: Decimal | None
    points_lost: Decimal
    overdue: int
    explanation: str = ""

    def __post_init__(self) -> None:
        for name in ("on_time_share", "first_review_share"):
            share = getattr(self, name)
            if share is not None and not Decimal(0) <= share <= Decimal(1):
                raise ValueError(f"{name} is a fraction between 0 and 1, got {share}")


@dataclass(frozen=True, kw_only=True)
class RankingTable:
    """The ranking of a period. ``band_order`` lists the bands best first (for colours);
    when empty, bands are ordered by their best score."""

    title: str
    period_label: str
    rows: Sequence[RankingRow]
    band_order: Sequence[str] = field(default=())

    def __post_init__(self) -> None:
        _freeze(self, "rows")
        _freeze(self, "band_order")
