"""The unit official's tasks: state, working days left, overdue marked (``cchc.waiting``).

The example of a role page: the viewer's read scope decides the unit (a unit's people see
their own; the ward's readers choose one or see all); a task of another unit or ward asked for
by id answers 404 and the refusal is audited.
"""

from __future__ import annotations

import json

from fastapi import Depends, Request
from fastapi.responses import Response

from cchc.organization.access import read_scope
from cchc.waiting import TaskLine, task_lines
from cchc.web.deps import NotFoundError, Viewer, area_router, page, readable_or_not_found, signed_in
from cchc.web.deps import workspace as workspace_of
from cchc.web.routes.evidence import task_panel
from workflows.schema import Instance

router = area_router()

SHOWS = {
    "open": "Đang thực hiện",
    "late": "Quá hạn",
    "returned": "Bị trả lại",
    "follow_up": "Theo dõi kết luận giao ban",
    "all": "Tất cả",
}


def _shown(line: TaskLine, show: str) -> bool:
    if show == "open":
        return line.working_days_left is not None
    if show == "late":
        return line.late and line.working_days_left is not None
    if show == "returned":
        return line.state == "returned"
    if show == "follow_up":
        return line.follow_up and line.working_days_left is not None
    return True


@router.get("/tasks")
def tasks_page(
    request: Request,
    show: str = "open",
    unit: str | None = None,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """The tasks of the viewer's unit (or of ``unit``, for the ward's readers)."""
    ws = workspace_of(request)
    scope = read_scope(viewer.actor)
    unit = unit or None  # the form's "Toàn phường" sends an empty unit
    if unit is None and scope.units is not None:
        unit = next(iter(sorted(scope.units)), None)
    if unit is not None and unit not in ws.unit_names():
        raise NotFoundError
    readable_or_not_found(ws, viewer, what="tasks", tenant=ws.tenant, unit=unit)
    show = show if show in SHOWS else "open"
    lines = task_lines(ws, unit, ws.engine.clock())
    shown = [line for line in lines if _shown(line, show)]
    units = ws.unit_names() if scope.units is None else {}
    return page(
        request,
        "tasks.html",
        lines=shown,
        show=show,
        shows=SHOWS,
        unit=unit,
        unit_name=ws.unit_names().get(unit or "", "toàn phường"),
        units=units,
    )


@router.get("/tasks/{task_id}")
def task_page(
    request: Request, task_id: int, done: str = "", viewer: Viewer = Depends(signed_in)
) -> Response:
    """One task; 404 (and an audited refusal) for a task the viewer may not read."""
    ws = workspace_of(request)
    with ws.sessions() as session:
        row = session.get(Instance, task_id)
    if row is None or row.kind != "task":
        raise NotFoundError
    data = json.loads(row.data)
    readable_or_not_found(
        ws, viewer, what=f"task #{row.id}", tenant=row.tenant, unit=data.get("owner_unit")
    )
    line = next(t for t in task_lines(ws, None, ws.engine.clock()) if t.id == row.id)
    panel = task_panel(ws, viewer, row, data)  # actions and evidence (routes/evidence.py)
    return page(request, "task.html", task=line, data=data, panel=panel, done=done)
