"""The one definition of a late task (cchc.plan.lateness), in working days, around Tết 2026."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from cchc.plan.lateness import done_on_time, due_moment, task_lateness
from cchc.vietnam import LOCAL_TZ, vietnam_calendar

CAL = vietnam_calendar()


def local(text: str) -> datetime:
    """A local Asia/Ho_Chi_Minh time."""
    return datetime.fromisoformat(text).replace(tzinfo=LOCAL_TZ)


def task(deadline: str, submitted: str | None = None) -> dict[str, Any]:
    """A task's data with its deadline and, if given, when its product was submitted."""
    data: dict[str, Any] = {"deadline": deadline}
    if submitted:
        data["product_submitted_at"] = local(submitted).isoformat()
    return data


def test_a_product_after_tet_is_one_working_day_late() -> None:
    """Due Friday 13/02/2026, a product on Monday 23/02 after Tết is 1 working day late."""
    late = task_lateness("done", task("2026-02-13", "2026-02-23T09:00"), date.max, CAL)
    assert (late.late, late.working_days) == (True, 1)
    assert late.label("Hoàn thành") == "Hoàn thành (trễ 1 ngày làm việc)"
    later = task_lateness("done", task("2026-02-13", "2026-02-25T09:00"), date.max, CAL)
    assert later.working_days == 3


def test_a_deadline_in_tet_is_met_on_the_next_working_day() -> None:
    """Due Sunday 15/02/2026 (Tết): due Monday 23/02 at 17:00; a product at 16:59 is on time."""
    assert due_moment(CAL, date(2026, 2, 15)) == local("2026-02-23T17:00")
    data = task("2026-02-15", "2026-02-23T16:59")
    assert not task_lateness("done", data, date.max, CAL).late
    assert done_on_time("done", data, CAL)


def test_after_hours_or_on_a_day_off_counts_on_the_next_working_day() -> None:
    """A product at 17:30 on the due day, or on the Saturday after, is 1 working day late."""
    for submitted in ("2026-03-06T17:30", "2026-03-07T10:00"):
        data = task("2026-03-06", submitted)
        assert task_lateness("product_submitted", data, date.max, CAL).working_days == 1
        assert not done_on_time("done", data, CAL)


def test_open_tasks_are_late_once_due_and_cancelled_ones_never() -> None:
    """Open past 17:00 on the due day is late (a returned product reopens); cancelled is not."""
    data = task("2026-03-06", "2026-03-05T09:00")
    assert not task_lateness("in_progress", data, local("2026-03-06T16:00"), CAL).late
    assert task_lateness("returned", data, local("2026-03-06T17:01"), CAL).working_days == 1
    assert task_lateness("in_progress", data, date(2026, 3, 11), CAL).working_days == 3
    assert not task_lateness("product_submitted", data, date(2026, 3, 11), CAL).late
    assert not task_lateness("cancelled", data, date(2026, 3, 11), CAL).late
