"""Working days and deadlines in local time: weekends, public holidays and configured swaps.

A ``WorkingCalendar`` answers "is this a working day?" for one country: Monday to Friday, minus
the public holidays the ``holidays`` library knows (lunar-calendar holidays included, with the
official swaps it knows), minus the extra days off and plus the make-up working days an
administrator lists in a calendar file. The application gives the country and time zone a
file does not name, and the names the calendar shows (``CalendarLocale``, ``CalendarNames``).
On top of that it turns a deadline of ``n`` calendar or working days into a due time, and
reminders "k days before" into times. Conventions and the file format are in ``docs/calendar.md``.

Counting: "``n`` working days from ``start``" means the ``n``-th working day *after* ``start``;
``start`` itself is never counted, whether or not it is a working day (an application received
on Friday or on Saturday with 1 working day is due on Monday), as Civil Code 2015 art. 147 counts
periods: the day of the event is not counted.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from holidays import HolidayBase

from workflows.canonical import utc
from workflows.datafile import DataFile, FileCodes, Reading
from workflows.definition.models import DayCount
from workflows.definition.yamlpos import Located
from workflows.errors import DefinitionError, Problem, WorkflowError

CountName = DayCount | Literal["calendar", "working"]
"""How a deadline counts days: ``DayCount`` or its value."""

WEEKEND = frozenset({5, 6})
"""Saturday and Sunday (``date.weekday()``)."""

WEEKDAY_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

_CODES = FileCodes(
    "CCHC-C001",
    "CCHC-C004",
    "CCHC-C005",
    "a calendar file holds keys such as 'country:' and 'days_off:'",
)

LISTS = ("days_off", "make_up_days", "not_days_off")
"""The three date lists of a configuration, each ``{date: reason}``."""

SETTINGS = ("country", "timezone", "workday_start", "workday_end")


class CalendarRangeError(WorkflowError, ValueError):
    """A date outside the years the holidays library covers for the country."""


def _as_given(name: str) -> str:
    """A holiday name as the library gives it."""
    return name


@dataclass(frozen=True)
class CalendarNames:
    """The words a calendar shows people, given by the application.

    ``language``: the language of the holidays library's names (when the library has it for
    the country); ``weekdays``: local weekday names, Monday first, shown beside the English
    ones in problems; ``holiday``: a library name as officials write it (a module-level
    function, so that a calendar pickles). The defaults: the library's names, English only.
    """

    language: str | None = None
    weekdays: tuple[str, ...] | None = None
    holiday: Callable[[str], str] = _as_given
    day_off_in_lieu: str = "day off in lieu"
    """What a weekday given off for a weekend holiday is called (in a hint)."""
    reason_example: str = "the official letter's number"
    """An example of the reason of a listed date (in a hint)."""

    def weekday(self, day: date) -> str:
        """``Monday`` or, with local names, ``Monday (local name)``."""
        english = WEEKDAY_EN[day.weekday()]
        return f"{english} ({self.weekdays[day.weekday()]})" if self.weekdays else english


def _day_of_year(day: date) -> int:
    """1 for 1 January, 365 or 366 for 31 December."""
    return day.toordinal() - date(day.year, 1, 1).toordinal() + 1


def _frozen(mapping: Mapping[date, str] | None) -> Mapping[date, str]:
    return MappingProxyType(dict(sorted((mapping or {}).items())))


@dataclass(frozen=True)
class WorkingCalendar:
    """Working days of one country in one time zone, with the administrator's corrections.

    ``days_off`` are extra weekdays off (a swap's day off, a day the government adds);
    ``make_up_days`` are Saturdays or Sundays worked instead; ``not_days_off`` are dates the
    library lists as a public holiday that are working days after all (a library error, or a
    holiday not in force yet). Each maps a date to the reason, e.g. the official letter.
    Invalid combinations raise ``ValueError`` (``load_calendar`` reports them with lines).
    """

    country: str
    days_off: Mapping[date, str] = field(default_factory=dict, hash=False)
    make_up_days: Mapping[date, str] = field(default_factory=dict, hash=False)
    not_days_off: Mapping[date, str] = field(default_factory=dict, hash=False)
    timezone: str = "UTC"
    workday_start: time = time(8, 0)
    """Local time reminders are sent on their day: the start of the working day."""
    workday_end: time = time(17, 0)
    """Local time a deadline counted in working days falls due on its last day."""
    names: CalendarNames = field(default_factory=CalendarNames, compare=False, hash=False)
    """The words shown: holiday names, weekday names (the application's)."""

    _years: dict[int, HolidayBase] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )
    _lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False, hash=False
    )
    _counts: dict[int, tuple[int, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )
    _tz: ZoneInfo = field(init=False, repr=False, compare=False, hash=False)
    _language: str | None = field(init=False, repr=False, compare=False, hash=False)
    _span: tuple[int, int] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        for name in LISTS:
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        try:
            object.__setattr__(self, "_tz", ZoneInfo(self.timezone))
        except (ZoneInfoNotFoundError, ValueError, TypeError, OSError) as exc:
            raise ValueError(f"unknown time zone {self.timezone!r}") from exc
        try:
            probe = holidays.country_holidays(self.country, years=[])
        except NotImplementedError as exc:
            raise ValueError(
                f"the holidays library does not know country {self.country!r}"
            ) from exc
        # The names' language when the library has it (``names.holiday`` maps those names).
        wanted = self.names.language
        language = wanted if wanted in probe.supported_languages else None
        object.__setattr__(self, "_language", language)
        object.__setattr__(self, "_span", (probe.start_year, probe.end_year))
        if not self.workday_start < self.workday_end:
            raise ValueError(
                f"workday_start {self.workday_start:%H:%M} is not before "
                f"workday_end {self.workday_end:%H:%M}"
            )
        problems = _day_problems({kind: getattr(self, kind) for kind in LISTS}, self)
        if problems:
            raise ValueError("; ".join(f"{p.code} {p.kind}: {p.message}" for p in problems))

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle the configuration only (the per-year cache and its lock are rebuilt)."""
        return (
            WorkingCalendar,
            (
                self.country,
                dict(self.days_off),
                dict(self.make_up_days),
                dict(self.not_days_off),
                self.timezone,
                self.workday_start,
                self.workday_end,
                self.names,
            ),
        )

    @property
    def tz(self) -> ZoneInfo:
        """The calendar's time zone."""
        return self._tz

    # --- days ------------------------------------------------------------------------------

    def _library(self, year: int) -> HolidayBase:
        """The library's holidays of ``year``: built on first use, then cached."""
        cached = self._years.get(year)
        if cached is not None:
            return cached
        first, last = self._span
        if not first <= year <= last:
            raise CalendarRangeError(
                f"the holidays library covers {self.country} from {first} to {last}, not {year}"
            )
        with self._lock:
            cached = self._years.get(year)
            if cached is None:
                cached = holidays.country_holidays(
                    self.country, years=year, expand=False, language=self._language
                )
                self._years[year] = cached
        return cached

    def library_holiday(self, day: date) -> bool:
        """Whether the holidays library alone lists ``day`` as a public holiday."""
        return day in self._library(day.year)

    def library_make_up_day(self, day: date) -> bool:
        """Whether the holidays library alone lists ``day`` as a weekend day worked (a swap)."""
        return day in self._library(day.year).weekend_workdays

    def is_working_day(self, day: date) -> bool:
        """Monday–Friday that is no holiday or configured day off, or a make-up weekend day."""
        if day in self.make_up_days:
            return True
        if day in self.days_off:
            return False
        if day in self.not_days_off:
            return True
        library = self._library(day.year)
        if day in library:
            return False
        if day.weekday() in WEEKEND:
            return day in library.weekend_workdays
        return True

    def holiday_name(self, day: date) -> str | None:
        """The name of the holiday or configured day off on ``day``; None on other days.

        Library names are given as ``names.holiday`` writes them (as officials do, when the
        application says how), otherwise as the library has them; a configured day off gives
        its reason.
        """
        if day in self.make_up_days or day in self.not_days_off:
            return None
        if day in self.days_off:
            return self.days_off[day]
        names = self._library(day.year).get_list(day)
        if not names:
            return None
        return "; ".join(dict.fromkeys(self.names.holiday(name) for name in names))

    def add_working_days(self, start: date, n: int) -> date:
        """The ``n``-th working day after ``start`` (``start`` not counted; ``n`` = 0: start)."""
        _check_count(n)
        day = start
        while n > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                n -= 1
        return day

    def subtract_working_days(self, end: date, n: int) -> date:
        """The ``n``-th working day before ``end`` (``end`` not counted; ``n`` = 0: end)."""
        _check_count(n)
        day = end
        while n > 0:
            day -= timedelta(days=1)
            if self.is_working_day(day):
                n -= 1
        return day

    def working_day_from(self, day: date) -> date:
        """``day`` if it is a working day, else the first working day after it."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def working_days_between(self, a: date, b: date) -> int:
        """Working days after ``a`` up to and including ``b``; negative when ``b`` < ``a``.

        ``working_days_between(a, add_working_days(a, n)) == n`` for every ``a`` and ``n``.
        """
        if b < a:
            return -self.working_days_between(b, a)
        if b == a:
            return 0
        first = a + timedelta(days=1)  # counted from the day after a: only its years are asked
        counts = self._year_counts(first.year)
        count = -counts[_day_of_year(first) - 1]
        for year in range(first.year, b.year):
            count += self._year_counts(year)[-1]
        return count + self._year_counts(b.year)[_day_of_year(b)]

    def _year_counts(self, year: int) -> tuple[int, ...]:
        """Item ``k``: the working days among the first ``k`` days of ``year``; built on first
        use (each day asked once), then cached, so that a count over any span costs a few
        lookups instead of a walk over its days."""
        cached = self._counts.get(year)
        if cached is not None:
            return cached
        counts, running, first = [0], 0, date(year, 1, 1)
        for k in range(_day_of_year(date(year, 12, 31))):
            running += self.is_working_day(first + timedelta(days=k))
            counts.append(running)
        return self._counts.setdefault(year, tuple(counts))

    # --- times -----------------------------------------------------------------------------

    def local(self, moment: datetime) -> datetime:
        """``moment`` in the calendar's time zone (naive values are UTC, as stored)."""
        return utc(moment).astimezone(self._tz)

    def due_at(self, entered: datetime, days: int, count: CountName) -> datetime:
        """When a deadline of ``days`` days, started at ``entered``, falls due (aware UTC).

        Calendar days: the same local time ``days`` days later; when that day is not a working
        day, the period ends instead at ``workday_end`` of the next working day (Civil Code 2015,
        art. 148(5)). Working days: ``workday_end`` local on the ``days``-th working day after
        the local date of ``entered``.
        """
        _check_count(days)
        local = self.local(entered)
        if DayCount(count) is DayCount.CALENDAR:
            wall = local.replace(tzinfo=None) + timedelta(days=days)
            if self.is_working_day(wall.date()):
                return utc(wall.replace(tzinfo=self._tz))
            last = self.working_day_from(wall.date())
            return utc(datetime.combine(last, self.workday_end, tzinfo=self._tz))
        last = self.add_working_days(local.date(), days)
        return utc(datetime.combine(last, self.workday_end, tzinfo=self._tz))

    def reminder_times(
        self, due: datetime, offsets: Iterable[int], count: CountName
    ) -> list[datetime]:
        """Reminders ``k`` days (of the deadline's kind) before ``due``, at ``workday_start``.

        Each offset ``k`` ≥ 0 gives ``workday_start`` local on the day ``k`` calendar days, or
        ``k`` working days, before the local date of ``due``. Times are aware UTC, in order,
        without repeats; one that would not come before ``due`` is left out.
        """
        kind = DayCount(count)
        due_utc = utc(due)
        day = self.local(due).date()
        times: set[datetime] = set()
        for k in offsets:
            _check_count(k)
            if kind is DayCount.CALENDAR:
                on = day - timedelta(days=k)
            else:
                on = self.subtract_working_days(day, k)
            at = utc(datetime.combine(on, self.workday_start, tzinfo=self._tz))
            if at < due_utc:
                times.add(at)
        return sorted(times)


def _check_count(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"a number of days must be an integer ≥ 0, not {n!r}")


class _DayProblem(NamedTuple):
    kind: str
    day: date
    code: str
    message: str
    hint: str


def _day_problems(
    lists: Mapping[str, Mapping[date, str]], cal: WorkingCalendar
) -> list[_DayProblem]:
    """Every inconsistent date of ``lists``; only ``cal``'s library is consulted."""
    found: list[_DayProblem] = []
    seen: dict[date, str] = {}
    for kind in LISTS:
        for day in lists.get(kind, {}):
            weekday = cal.names.weekday(day)
            weekend = day.weekday() in WEEKEND
            if day in seen:
                found.append(
                    _DayProblem(
                        kind,
                        day,
                        "CCHC-C008",
                        f"{day} is also in {seen[day]}",
                        "a date belongs in one list only",
                    )
                )
                continue
            seen[day] = kind
            if kind == "make_up_days" and not weekend:
                found.append(
                    _DayProblem(
                        kind,
                        day,
                        "CCHC-C006",
                        f"make-up day {day} is a {weekday}, a working day anyway",
                        "make-up days are Saturdays or Sundays worked instead",
                    )
                )
            elif kind == "days_off" and weekend and not _library_call(cal.library_make_up_day, day):
                found.append(
                    _DayProblem(
                        kind,
                        day,
                        "CCHC-C007",
                        f"day off {day} is a {weekday}, not a working day anyway",
                        "list the weekday given off instead, e.g. the Monday of a "
                        f"{cal.names.day_off_in_lieu}",
                    )
                )
            elif kind == "not_days_off" and (
                weekend or not _library_call(cal.library_holiday, day)
            ):
                found.append(
                    _DayProblem(
                        kind,
                        day,
                        "CCHC-C010",
                        f"{day}, a {weekday}, is not a public holiday in the holidays library",
                        "not_days_off only undoes a library holiday on a weekday",
                    )
                )
    return found


def _library_call(check: Callable[[date], bool], day: date) -> bool:
    try:
        return bool(check(day))
    except CalendarRangeError:
        return False


# --- configuration file ------------------------------------------------------------------------


Report = Callable[..., None]
"""``report(where, code, message, hint="")``: append a problem at the line of ``where``."""


@dataclass(frozen=True)
class CalendarLocale:
    """What the application gives every calendar: the country and time zone of a calendar file
    that names none, and the names calendars show."""

    country: str
    timezone: str
    names: CalendarNames = field(default_factory=CalendarNames)

    def calendar(self, **settings: Any) -> WorkingCalendar:
        """A calendar of this country, time zone and names; ``settings`` replace any of them
        and give the lists (``days_off`` …) and working hours."""
        given = {"country": self.country, "timezone": self.timezone, "names": self.names}
        return WorkingCalendar(**{**given, **settings})


def check_calendar(
    path: Path, locale: CalendarLocale
) -> tuple[WorkingCalendar | None, list[Problem]]:
    """Read a calendar file; ``(calendar, [])`` or ``(None, every problem found)``."""
    return CALENDAR_FILE.check_file(path, locale)


def check_calendar_text(
    text: str, source: str, locale: CalendarLocale
) -> tuple[WorkingCalendar | None, list[Problem]]:
    """Like ``check_calendar`` for a calendar file's text (problems are placed in ``source``)."""
    return CALENDAR_FILE.check_text(text, source, locale)


def _read_calendar(reading: Reading[CalendarLocale]) -> WorkingCalendar | None:
    """The calendar a file configures, when every setting and date is valid; each problem
    reported on ``reading``."""
    located, report, locale = reading.located, reading.report, reading.context
    data: dict[Any, Any] = located.data
    for key in data:
        if key not in SETTINGS and key not in LISTS:
            report(
                (str(key),),
                "CCHC-C002",
                f"unknown key {key!r}",
                f"allowed keys: {', '.join(SETTINGS + LISTS)}",
            )
    settings = _read_settings(data, report, locale)
    example = locale.names.reason_example
    lists = {kind: _read_list(located, kind, report, example) for kind in LISTS}
    if settings is None:
        return None
    base = locale.calendar(**settings)  # settings were checked above: this cannot fail
    for kind, day, code, message, hint in _day_problems(lists, base):
        report((kind, _key_of(located, kind, day)), code, message, hint)
    if reading.problems:
        return None
    return locale.calendar(
        **settings,
        days_off=lists["days_off"],
        make_up_days=lists["make_up_days"],
        not_days_off=lists["not_days_off"],
    )


CALENDAR_FILE: DataFile[WorkingCalendar, CalendarLocale] = DataFile(
    "calendar file", _CODES, _read_calendar
)
"""A calendar file (``definitions/calendar.yaml``, format in docs/calendar.md)."""


def load_calendar(path: Path, locale: CalendarLocale) -> WorkingCalendar:
    """The calendar configured in ``path``; raises ``DefinitionError`` listing every problem."""
    cal, problems = check_calendar(path, locale)
    if cal is None:
        raise DefinitionError(problems)
    return cal


def load_calendar_text(text: str, source: str, locale: CalendarLocale) -> WorkingCalendar:
    """The calendar configured by a calendar file's ``text`` (e.g. registered in a database);
    the library's holidays alone when the text is empty (there was no file). Raises
    ``DefinitionError`` listing every problem, placed in ``source``."""
    if not text.strip():
        return locale.calendar()
    cal, problems = check_calendar_text(text, source, locale)
    if cal is None:
        raise DefinitionError(problems)
    return cal


def _key_of(located: Located, kind: str, day: date) -> str:
    """The key under which ``day`` is written in ``kind`` (a date or a quoted string)."""
    for key in located.data.get(kind) or {}:
        if _read_date(key) == day:
            return str(key)
    return str(day)


def _read_settings(
    data: dict[Any, Any], report: Report, locale: CalendarLocale
) -> dict[str, Any] | None:
    settings: dict[str, Any] = {}
    ok = True
    country = data.get("country", locale.country)
    if not isinstance(country, str) or not _known_country(country):
        report(
            ("country",),
            "CCHC-C009",
            f"country {country!r} is unknown to the holidays library",
            f"an ISO 3166 code, e.g. {locale.country}",
        )
        ok = False
    settings["country"] = country
    zone = data.get("timezone", locale.timezone)
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        report(
            ("timezone",),
            "CCHC-C009",
            f"unknown time zone {zone!r}",
            f"an IANA name, e.g. {locale.timezone}",
        )
        ok = False
    settings["timezone"] = zone
    for key, default in (("workday_start", time(8, 0)), ("workday_end", time(17, 0))):
        value = _read_time(data.get(key, default))
        if value is None:
            report(
                (key,),
                "CCHC-C009",
                f"{key} {data.get(key)!r} is not a time of day",
                'write it as "HH:MM" in quotes, e.g. "17:00"',
            )
            ok = False
        settings[key] = value
    start, end = settings["workday_start"], settings["workday_end"]
    if start is not None and end is not None and not start < end:
        report(
            ("workday_end",),
            "CCHC-C009",
            f"workday_end {end:%H:%M} is not after workday_start {start:%H:%M}",
            'write times as "HH:MM" in quotes',
        )
        ok = False
    return settings if ok else None


def _known_country(country: str) -> bool:
    try:
        holidays.country_holidays(country, years=[])
    except NotImplementedError:
        return False
    return True


def _read_time(value: object) -> time | None:
    if isinstance(value, time):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        # YAML 1.1 reads an unquoted 17:00 as the base-60 integer 1020 (minutes).
        return time(value // 60, value % 60) if 0 <= value < 24 * 60 else None
    if isinstance(value, str):
        match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value.strip())
        if match:
            return time(int(match[1]), int(match[2]))
    return None


def _read_list(located: Located, kind: str, report: Report, reason_example: str) -> dict[date, str]:
    raw = located.data.get(kind)
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        report(
            (kind,),
            "CCHC-C009",
            f"{kind} must map dates to reasons",
            f'e.g. {kind}: {{2026-01-02: "reason"}}, or leave it empty',
        )
        return {}
    result: dict[date, str] = {}
    for key, reason in raw.items():
        where = (kind, str(key))
        day = _read_date(key)
        if day is None:
            report(
                where,
                "CCHC-C003",
                f"{key!r} in {kind} is not a date",
                "write dates as YYYY-MM-DD, e.g. 2026-01-02",
            )
            continue
        if day in result:
            report(where, "CCHC-C004", f"{day} appears twice in {kind}", "keep one entry per date")
            continue
        if not isinstance(reason, str) or not reason.strip():
            report(
                where,
                "CCHC-C009",
                f"{day} in {kind} has no reason",
                f"say why, e.g. {reason_example}",
            )
            continue
        result[day] = reason.strip()
    return result


def _read_date(value: object) -> date | None:
    if isinstance(value, datetime):
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None
