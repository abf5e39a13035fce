"""What waits for a person and their unit: the counts of the home page, and the unit's tasks.

One place decides it, from the same rules every view uses: the read scope of
``cchc.organization.access`` (a unit's people see their unit, the leadership and the focal unit
the whole ward), lateness from ``cchc.plan.lateness``, task lines from ``cchc tasks list``
(``task_json``). The web pages only show what these functions return.

The counts, each shown only to the roles it concerns: the roles the workflow definitions let
fire the triggers that answer the waiting items (``roles_of``), and for follow-ups the roles
with the ``follows_up_notices`` capability:

- ``tasks_due`` / ``tasks_overdue``: open tasks of the scope, not late / late (everyone with a
  read scope);
- ``sent_back``: tasks whose product was returned, evidence with changes requested and
  self-scores returned, of the scope (the unit's people and the focal unit);
- ``reviews``: evidence submitted and products submitted, waiting for the focal unit's decision;
- ``approvals``: self-scores waiting for the unit head's approval; approved assessments
  waiting for the Chairman's lock;
- ``follow_ups``: open follow-up tasks of the review meetings' notices (the Office, and each
  unit for its own).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, String, cast, func, select
from sqlalchemy.dialects.postgresql import JSONB

from cchc.organization.access import ReadScope, read_scope
from cchc.organization.capabilities import roles_with
from cchc.plan.lateness import Lateness, due_day, task_lateness
from cchc.vietnam import LOCAL_TZ
from cchc.workspace import Workspace
from workflows.calendar import WorkingCalendar
from workflows.registry import Actor
from workflows.schema import Instance

OPEN_TASK_STATES = frozenset({"assigned", "in_progress", "overdue", "returned"})

SENT_BACK_ANSWERS = (
    ("task", "submit_product"),
    ("evidence", "supersede"),
    ("assessment", "self_score"),
)
"""The triggers that answer what was sent back: a new product, new evidence, a new score."""
REVIEWS = (("evidence", "accept"), ("task", "accept_product"))
APPROVE_SCORE = (("assessment", "approve"),)
LOCK_SCORE = (("assessment", "lock"),)


def roles_of(ws: Workspace, triggers: Iterable[tuple[str, str]]) -> frozenset[str]:
    """The roles the workflow definitions in force let fire any of ``(kind, trigger)``."""
    roles: set[str] = set()
    for kind, trigger in triggers:
        for transition in ws.engine.definitions.get(kind).transitions:
            if transition.trigger == trigger:
                roles.update(transition.roles)
    return frozenset(roles)


@dataclass(frozen=True)
class Waiting:
    """One count of the home page."""

    key: str
    label: str
    count: int


LABELS = {
    "tasks_due": "Nhiệm vụ đang thực hiện, còn hạn",
    "tasks_overdue": "Nhiệm vụ quá hạn",
    "sent_back": "Bị trả lại, cần bổ sung",
    "reviews": "Chờ thẩm định (tài liệu kiểm chứng, sản phẩm)",
    "approvals": "Chờ phê duyệt",
    "follow_ups": "Kết luận giao ban cần theo dõi",
}


def _in_scope(scope: ReadScope, data: dict[str, Any]) -> bool:
    return scope.units is None or data.get("owner_unit") in scope.units


class _Row(NamedTuple):
    """What the counts read of an instance row besides its data."""

    kind: str
    state: str


COUNTED_FIELDS = ("owner_unit", "source", "deadline", "product_submitted_at")
"""What the counts read of an instance's data: its unit (the read scope), a task's origin
(follow-ups) and what its lateness needs (``cchc.plan.lateness.task_lateness``)."""


def _data_field(dialect: str, key: str) -> ColumnElement[str | None]:
    """The text of ``key`` of the instance's JSON data, read by the database (NULL when
    absent), so that the page does not parse every instance's data in Python."""
    if dialect == "postgresql":
        text: ColumnElement[str | None] = cast(Instance.data, JSONB)[key].astext
        return text
    return func.json_extract(Instance.data, f"$.{key}", type_=String)


def _rows(ws: Workspace, kinds: Iterable[str]) -> list[tuple[_Row, dict[str, Any]]]:
    """The instances of ``kinds`` of the ward: kind and state, and the fields of their data
    the counts read (:data:`COUNTED_FIELDS`, those present). Columns only, not ORM objects,
    and not the whole data: the home page reads every task, evidence and assessment on each
    visit."""
    dialect = ws.db.dialect.name
    fields = [_data_field(dialect, key) for key in COUNTED_FIELDS]
    with ws.sessions() as session:
        rows = session.execute(
            select(Instance.kind, Instance.state, *fields).where(
                Instance.tenant == ws.tenant, Instance.kind.in_(list(kinds))
            )
        ).all()
    return [
        (
            _Row(kind, state),
            {k: v for k, v in zip(COUNTED_FIELDS, values, strict=True) if v is not None},
        )
        for kind, state, *values in rows
    ]


def _current_evidence(rows: list[tuple[_Row, dict[str, Any]]]) -> list[tuple[str, Any]]:
    """Evidence that is not superseded: (state, data)."""
    return [(r.state, d) for r, d in rows if r.kind == "evidence" and r.state != "superseded"]


def waiting_for(ws: Workspace, actor: Actor, now: datetime) -> list[Waiting]:
    """The counts that concern ``actor`` (see the module), in the home page's order."""
    scope = read_scope(actor)
    if scope.units is not None and not scope.units:
        return []
    roles = actor.roles
    calendar = ws.calendar
    rows = [(r, d) for r, d in _rows(ws, ("task", "evidence", "assessment")) if _in_scope(scope, d)]
    tasks = [(r, d) for r, d in rows if r.kind == "task"]
    open_tasks = [(r, d) for r, d in tasks if r.state in OPEN_TASK_STATES]
    late = sum(1 for r, d in open_tasks if task_lateness(r.state, d, now, calendar).late)
    counts = {"tasks_due": len(open_tasks) - late, "tasks_overdue": late}
    evidence = _current_evidence(rows)
    assessments = [r.state for r, _ in rows if r.kind == "assessment"]
    if roles & roles_of(ws, SENT_BACK_ANSWERS):
        counts["sent_back"] = (
            sum(1 for r, _ in tasks if r.state == "returned")
            + sum(1 for state, _ in evidence if state == "changes_requested")
            + assessments.count("returned")
        )
    if roles & roles_of(ws, REVIEWS):
        counts["reviews"] = sum(1 for state, _ in evidence if state == "submitted") + sum(
            1 for r, _ in tasks if r.state == "product_submitted"
        )
    approves, locks = roles & roles_of(ws, APPROVE_SCORE), roles & roles_of(ws, LOCK_SCORE)
    if approves or locks:
        counts["approvals"] = (assessments.count("self_scored") if approves else 0) + (
            assessments.count("approved") if locks else 0
        )
    if roles & roles_with("follows_up_notices"):
        counts["follow_ups"] = sum(1 for _, d in open_tasks if d.get("source") == "notice")
    return [Waiting(key, LABELS[key], counts[key]) for key in LABELS if key in counts]


@dataclass(frozen=True)
class TaskLine:
    """A task as the unit's task page shows it."""

    id: int
    ref: str
    title: str
    owner_unit_name: str
    deadline_text: str
    state: str
    state_label: str
    late: bool
    working_days_left: int | None
    """Working days from today to the due day (0: due today); None when closed; negative:
    the working days late."""
    status_text: str
    product: str | None
    follow_up: bool
    """A follow-up task of a review meeting's notice."""


def working_days_left(
    state: str,
    data: dict[str, Any],
    now: datetime,
    calendar: WorkingCalendar,
    lateness: Lateness | None = None,
) -> int | None:
    """Working days from today to the task's due day, minus the working days late when late;
    None for a task no longer open (or without a deadline). ``lateness``: the task's at
    ``now``, when the caller has already worked it out."""
    if state not in OPEN_TASK_STATES or not data.get("deadline"):
        return None
    if lateness is None:
        lateness = task_lateness(state, data, now, calendar)
    if lateness.late:
        return -lateness.working_days
    today: date = now.astimezone(LOCAL_TZ).date()
    return calendar.working_days_between(
        today, due_day(calendar, date.fromisoformat(str(data["deadline"])))
    )


def task_lines(
    ws: Workspace, unit: str | None, now: datetime, state: str | None = None
) -> list[TaskLine]:
    """The tasks of ``unit`` (None: the whole ward; ``state``: only those in it), as
    ``cchc tasks list`` shows them, with the working days left; open tasks first, the most
    urgent first. Each task's data is parsed, and its lateness worked out, once."""
    from cchc.commands.cycle_common import instances, state_labels
    from cchc.commands.tasks_cmd import task_json

    labels = state_labels(ws, "task")
    calendar = ws.calendar
    lines = []
    for row in instances(ws, "task"):
        if state is not None and row.state != state:
            continue
        data = json.loads(row.data)
        if unit is not None and data.get("owner_unit") != unit:
            continue
        task = task_json(row, labels, now, calendar, data)
        lateness = Lateness(late=bool(task["late"]), working_days=task["working_days_late"])
        left = working_days_left(row.state, data, now, calendar, lateness)
        if task["late"] and left is not None:
            status = f"Quá hạn {-left} ngày làm việc"
        elif left is not None:
            status = "Đến hạn hôm nay" if left == 0 else f"Còn {left} ngày làm việc"
        else:
            status = task["status_text"]
        lines.append(
            TaskLine(
                id=row.id,
                ref=row.ref,
                title=str(task["title"] or row.ref),
                owner_unit_name=str(task["owner_unit_name"] or task["owner_unit"] or ""),
                deadline_text=task["deadline_text"],
                state=row.state,
                state_label=task["state_label"],
                late=bool(task["late"]),
                working_days_left=left,
                status_text=status,
                product=task["product"],
                follow_up=data.get("source") == "notice",
            )
        )
    return sorted(
        lines, key=lambda t: (t.working_days_left is None, t.working_days_left or 0, t.ref)
    )
