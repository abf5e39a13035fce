"""How the pages write dates and numbers: ``dd/mm/yyyy``, a decimal comma, local time."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from cchc.indexset.rules import vi_number
from workflows.canonical import LOCAL_TZ, utc


def vn_date(value: date | datetime | str | None) -> str:
    """``31/10/2025`` (a datetime is shown as its local day)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        value = utc(value).astimezone(LOCAL_TZ).date()
    return value.strftime("%d/%m/%Y")


def vn_datetime(value: datetime | None) -> str:
    """``31/10/2025 14:30`` local time."""
    if value is None:
        return ""
    return utc(value).astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M")


def vn_number(value: Decimal | float | int | None, places: int = 2) -> str:
    """``1.234,50``: the Vietnamese decimal comma and thousands point."""
    if value is None:
        return ""
    return vi_number(Decimal(str(value)), places)


FILTERS = {"vn_date": vn_date, "vn_datetime": vn_datetime, "vn_number": vn_number}
