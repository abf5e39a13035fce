"""How the pages write dates and numbers: ``dd/mm/yyyy``, a decimal comma, local time
(``cchc.vi_text``, the one place that writes them)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from cchc import vi_text


def vn_date(value: date | datetime | str | None) -> str:
    """``31/10/2025`` (a datetime is shown as its local day)."""
    if value is None or value == "":
        return ""
    return vi_text.date_text(value)


def vn_datetime(value: datetime | None) -> str:
    """``31/10/2025 14:30`` local time."""
    if value is None:
        return ""
    return vi_text.datetime_text(value)


def vn_number(value: Decimal | float | int | None, places: int = 2) -> str:
    """``1.234,50``: the Vietnamese decimal comma and thousands point."""
    if value is None:
        return ""
    return vi_text.number(Decimal(str(value)), places)


FILTERS = {"vn_date": vn_date, "vn_datetime": vn_datetime, "vn_number": vn_number}
