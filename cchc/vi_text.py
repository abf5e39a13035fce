"""Vietnamese text for officials: numbers, percentages, dates and instants, defined once.

Numbers use a comma as the decimal separator and a dot between thousands (``1.234,56``): the
symbols of Babel's ``vi`` locale (CLDR). Every number is rounded half up first
(``cchc.scoring.rounding``); Babel's own ``format_decimal`` is not used for the digits: it
rounds half even and takes 10 times as long as Python's own layout, which the city's tables feel.

Dates: ``05/12/2025`` in tables, messages and notifications (``date_text``); documents follow
Decree 30/2020/NĐ-CP, Appendix I: a day below 10 and the months 1 and 2 take a leading zero,
months 3 to 12 are written as they are (``ngày 09 tháng 9 năm 2025``, ``09/9/2025``,
``01/02/2026``). Instants are shown in Asia/Ho_Chi_Minh (naive values are UTC).

Babel's ``vi`` date patterns are not used: its short form ``d/M/yy`` (``9/9/25``) and long form
``d MMMM, y`` (``9 tháng 9, 2025``) are neither what the tables show today (``09/09/2025``) nor
the Decree 30 forms of the officials' documents.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction
from functools import cache

from cchc.scoring.rounding import half_up
from cchc.vietnam import LOCAL_TZ

__all__ = [
    "as_date",
    "as_written",
    "date_text",
    "datetime_text",
    "day_month",
    "document_date",
    "long_date",
    "number",
    "number_short",
    "percent",
    "place_date",
]

Number = Decimal | Fraction | int | float

_LOCALE = "vi"


# --- numbers ------------------------------------------------------------------------------------


@cache
def _separators() -> dict[int, str]:
    """Python's ``,`` (thousands) and ``.`` (decimals) → the ``vi`` locale's, from Babel."""
    from babel.numbers import get_decimal_symbol, get_group_symbol

    return {ord(","): get_group_symbol(_LOCALE), ord("."): get_decimal_symbol(_LOCALE)}


def _layout(rounded: Decimal, places: int) -> str:
    """Digits of an already rounded value in the ``vi`` locale; never ``-0``."""
    if rounded.is_zero():
        rounded = abs(rounded)
    return f"{rounded:,.{places}f}".translate(_separators())


def _places(value: Decimal) -> int:
    """How many decimals a finite Decimal is written with (``1E+1`` → 0, ``12.5`` → 1)."""
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def number(value: Number, places: int = 2) -> str:
    """``1234.5`` → ``1.234,50``; ``-0.5`` → ``-0,50``; ``places=0`` → ``1.235`` (half up)."""
    return _layout(half_up(value, places), places)


def number_short(value: Number) -> str:
    """At most 2 decimals, no trailing zeros: ``12.50`` → ``12,5``, ``1234`` → ``1.234``."""
    rounded = half_up(value, 2).normalize()
    return _layout(rounded, _places(rounded))


def as_written(value: Decimal) -> str:
    """Every significant decimal, none added: a weight ``40`` → ``40``, ``12.5`` → ``12,5``."""
    normal = value.normalize()
    return _layout(normal, _places(normal))


def percent(value: Number, places: int = 2) -> str:
    """A value already in percent: ``96.254`` → ``96,25%``."""
    return f"{number(value, places)}%"


# --- dates --------------------------------------------------------------------------------------


def as_date(value: date | datetime | str) -> date:
    """A date, an instant (its local day; naive = UTC) or ISO text (date or instant) as a date."""
    if isinstance(value, datetime):
        return _local(value).date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        if len(text) == 10:
            return date.fromisoformat(text)
        return as_date(datetime.fromisoformat(text))
    raise TypeError(f"not a date: {value!r}")


def _local(value: datetime) -> datetime:
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    return aware.astimezone(LOCAL_TZ)


def date_text(value: date | datetime | str) -> str:
    """``05/12/2025``: a date (or an instant's local day, or ISO text) in tables and messages."""
    d = as_date(value)
    return f"{d.day:02d}/{d.month:02d}/{d.year:04d}"


def day_month(value: date | datetime | str) -> str:
    """``05/08``: the day and month, when the year follows (a week ``05/08 – 11/08/2025``)."""
    d = as_date(value)
    return f"{d.day:02d}/{d.month:02d}"


def _month(d: date) -> str:
    return f"{d.month:02d}" if d.month < 3 else str(d.month)


def document_date(value: date | datetime | str) -> str:
    """A date cited in a document (Decree 30): ``09/9/2025``, ``05/12/2025``, ``01/02/2026``."""
    d = as_date(value)
    return f"{d.day:02d}/{_month(d)}/{d.year}"


def long_date(value: date | datetime | str) -> str:
    """``ngày 05 tháng 12 năm 2025``; months 1 and 2 take a leading zero (Decree 30)."""
    d = as_date(value)
    return f"ngày {d.day:02d} tháng {_month(d)} năm {d.year}"


def place_date(place: str, value: date | datetime | str) -> str:
    """The place-and-date line: ``Phù Liễn, ngày 05 tháng 12 năm 2025``."""
    return f"{place}, {long_date(value)}"


def datetime_text(value: datetime | str, *, seconds: bool = False) -> str:
    """An instant (naive = UTC, or ISO text) in local time: ``05/12/2025 14:30`` (``:SS``)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip())
    if not isinstance(value, datetime):
        raise TypeError(f"not a date and time: {value!r}")
    local = _local(value)
    clock = f"{local:%H:%M:%S}" if seconds else f"{local:%H:%M}"
    return f"{date_text(local.date())} {clock}"
