"""When a plan task is late, and by how many working days: the one definition every view uses.

``cchc tasks list`` (table and JSON), the emulation ranking (``cchc.ranking.unit_results``),
the 1.1.3 plan-completion rule (``cchc.scoring.scores``), the review meeting's report
(``cchc.review.compile``), the deadline sweep (``cchc.plan.deadlines``) and the daily digest
(``notifications.digest``) all ask this module. The rule (docs/ranking.md, "Late tasks"):

- **Due.** A task is due at ``workday_end`` (17:00) local on its **due day**: its deadline, or
  the next working day when the deadline is a weekend or holiday (Civil Code 2015, art. 148(5)).
  The sweep marks it overdue at that moment.
- **Completed.** Submitting the product (awaiting acceptance, or accepted) completes the task at
  that moment; a product sent back (``returned``) reopens it. A cancelled task is never late.
- **Late.** Completed after it was due, or still open after it was due (or marked overdue).
- **Working days late.** Working days after the due day up to the working day the completion
  (or, for an open task, the moment asked about) counts on; a moment after ``workday_end`` or
  on a day off counts on the next working day, as a letter received after hours does. A late
  task is at least 1 working day late.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from workflows.calendar import WorkingCalendar
from workflows.canonical import utc

COMPLETED = frozenset({"product_submitted", "done"})
"""States in which the task's product was submitted: its completion is that moment."""


@dataclass(frozen=True)
class Lateness:
    """Whether a task is late and by how many working days (0 when it is not late)."""

    late: bool
    working_days: int

    def text(self) -> str:
        """``trễ 3 ngày làm việc`` when late, else empty."""
        return f"trễ {self.working_days} ngày làm việc" if self.late else ""

    def label(self, state_label: str) -> str:
        """The state as shown: ``Hoàn thành (trễ 3 ngày làm việc)``, or the label alone."""
        return f"{state_label} ({self.text()})" if self.late else state_label


ON_TIME = Lateness(late=False, working_days=0)


def due_day(calendar: WorkingCalendar, deadline: date) -> date:
    """The deadline, or the next working day when it falls on a weekend or holiday."""
    return calendar.working_day_from(deadline)


def due_moment(calendar: WorkingCalendar, deadline: date) -> datetime:
    """When a task with this deadline falls due: ``workday_end`` local on its due day, in UTC."""
    day = due_day(calendar, deadline)
    return utc(datetime.combine(day, calendar.workday_end, tzinfo=calendar.tz))


def counted_day(calendar: WorkingCalendar, moment: datetime) -> date:
    """The working day a moment counts on: its local date, or the next working day when it is
    after ``workday_end`` or on a day off."""
    local = calendar.local(moment)
    if calendar.is_working_day(local.date()) and local.time() <= calendar.workday_end:
        return local.date()
    return calendar.add_working_days(local.date(), 1)


def _moment(calendar: WorkingCalendar, as_of: datetime | date) -> datetime:
    if isinstance(as_of, datetime):
        return utc(as_of)
    return utc(datetime.combine(as_of, calendar.workday_end, tzinfo=calendar.tz))


def completed_at(state: str, data: Mapping[str, Any]) -> datetime | None:
    """When the task's product was submitted, if it is submitted or accepted (aware UTC)."""
    submitted = data.get("product_submitted_at")
    if state not in COMPLETED or not submitted:
        return None
    return utc(datetime.fromisoformat(str(submitted)))


def task_lateness(
    state: str,
    data: Mapping[str, Any],
    as_of: datetime | date,
    calendar: WorkingCalendar | None = None,
) -> Lateness:
    """Whether the task (its state and data) is late at ``as_of``, and by how many working days.

    ``as_of`` is a moment, or a date meaning ``workday_end`` of that day (a report "as of"
    a day). ``calendar`` defaults to the project's (``definitions/calendar.yaml``).
    """
    if state == "cancelled" or not data.get("deadline"):
        return ON_TIME
    calendar = calendar or project_calendar()
    deadline = date.fromisoformat(str(data["deadline"]))
    due = due_moment(calendar, deadline)
    finished = completed_at(state, data)
    if state in COMPLETED:
        if finished is None or finished <= due:
            return ON_TIME
        until = finished
    else:
        until = _moment(calendar, as_of)
        if until <= due and state != "overdue":
            return ON_TIME
    days = calendar.working_days_between(due_day(calendar, deadline), counted_day(calendar, until))
    return Lateness(late=True, working_days=max(days, 1))


def done_on_time(
    state: str, data: Mapping[str, Any], calendar: WorkingCalendar | None = None
) -> bool:
    """Accepted (``done``) with a product submitted by the time it was due: 1.1.3's numerator."""
    if state != "done" or completed_at(state, data) is None:
        return False
    return not task_lateness(state, data, date.min, calendar).late


def due_in_period(state: str, data: Mapping[str, Any], period_end: date) -> bool:
    """A task 1.1.3 and the ranking count: not cancelled, deadline on or before the period end."""
    if state == "cancelled":
        return False
    return date.fromisoformat(str(data["deadline"])) <= period_end


def project_calendar() -> WorkingCalendar:
    """The working calendar of ``definitions/calendar.yaml`` (``CCHC_DEFINITIONS_DIR``)."""
    from cchc.runtime import working_calendar

    return working_calendar()
