"""Vietnamese formatting for text in generated documents: numbers, percentages, dates.

Numbers in text use a comma as the decimal separator and a dot between thousands
(``1.234,56``). Spreadsheets keep numbers numeric and leave display to the number format.

Dates follow Decree 30/2020/NĐ-CP, Appendix I: a day below 10 and the months 1 and 2 take a
leading zero; months 3 to 12 are written as they are (``ngày 05 tháng 12 năm 2025``,
``ngày 09 tháng 9 năm 2025``, ``ngày 01 tháng 02 năm 2026``). The seeds agree: ``09/9/2025``,
``01/7/2025``, ``31/7/2025``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from cchc.rounding import half_up

__all__ = [
    "quantize",
    "roman",
    "vn_date",
    "vn_date_numeric",
    "vn_number",
    "vn_percent",
    "vn_place_date",
]

Number = Decimal | int | float


def quantize(value: Number, decimals: int = 2) -> Decimal:
    """``value`` rounded half up to ``decimals`` places (floats go through their shortest repr)."""
    return half_up(value, decimals)


def vn_number(value: Number, decimals: int = 2) -> str:
    """``1234.5`` → ``"1.234,50"``; ``-0.5`` → ``"-0,50"``; ``decimals=0`` drops the comma."""
    rounded = quantize(value, decimals)
    sign = "-" if rounded < 0 else ""
    whole, _, fraction = f"{abs(rounded):.{decimals}f}".partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    text = ".".join(groups)
    return f"{sign}{text},{fraction}" if decimals > 0 else f"{sign}{text}"


def vn_percent(value: Number, decimals: int = 2) -> str:
    """A value already in percent: ``96.254`` → ``"96,25%"``."""
    return f"{vn_number(value, decimals)}%"


def _day(d: date) -> str:
    return f"{d.day:02d}"


def _month(d: date) -> str:
    return f"{d.month:02d}" if d.month < 3 else str(d.month)


def vn_date(d: date) -> str:
    """``ngày 05 tháng 12 năm 2025`` (Decree 30: zero before a day < 10 and months 1, 2)."""
    return f"ngày {_day(d)} tháng {_month(d)} năm {d.year}"


def vn_place_date(place: str, d: date) -> str:
    """The place-and-date line: ``Phù Liễn, ngày 05 tháng 12 năm 2025``."""
    return f"{place}, {vn_date(d)}"


def vn_date_numeric(d: date) -> str:
    """The short form used when citing a document: ``09/9/2025``, ``05/12/2025``, ``01/02/2026``."""
    return f"{_day(d)}/{_month(d)}/{d.year}"


_ROMAN = (
    (1000, "M"),
    (900, "CM"),
    (500, "D"),
    (400, "CD"),
    (100, "C"),
    (90, "XC"),
    (50, "L"),
    (40, "XL"),
    (10, "X"),
    (9, "IX"),
    (5, "V"),
    (4, "IV"),
    (1, "I"),
)


def roman(n: int) -> str:
    """``1`` → ``"I"``, ``7`` → ``"VII"``: how areas and report sections are numbered."""
    if n < 1:
        raise ValueError(f"roman numerals start at 1, got {n}")
    out: list[str] = []
    for value, letters in _ROMAN:
        count, n = divmod(n, value)
        out.append(letters * count)
    return "".join(out)
