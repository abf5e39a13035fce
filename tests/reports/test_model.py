"""The input dataclasses: frozen, lists stored as tuples, bad shapes refused."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from cchc.reports.model import (
    AssessmentRow,
    DocumentHeader,
    RankingRow,
    SelfAssessmentTable,
    TableBlock,
)


def test_lists_become_tuples_and_instances_are_hashable(
    assessment: SelfAssessmentTable,
) -> None:
    """A table built from lists is immutable all the way down."""
    assert isinstance(assessment.rows, tuple)
    assert isinstance(assessment.rows[2].evidence, tuple)
    hash(assessment)
    with pytest.raises(dataclasses.FrozenInstanceError):
        assessment.ward_name = "Phường khác"  # type: ignore[misc]


def test_header_defaults_are_the_ward() -> None:
    """Issuing body, place and kind default to the ward's report."""
    header = DocumentHeader(number="1/BC-UBND", date=date(2025, 1, 2), subject=["Một"])
    assert header.issuing_body_parent == "ỦY BAN NHÂN DÂN"
    assert header.issuing_body == "PHƯỜNG PHÙ LIỄN"
    assert header.place == "Phù Liễn"
    assert header.kind_title == "BÁO CÁO"
    assert header.subject == ("Một",)


def test_bad_level_refused() -> None:
    """Only area, criterion and sub are levels."""
    with pytest.raises(ValueError, match="level"):
        AssessmentRow(level="group", code="1", title="x", max_points=Decimal(1))  # type: ignore[arg-type]


def test_table_must_start_with_an_area() -> None:
    """A criterion before any area has no area to count in."""
    row = AssessmentRow(level="criterion", code="1.1", title="x", max_points=Decimal(1))
    with pytest.raises(ValueError, match="must be an area"):
        SelfAssessmentTable(ward_name="P", period_label="năm 2025", index_set_title="", rows=[row])


def test_share_outside_zero_one_refused() -> None:
    """Shares are fractions, not percentages."""
    with pytest.raises(ValueError, match="on_time_share"):
        RankingRow(
            rank=1,
            unit_name="Phòng Văn hóa - Xã hội",
            score=Decimal(90),
            band="Tốt",
            on_time_share=Decimal(95),
            first_review_share=None,
            points_lost=Decimal(0),
            overdue=0,
        )


def test_table_block_shape_checked() -> None:
    """Every row has one cell per column; widths match the columns."""
    with pytest.raises(ValueError, match="row 0 has 1 cells"):
        TableBlock(columns=["A", "B"], rows=[["x"]])
    with pytest.raises(ValueError, match="3 widths for 2 columns"):
        TableBlock(columns=["A", "B"], rows=[], widths_mm=[1, 2, 3])
