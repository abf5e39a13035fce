"""The working calendar: Vietnamese holidays, configured swaps, due times and the config file.

Every function under test takes its dates and times as arguments: the clock is the test's.
"""

from __future__ import annotations

import pickle
import re
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cchc.vietnam import CALENDAR_LOCALE, vietnam_calendar
from workflows import calendar as calendar_module
from workflows.calendar import CalendarRangeError, WorkingCalendar, check_calendar, load_calendar
from workflows.definition.models import DayCount
from workflows.errors import DefinitionError

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "definitions" / "calendar.yaml"
DOCS = ROOT / "docs" / "calendar.md"
HCM = timezone(timedelta(hours=7))
"""A fixed +07:00 offset: the tests build local times without the code under test."""

LIB = vietnam_calendar()
"""The library's holidays only, no configured corrections."""


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return load_calendar(SHIPPED, CALENDAR_LOCALE)


def local(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=HCM)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "calendar.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# --- days -------------------------------------------------------------------------------------


def test_friday_plus_one_working_day_is_monday() -> None:
    """Friday + 1 working day is the next Monday; the weekend does not count."""
    assert LIB.add_working_days(date(2026, 3, 6), 1) == date(2026, 3, 9)
    assert LIB.add_working_days(date(2026, 3, 7), 1) == date(2026, 3, 9)  # from a Saturday
    assert LIB.add_working_days(date(2026, 3, 6), 0) == date(2026, 3, 6)


def test_five_working_days_over_tet_2026_skip_16_to_20_february() -> None:
    """5 working days from Friday 13/02/2026 skip Tết (16–20/02) and fall on Friday 27/02."""
    for d in range(16, 21):
        assert not LIB.is_working_day(date(2026, 2, d))
        assert LIB.holiday_name(date(2026, 2, d)) == "Tết Nguyên đán"
    assert LIB.add_working_days(date(2026, 2, 13), 5) == date(2026, 2, 27)
    assert LIB.add_working_days(date(2026, 2, 12), 5) == date(2026, 2, 26)
    assert LIB.working_days_between(date(2026, 2, 13), date(2026, 2, 27)) == 5


def test_tet_2025_weekdays_27_to_31_january_are_off() -> None:
    """Tết Ất Tỵ 2025: Monday 27/01 to Friday 31/01 are off (Thông báo 6150/TB-LĐTBXH)."""
    assert [LIB.is_working_day(date(2025, 1, d)) for d in range(24, 32)] == [
        True,
        False,
        False,
        False,
        False,
        False,
        False,
        False,
    ]
    assert LIB.add_working_days(date(2025, 1, 24), 1) == date(2025, 2, 3)


def test_30_april_1_may_2025_with_the_swapped_friday_and_saturday() -> None:
    """2025: 30/4, 1/5 and the swapped Friday 2/5 are off; Saturday 26/4 is worked instead."""
    assert LIB.add_working_days(date(2025, 4, 29), 1) == date(2025, 5, 5)
    assert LIB.is_working_day(date(2025, 4, 26))
    assert LIB.add_working_days(date(2025, 4, 25), 1) == date(2025, 4, 26)
    assert LIB.holiday_name(date(2025, 4, 30)) == "Ngày Giải phóng miền Nam, thống nhất đất nước"
    assert LIB.holiday_name(date(2025, 5, 1)) == "Ngày Quốc tế Lao động"
    assert LIB.holiday_name(date(2025, 5, 2)) == "Nghỉ hoán đổi (làm bù thứ Bảy 26/04/2025)"


def test_30_april_1_may_2026_and_hung_kings_observed() -> None:
    """2026: 30/4 (Thu) and 1/5 (Fri) are off; Giỗ Tổ on Sunday 26/4 is observed Monday 27/4."""
    assert LIB.add_working_days(date(2026, 4, 29), 1) == date(2026, 5, 4)
    assert LIB.add_working_days(date(2026, 4, 29), 2) == date(2026, 5, 5)
    assert LIB.add_working_days(date(2026, 4, 24), 1) == date(2026, 4, 28)
    assert LIB.holiday_name(date(2026, 4, 27)) == "Giỗ Tổ Hùng Vương (nghỉ bù)"


def test_national_day_and_the_day_beside_it() -> None:
    """2/9 and one day beside it are off: 1–2/9/2025, 2–3/9/2024, 1–2/9/2026 (+ 31/8 swapped)."""
    assert LIB.add_working_days(date(2025, 8, 29), 1) == date(2025, 9, 3)
    assert LIB.holiday_name(date(2025, 9, 1)) == "Quốc khánh"
    assert LIB.add_working_days(date(2024, 8, 30), 1) == date(2024, 9, 4)
    assert not LIB.is_working_day(date(2024, 9, 3))
    assert LIB.add_working_days(date(2026, 8, 28), 1) == date(2026, 9, 3)
    assert LIB.is_working_day(date(2026, 8, 22))  # the library's make-up Saturday


def test_configured_make_up_saturday_counts_and_configured_day_off_does_not(
    cal: WorkingCalendar,
) -> None:
    """The shipped swap: Friday 2/1/2026 is off, Saturday 10/1/2026 is a working day."""
    assert LIB.is_working_day(date(2026, 1, 2))
    assert not LIB.is_working_day(date(2026, 1, 10))
    assert not cal.is_working_day(date(2026, 1, 2))
    assert cal.is_working_day(date(2026, 1, 10))
    assert cal.add_working_days(date(2025, 12, 31), 1) == date(2026, 1, 5)
    assert cal.add_working_days(date(2026, 1, 9), 1) == date(2026, 1, 10)
    assert cal.holiday_name(date(2026, 1, 1)) == "Tết Dương lịch"
    assert "12729/VPCP-KGVX" in (cal.holiday_name(date(2026, 1, 2)) or "")
    assert cal.holiday_name(date(2026, 1, 10)) is None


def test_days_off_and_make_up_days_built_in_code() -> None:
    """A calendar built in code applies its own days off and make-up days."""
    custom = vietnam_calendar(
        days_off={date(2026, 3, 9): "Nghỉ đột xuất"},
        make_up_days={date(2026, 3, 14): "Làm bù"},
    )
    assert custom.add_working_days(date(2026, 3, 6), 1) == date(2026, 3, 10)
    assert custom.add_working_days(date(2026, 3, 13), 1) == date(2026, 3, 14)
    assert custom.holiday_name(date(2026, 3, 9)) == "Nghỉ đột xuất"


def test_not_days_off_undoes_a_library_holiday() -> None:
    """A weekday the library calls a holiday is worked when listed in not_days_off."""
    assert not LIB.is_working_day(date(2026, 11, 24))
    worked = vietnam_calendar(not_days_off={date(2026, 11, 24): "chưa có văn bản"})
    assert worked.is_working_day(date(2026, 11, 24))
    assert worked.holiday_name(date(2026, 11, 24)) is None


def test_a_day_off_can_cancel_a_library_make_up_saturday() -> None:
    """Listing the library's make-up Saturday as a day off makes it a day off again."""
    undone = vietnam_calendar(
        days_off={date(2025, 4, 26): "không làm bù"},
        not_days_off={date(2025, 5, 2): "không nghỉ hoán đổi"},
    )
    assert not undone.is_working_day(date(2025, 4, 26))
    assert undone.is_working_day(date(2025, 5, 2))


def test_holiday_names_are_as_officials_write_them() -> None:
    """holiday_name gives the Vietnamese official names; None on working days and weekends."""
    assert LIB.holiday_name(date(2025, 1, 1)) == "Tết Dương lịch"
    assert LIB.holiday_name(date(2025, 4, 7)) == "Giỗ Tổ Hùng Vương"
    assert LIB.holiday_name(date(2025, 9, 2)) == "Quốc khánh"
    assert LIB.holiday_name(date(2026, 11, 24)) == "Ngày Văn hóa Việt Nam"
    assert LIB.holiday_name(date(2026, 3, 4)) is None
    assert LIB.holiday_name(date(2026, 3, 7)) is None


def test_invalid_direct_construction_raises() -> None:
    """Building a calendar in code with an inconsistent list raises ValueError."""
    with pytest.raises(ValueError, match="CCHC-C006"):
        vietnam_calendar(make_up_days={date(2026, 3, 4): "a Wednesday"})
    with pytest.raises(ValueError, match="CCHC-C007"):
        vietnam_calendar(days_off={date(2026, 3, 7): "a Saturday"})
    with pytest.raises(ValueError, match="time zone"):
        vietnam_calendar(timezone="Asia/Nowhere")
    with pytest.raises(ValueError, match="country"):
        vietnam_calendar(country="XX")
    with pytest.raises(ValueError, match="workday_start"):
        vietnam_calendar(workday_start=time(18), workday_end=time(17))
    with pytest.raises(ValueError, match="integer"):
        LIB.add_working_days(date(2026, 3, 4), -1)


def test_dates_outside_the_library_years_raise() -> None:
    """A date the library has no holidays for raises CalendarRangeError, not a silent guess."""
    with pytest.raises(CalendarRangeError):
        LIB.is_working_day(date(2101, 1, 3))


def test_library_is_built_once_per_year(monkeypatch: pytest.MonkeyPatch) -> None:
    """The holidays object of a year is built on first use and cached, not per call."""
    built: list[object] = []
    real = holidays.country_holidays

    def counting(*args: object, **kwargs: object) -> holidays.HolidayBase:
        built.append(kwargs.get("years"))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(holidays, "country_holidays", counting)
    fresh = vietnam_calendar()
    built.clear()
    fresh.add_working_days(date(2026, 1, 1), 200)
    fresh.working_days_between(date(2026, 1, 1), date(2026, 12, 31))
    fresh.is_working_day(date(2026, 2, 17))
    assert built == [2026]


def test_calendar_is_immutable_hashable_and_picklable(cal: WorkingCalendar) -> None:
    """The calendar is frozen, equal by configuration, hashable and survives pickling."""
    with pytest.raises(AttributeError):
        cal.country = "TH"  # type: ignore[misc]
    with pytest.raises(TypeError):
        cal.days_off[date(2026, 3, 4)] = "x"  # type: ignore[index]
    copy = pickle.loads(pickle.dumps(cal))
    assert copy == cal
    assert hash(copy) == hash(cal)
    assert copy.is_working_day(date(2026, 1, 10))


# --- due times and reminders ------------------------------------------------------------------


def test_due_at_in_working_days_is_17_local_as_utc() -> None:
    """Working days fall due at 17:00 local, which is 10:00 UTC, as an aware UTC datetime."""
    due = LIB.due_at(local(2026, 3, 4, 10, 0), 3, "working")
    assert due == datetime(2026, 3, 9, 10, 0, tzinfo=UTC)
    assert due.utcoffset() == timedelta(0)
    assert due.astimezone(LIB.tz).time() == time(17, 0)
    assert LIB.due_at(local(2026, 3, 4, 10, 0), 3, DayCount.WORKING) == due


def test_due_at_in_calendar_days_keeps_the_local_time() -> None:
    """Calendar days: the same local time n days later, weekends and holidays in between counted."""
    due = LIB.due_at(local(2026, 2, 10, 10, 15), 14, "calendar")  # over Tết to Tuesday 24/02
    assert due == datetime(2026, 2, 24, 3, 15, tzinfo=UTC)
    assert due.astimezone(LIB.tz) == local(2026, 2, 24, 10, 15)


def test_calendar_days_ending_during_tet_end_with_the_next_working_day() -> None:
    """A calendar-day period ending in Tết 2026 ends Monday 23/02 at 17:00 (BLDS art. 148(5))."""
    due = LIB.due_at(local(2026, 2, 11, 10, 15), 3, "calendar")  # Saturday 14/02: Tết break
    assert due.astimezone(HCM) == local(2026, 2, 23, 17, 0)
    assert due.tzinfo is UTC
    assert LIB.due_at(local(2026, 2, 13, 10, 15), 3, "calendar") == due  # Monday 16/02: Tết
    sunday = LIB.due_at(local(2026, 3, 4, 9, 0), 4, "calendar")  # an ordinary Sunday
    assert sunday.astimezone(HCM) == local(2026, 3, 9, 17, 0)


def test_due_at_working_days_over_tet() -> None:
    """5 working days entered Friday 13/02/2026 afternoon fall due 27/02/2026 17:00 local."""
    due = LIB.due_at(local(2026, 2, 13, 15, 0), 5, "working")
    assert due.astimezone(HCM) == local(2026, 2, 27, 17, 0)


def test_entering_on_a_holiday_counts_from_the_local_date() -> None:
    """Entering during Tết counts working days from that (non-working) day."""
    due = LIB.due_at(local(2026, 2, 17, 9, 0), 1, "working")
    assert due.astimezone(HCM) == local(2026, 2, 23, 17, 0)


def test_entering_late_at_night_counts_from_the_local_date() -> None:
    """23:30 and 00:30 local count from the local date, whatever zone the time is given in."""
    friday_late = datetime(2026, 3, 6, 16, 30, tzinfo=UTC)  # Friday 23:30 local
    assert LIB.due_at(friday_late, 1, "working").astimezone(HCM) == local(2026, 3, 9, 17, 0)
    monday_early = datetime(2026, 3, 8, 17, 30, tzinfo=UTC)  # Sunday in UTC, Monday 00:30 local
    assert LIB.due_at(monday_early, 1, "working").astimezone(HCM) == local(2026, 3, 10, 17, 0)
    naive_utc = datetime(2026, 3, 8, 17, 30)  # naive values are UTC, as SQLite returns them
    assert LIB.due_at(naive_utc, 1, "working") == LIB.due_at(monday_early, 1, "working")


def test_reminders_in_working_days_land_on_working_days() -> None:
    """Reminders 7, 3 and 1 working days before a due over Tết fall on working days at 08:00."""
    due = LIB.due_at(local(2026, 2, 10, 9, 0), 10, "working")
    assert due.astimezone(HCM) == local(2026, 3, 3, 17, 0)
    times = LIB.reminder_times(due, [7, 3, 1], "working")
    assert [t.astimezone(HCM) for t in times] == [
        local(2026, 2, 13, 8, 0),
        local(2026, 2, 26, 8, 0),
        local(2026, 3, 2, 8, 0),
    ]
    for t in times:
        assert t.tzinfo is UTC
        assert LIB.is_working_day(t.astimezone(LIB.tz).date())


def test_reminders_in_calendar_days_and_ordering() -> None:
    """Calendar reminders are k days before at 08:00 local, sorted, deduplicated, before due."""
    due = LIB.due_at(local(2026, 3, 2, 7, 0), 10, "calendar")  # Thursday 12/03 07:00
    times = LIB.reminder_times(due, [1, 7, 3, 1, 0], "calendar")
    assert [t.astimezone(HCM) for t in times] == [
        local(2026, 3, 5, 8, 0),
        local(2026, 3, 9, 8, 0),
        local(2026, 3, 11, 8, 0),
    ]  # offset 0 (12/03 08:00) is after the 07:00 due time, so it is left out


def test_offsets_are_always_plus_seven_hours() -> None:
    """Asia/Ho_Chi_Minh has no daylight saving: +07:00 on every day from 2024 to 2027."""
    day = datetime(2024, 1, 1, 12, tzinfo=UTC)
    while day.year < 2028:
        assert day.astimezone(LIB.tz).utcoffset() == timedelta(hours=7)
        day += timedelta(days=1)
    for entered in (local(2026, 3, 29, 1, 30), local(2026, 10, 25, 1, 30)):
        for count in ("working", "calendar"):
            due = LIB.due_at(entered, 30, count)
            assert due.astimezone(LIB.tz).utcoffset() == timedelta(hours=7)


# --- properties -------------------------------------------------------------------------------

dates = st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31))
counts = st.integers(min_value=0, max_value=60)


@settings(max_examples=300, deadline=None)
@given(start=dates, n=counts)
def test_add_then_between_gives_n(cal: WorkingCalendar, start: date, n: int) -> None:
    """working_days_between(a, add_working_days(a, n)) == n, and the result is a working day."""
    end = cal.add_working_days(start, n)
    assert cal.working_days_between(start, end) == n
    assert cal.working_days_between(end, start) == -n
    if n > 0:
        assert end > start
        assert cal.is_working_day(end)


@settings(max_examples=300, deadline=None)
@given(day=dates, n=counts)
def test_subtract_then_add_round_trips(cal: WorkingCalendar, day: date, n: int) -> None:
    """From a working day, subtracting then adding n working days (or the reverse) returns it."""
    if not cal.is_working_day(day):
        day = cal.add_working_days(day, 1)
    back = cal.subtract_working_days(day, n)
    assert cal.add_working_days(back, n) == day
    assert cal.working_days_between(back, day) == n
    assert cal.subtract_working_days(cal.add_working_days(day, n), n) == day


def _walked(cal: WorkingCalendar, a: date, b: date) -> int:
    """Working days after ``a`` up to and including ``b``, counted one day at a time."""
    if b < a:
        return -_walked(cal, b, a)
    return sum(cal.is_working_day(a + timedelta(days=k)) for k in range(1, (b - a).days + 1))


@settings(max_examples=300, deadline=None)
@given(a=dates, b=dates)
def test_between_counts_what_a_walk_counts(cal: WorkingCalendar, a: date, b: date) -> None:
    """working_days_between(a, b) is the number of working days in (a, b], walked day by day,
    across year ends and with the configured corrections; negative when b < a."""
    assert cal.working_days_between(a, b) == _walked(cal, a, b)


class _CountingCalendar(WorkingCalendar):
    """A calendar that counts the days it is asked about."""

    asked: list[date] = []  # noqa: RUF012 - shared on purpose: the instance is frozen

    def is_working_day(self, day: date) -> bool:
        _CountingCalendar.asked.append(day)
        return super().is_working_day(day)


def test_between_looks_at_each_day_of_a_year_once() -> None:
    """Counting working days over a span asks each day of its years once per calendar, however
    often it is counted (a page counts the days late of every task on every request)."""
    counting = _CountingCalendar(*LIB.__reduce__()[1])
    _CountingCalendar.asked.clear()
    first = counting.working_days_between(date(2025, 3, 1), date(2026, 11, 30))
    asked = len(_CountingCalendar.asked)
    for _ in range(10):
        assert counting.working_days_between(date(2025, 3, 1), date(2026, 11, 30)) == first
        assert counting.working_days_between(date(2026, 11, 30), date(2025, 3, 1)) == -first
    assert first == _walked(LIB, date(2025, 3, 1), date(2026, 11, 30))
    assert len(_CountingCalendar.asked) == asked <= 365 + 365


def test_between_inside_the_library_span_only_needs_those_years() -> None:
    """A count starting on the last day before the library's first year needs no holidays of
    that earlier year (only the days after the start are counted)."""
    first_year = LIB._span[0]  # the first year the library covers
    start = date(first_year - 1, 12, 31)
    assert LIB.working_days_between(start, date(first_year, 1, 31)) == _walked(
        LIB, start, date(first_year, 1, 31)
    )
    with pytest.raises(CalendarRangeError):
        LIB.working_days_between(date(first_year - 1, 12, 30), date(first_year, 1, 31))


# --- the configuration file -------------------------------------------------------------------


def test_shipped_calendar_loads_without_problems() -> None:
    """definitions/calendar.yaml loads cleanly with the documented defaults."""
    cal, problems = check_calendar(SHIPPED, CALENDAR_LOCALE)
    assert problems == []
    assert cal is not None
    assert cal.country == "VN"
    assert cal.timezone == "Asia/Ho_Chi_Minh"
    assert (cal.workday_start, cal.workday_end) == (time(8, 0), time(17, 0))


def test_unquoted_times_and_empty_lists_are_read(tmp_path: Path) -> None:
    """Unquoted 17:00 (a YAML base-60 number) and empty lists load as intended."""
    cal = load_calendar(
        write(tmp_path, "workday_start: 7:30\nworkday_end: 16:45\ndays_off:\n"), CALENDAR_LOCALE
    )
    assert (cal.workday_start, cal.workday_end) == (time(7, 30), time(16, 45))
    assert dict(cal.days_off) == {}


BAD = """\
country: VN
timezone: Asia/Ho_Chi_Minh
workday_end: "17:00"
holidays: {}
days_off:
  2026-03-07: "a Saturday"
  2026-03-09: "a Monday, also a make-up day"
  "09/03/2026": "not ISO"
  "2026-02-30": "no such day"
  2026-03-10:
make_up_days:
  2026-03-11: "a Wednesday"
  2026-03-09: "also a day off"
not_days_off:
  2026-03-12: "no holiday that day"
"""


def test_config_problems_each_with_code_and_line(tmp_path: Path) -> None:
    """Every problem of a bad file is reported at once, each with its code and line."""
    path = write(tmp_path, BAD)
    cal, problems = check_calendar(path, CALENDAR_LOCALE)
    assert cal is None
    assert {(p.code, p.line) for p in problems} == {
        ("CCHC-C002", 4),  # unknown key holidays
        ("CCHC-C007", 6),  # a day off on a Saturday
        ("CCHC-C003", 8),  # 09/03/2026 is not ISO
        ("CCHC-C003", 9),  # 2026-02-30 does not exist
        ("CCHC-C009", 10),  # no reason
        ("CCHC-C006", 12),  # a make-up day on a Wednesday
        ("CCHC-C008", 13),  # 2026-03-09 is also a day off
        ("CCHC-C010", 15),  # not a library holiday
    }
    for p in problems:
        assert p.file.endswith("calendar.yaml")
        assert p.hint
    with pytest.raises(DefinitionError) as info:
        load_calendar(path, CALENDAR_LOCALE)
    assert info.value.problems == problems


@pytest.mark.parametrize(
    ("text", "code", "line"),
    [
        ("days_off:\n  2026-02-30: x\n", "CCHC-C001", 2),  # unquoted impossible date
        ("days_off: [\n", "CCHC-C001", 2),  # invalid YAML
        ("days_off: {}\ndays_off: {}\n", "CCHC-C004", 2),
        ("- VN\n", "CCHC-C005", 1),
        ("", "CCHC-C005", 1),
        ("country: XX\n", "CCHC-C009", 1),
        ("timezone: Asia/Nowhere\n", "CCHC-C009", 1),
        ('workday_start: "8"\n', "CCHC-C009", 1),  # a bare hour is not HH:MM
        ('workday_start: "18:00"\n', "CCHC-C009", 1),
        ('workday_end: "25:00"\n', "CCHC-C009", 1),
        ("make_up_days: [2026-01-10]\n", "CCHC-C009", 1),
        ("days_off:\n  2026-03-09: x\n  '2026-03-09': y\n", "CCHC-C004", 3),
        ("days_off:\n  2026-03-09 10:00: x\n", "CCHC-C003", 2),
        ("not_days_off:\n  2026-11-28: x\n", "CCHC-C010", 2),  # a Saturday
    ],
)
def test_each_config_problem_code(tmp_path: Path, text: str, code: str, line: int) -> None:
    """One problem per small file: its stable code and its line."""
    _, problems = check_calendar(write(tmp_path, text), CALENDAR_LOCALE)
    assert [(p.code, p.line) for p in problems] == [(code, line)]


def test_docs_list_every_code() -> None:
    """docs/calendar.md documents every problem code the loader can report."""
    source = Path(calendar_module.__file__).read_text(encoding="utf-8")
    codes = set(re.findall(r"CCHC-C\d{3}", source))
    assert codes == {f"CCHC-C{n:03d}" for n in range(1, 11)}
    docs = DOCS.read_text(encoding="utf-8")
    assert {code for code in codes if code not in docs} == set()
