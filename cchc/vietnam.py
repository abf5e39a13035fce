"""Vietnam as CCHC gives it to the engine: the time zone, the calendar's country and the
Vietnamese names of weekdays and public holidays (as officials write them).

The engine (``workflows``) knows no country: the workflow engine is given ``LOCAL_TZ``, every
calendar ``CALENDAR_LOCALE``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from workflows.calendar import CalendarLocale, CalendarNames, WorkingCalendar
from workflows.canonical import local_text as _local_text
from workflows.registry import Actor
from workflows.rules import CREATE

TIMEZONE = "Asia/Ho_Chi_Minh"
"""The IANA name of the time zone (GMT+7)."""
LOCAL_TZ = ZoneInfo(TIMEZONE)
COUNTRY = "VN"

WEEKDAY_VI = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")

# The library's Vietnamese names (its source strings) and the names officials write.
_VI_NAMES = {
    "Tết Dương lịch": "Tết Dương lịch",
    "29 Tết": "Tết Nguyên đán",
    "Giao thừa Tết Nguyên Đán": "Tết Nguyên đán",
    "Tết Nguyên Đán": "Tết Nguyên đán",
    "Mùng hai Tết Nguyên Đán": "Tết Nguyên đán",
    "Mùng ba Tết Nguyên Đán": "Tết Nguyên đán",
    "Mùng bốn Tết Nguyên Đán": "Tết Nguyên đán",
    "Mùng năm Tết Nguyên Đán": "Tết Nguyên đán",
    "Mùng sáu Tết Nguyên Đán": "Tết Nguyên đán",
    "Ngày Giỗ Tổ Hùng Vương": "Giỗ Tổ Hùng Vương",
    "Ngày Chiến thắng": "Ngày Giải phóng miền Nam, thống nhất đất nước",
    "Ngày Quốc tế Lao động": "Ngày Quốc tế Lao động",
    "Quốc khánh": "Quốc khánh",
    "Ngày Văn hóa Việt Nam": "Ngày Văn hóa Việt Nam",
}
_SUFFIX = re.compile(r"^(?P<name>.+?)(?P<suffix> \((?:nghỉ bù|dự kiến|nghỉ bù, dự kiến)\))$")
_SWAP = re.compile(r"^Ngày nghỉ \(thay cho ngày (?P<day>\d{2})/(?P<month>\d{2})/(?P<year>\d{4})\)$")


def official_name(name: str) -> str:
    """A holidays-library name as officials write it; unknown names are returned unchanged."""
    swap = _SWAP.match(name)
    if swap:
        from cchc.vi_text import date_text  # vi_text reads this module's time zone

        worked = date(int(swap["year"]), int(swap["month"]), int(swap["day"]))
        return f"Nghỉ hoán đổi (làm bù {WEEKDAY_VI[worked.weekday()]} {date_text(worked)})"
    suffix = ""
    match = _SUFFIX.match(name)
    if match and match["name"] in _VI_NAMES:
        name, suffix = match["name"], match["suffix"]
    return _VI_NAMES.get(name, name) + suffix


CALENDAR_NAMES = CalendarNames(
    language="vi",
    weekdays=WEEKDAY_VI,
    holiday=official_name,
    day_off_in_lieu="nghỉ bù",
    reason_example="the official letter: Văn bản số …",
)
CALENDAR_LOCALE = CalendarLocale(country=COUNTRY, timezone=TIMEZONE, names=CALENDAR_NAMES)
"""What every CCHC calendar is given: Vietnam, GMT+7, Vietnamese names."""


def vietnam_calendar(**settings: Any) -> WorkingCalendar:
    """A calendar of Vietnam in GMT+7 with Vietnamese names; ``settings`` as
    ``WorkingCalendar``'s (the lists of days, working hours)."""
    return CALENDAR_LOCALE.calendar(**settings)


def local_text(value: datetime) -> str:
    """A timestamp as officials read it: GMT+7, ``dd/mm/yyyy HH:MM:SS``."""
    return _local_text(value, LOCAL_TZ)


def same_actor_text(
    actor: Actor, fired: Sequence[tuple[str, str | None]], name: str, action: str
) -> str:
    """A separation-of-duties refusal as an official reads it (``Engine.same_actor_text``)."""
    done = ", ".join(
        f"{(label or ('Tạo' if trigger == CREATE else trigger)).lower()} ({trigger})"
        for trigger, label in fired
    )
    return (
        f"{actor.id} là người đã {done} ở {name} nên không được tự {action.lower()}; "
        "việc này phải do người khác làm"
    )
