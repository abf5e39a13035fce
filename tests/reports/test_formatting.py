"""Vietnamese numbers, percentages and Decree 30 dates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from cchc.reports.formatting import (
    quantize,
    roman,
    vn_date,
    vn_date_numeric,
    vn_number,
    vn_percent,
    vn_place_date,
)


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (Decimal("1234.56"), 2, "1.234,56"),
        (Decimal("1234567.891"), 2, "1.234.567,89"),
        (Decimal("0.125"), 2, "0,13"),
        (Decimal("-0.5"), 2, "-0,50"),
        (96, 2, "96,00"),
        (2.675, 2, "2,68"),
        (Decimal("1000"), 0, "1.000"),
        (Decimal("999.5"), 0, "1.000"),
    ],
)
def test_vn_number(value: Decimal | int | float, decimals: int, expected: str) -> None:
    """Comma for decimals, dot between thousands, rounded half up."""
    assert vn_number(value, decimals) == expected


def test_vn_percent_and_quantize() -> None:
    """A value already in percent gets the Vietnamese number and a % sign."""
    assert vn_percent(Decimal("78.6111")) == "78,61%"
    assert quantize(Decimal("78.605")) == Decimal("78.61")


@pytest.mark.parametrize(
    ("day", "words", "numeric"),
    [
        (date(2025, 12, 5), "ngày 05 tháng 12 năm 2025", "05/12/2025"),
        (date(2025, 9, 9), "ngày 09 tháng 9 năm 2025", "09/9/2025"),
        (date(2025, 7, 31), "ngày 31 tháng 7 năm 2025", "31/7/2025"),
        (date(2025, 11, 3), "ngày 03 tháng 11 năm 2025", "03/11/2025"),
        (date(2026, 1, 15), "ngày 15 tháng 01 năm 2026", "15/01/2026"),
        (date(2026, 2, 1), "ngày 01 tháng 02 năm 2026", "01/02/2026"),
        (date(2026, 10, 20), "ngày 20 tháng 10 năm 2026", "20/10/2026"),
    ],
)
def test_vn_date(day: date, words: str, numeric: str) -> None:
    """Decree 30: zero before a day below 10 and months 1-2 only, as in the seeds (09/9/2025)."""
    assert vn_date(day) == words
    assert vn_date_numeric(day) == numeric


def test_vn_place_date() -> None:
    """The place-and-date line of the header."""
    assert vn_place_date("Phù Liễn", date(2025, 12, 5)) == "Phù Liễn, ngày 05 tháng 12 năm 2025"


def test_roman() -> None:
    """Areas and sections are numbered I, II, … and 0 is refused."""
    assert [roman(n) for n in (1, 4, 7, 9, 14, 40)] == ["I", "IV", "VII", "IX", "XIV", "XL"]
    with pytest.raises(ValueError, match="start at 1"):
        roman(0)
