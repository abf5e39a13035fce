"""Vietnamese numbers and dates (``cchc.vi_text``), and that they are written nowhere else."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from cchc import vi_text
from cchc.scoring.rounding import half_up

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (Decimal("1234.56"), 2, "1.234,56"),
        (Decimal("1234567.891"), 2, "1.234.567,89"),
        (Decimal("0.125"), 2, "0,13"),
        (Decimal("-0.5"), 2, "-0,50"),
        (96, 2, "96,00"),
        (2.675, 2, "2,68"),
        (Decimal(1000), 0, "1.000"),
        (Decimal("999.5"), 0, "1.000"),
    ],
)
def test_vn_number(value: Decimal | int | float, decimals: int, expected: str) -> None:
    """Comma for decimals, dot between thousands, rounded half up."""
    assert vi_text.number(value, decimals) == expected


def test_vn_percent_and_half_up() -> None:
    """A value already in percent gets the Vietnamese number and a % sign."""
    assert vi_text.percent(Decimal("78.6111")) == "78,61%"
    assert half_up(Decimal("78.605")) == Decimal("78.61")


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
    assert vi_text.long_date(day) == words
    assert vi_text.document_date(day) == numeric


def test_vn_place_date() -> None:
    """The place-and-date line of the header."""
    line = "Phù Liễn, ngày 05 tháng 12 năm 2025"
    assert vi_text.place_date("Phù Liễn", date(2025, 12, 5)) == line


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("19.693877"), "19,69"),
        (Decimal("0.125"), "0,13"),
        (Decimal("2.50"), "2,5"),
        (Decimal(100), "100"),
        (Decimal("1234.5"), "1.234,5"),
        (Decimal("-0.001"), "0"),
    ],
)
def test_vi_number_uses_comma_decimals_and_dot_thousands(value: Decimal, text: str) -> None:
    """Numbers are written the Vietnamese way and rounded half-up to 2 decimals."""
    assert vi_text.number_short(value) == text


def test_number_of_a_fraction_and_of_zero() -> None:
    """Exact fractions round half up; a value rounding to zero is never written ``-0``."""
    assert vi_text.number(Fraction(2, 3)) == "0,67"
    assert vi_text.number(Fraction(-1, 8)) == "-0,13"
    assert vi_text.number(Decimal("-0.001")) == "0,00"
    assert vi_text.number(Decimal("1234567.5"), 0) == "1.234.568"


def test_as_written_keeps_the_written_decimals() -> None:
    """A weight is written with its own decimals, none added: ``40``, ``12,5``, ``0,125``."""
    assert vi_text.as_written(Decimal(40)) == "40"
    assert vi_text.as_written(Decimal("12.50")) == "12,5"
    assert vi_text.as_written(Decimal("0.125")) == "0,125"
    assert vi_text.as_written(Decimal("1E+2")) == "100"


def test_date_text_of_dates_instants_and_iso_text() -> None:
    """Tables write ``dd/mm/yyyy``; an instant is shown on its day in Asia/Ho_Chi_Minh."""
    assert vi_text.date_text(date(2025, 9, 9)) == "09/09/2025"
    assert vi_text.date_text("2025-10-31") == "31/10/2025"
    assert vi_text.date_text(datetime(2025, 11, 3, 17, 30, tzinfo=UTC)) == "04/11/2025"
    assert vi_text.date_text("2025-11-03T17:30:00Z") == "04/11/2025"
    assert vi_text.day_month(date(2025, 8, 5)) == "05/08"


def test_datetime_text_in_local_time() -> None:
    """Instants are shown in local time, naive ones read as UTC, with seconds on request."""
    naive = datetime(2025, 12, 31, 17, 5, 9)
    assert vi_text.datetime_text(naive) == "01/01/2026 00:05"
    assert vi_text.datetime_text(naive, seconds=True) == "01/01/2026 00:05:09"
    assert vi_text.datetime_text("2025-11-03T17:30:00.000000Z") == "04/11/2025 00:30"


_FORMATTING = [
    re.compile(r"""\.replace\(\s*["']\.["']\s*,\s*["'],["']\s*\)"""),  # 1.5 → 1,5 by hand
    re.compile(r"\\x00"),  # the swap of "," and "." through a placeholder
    re.compile(r"strftime\(\s*[\"'][^\"']*%d"),  # dates written day first by hand
    re.compile(r"\{[^{}]*:[^{}]*%d/%m[^{}]*\}"),  # f"{day:%d/%m/%Y}"
    re.compile(r"whole\[-3:\]"),  # thousands grouped by hand
]


def test_vietnamese_numbers_and_dates_are_written_only_by_vi_text() -> None:
    """No module of the application formats Vietnamese numbers or dates by itself."""
    offenders = []
    for package in ("cchc", "notifications", "flows"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == ROOT / "cchc" / "vi_text.py":
                continue
            text = path.read_text(encoding="utf-8")
            for pattern in _FORMATTING:
                where = path.relative_to(ROOT)
                offenders += [f"{where}: {m.group(0)}" for m in pattern.finditer(text)]
    assert offenders == []


def _code_matches(pattern: re.Pattern[str], packages: tuple[str, ...]) -> list[str]:
    found = []
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            found += [str(path.relative_to(ROOT)) for _ in pattern.finditer(text)]
    return found


def test_half_up_rounding_and_canonical_json_are_defined_once() -> None:
    """Half-up rounding lives in cchc/scoring/rounding.py, canonical JSON in workflows/canonical."""
    packages = ("cchc", "notifications", "flows", "workflows")
    half_up_code = re.compile(r"rounding=ROUND_HALF_UP|Fraction\(1, 2\)")
    assert set(_code_matches(half_up_code, packages)) == {"cchc/scoring/rounding.py"}
    canonical = re.compile(r"""sort_keys=True,\s*separators=""")
    assert _code_matches(canonical, packages) == ["workflows/canonical.py"]
