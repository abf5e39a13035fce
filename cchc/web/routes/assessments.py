"""The self-assessments of a plan: the unit head approves or returns, the Chairman locks.

The list and the decisions are ``cchc.scoring.approvals``' (as ``cchc assessments``); the forms
offered are the triggers the engine lets the viewer fire from each item's state; a refusal is
the engine's (audited), worded by ``cchc.refusals``; a decision on an item changed since the
page was shown says who changed it and when. An item of another unit answers 404 (audited).
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from cchc.commands.audit import labels_of
from cchc.commands.cycle_common import plan_codes
from cchc.inspection.history import find_criterion, history
from cchc.organization.access import read_scope
from cchc.refusals import refusal_sentence
from cchc.scoring.approvals import (
    DECISIONS,
    AssessmentRow,
    Change,
    assessment,
    assessment_rows,
    decide,
    decisions_for,
    last_change,
    lock_approved,
    trigger_labels,
)
from cchc.waiting import APPROVE_SCORE, LOCK_SCORE, roles_of
from cchc.web.deps import NotFoundError, Viewer, area_router, page, readable_or_not_found, signed_in
from cchc.web.deps import workspace as workspace_of
from cchc.web.format import vn_datetime
from cchc.workspace import Workspace
from workflows.errors import ConflictError, TransitionRefusedError

router = area_router()

SHOWS = {"waiting": "Chờ Ông/Bà quyết định", "all": "Tất cả"}
STATUS = {"payload_invalid": 400, "not_permitted": 403}
"""HTTP status of a refusal by its reason code (any other: 409, the item's state decided)."""


def change_text(ws: Workspace, change: Change | None) -> str:
    """``Phạm Quốc Khánh (Trưởng đơn vị) – “Duyệt điểm” lúc 03/11/2025 09:00``."""
    if change is None:
        return ""
    try:
        name = ws.organization.person(change.actor).full_name
    except LookupError:
        name = change.actor
    role = ws.role_labels().get(change.role or "", "")
    action = trigger_labels(ws).get(change.trigger, change.trigger)
    if change.trigger == "create":
        action = "Tạo mới"
    who = f"{name} ({role})" if role else name
    return f"{who} – “{action}” lúc {vn_datetime(change.occurred_at)}"


def _waiting(row: AssessmentRow, decisions: list[str], roles: dict[str, frozenset[str]]) -> bool:
    """Waiting for the viewer as the home page counts it (``cchc.waiting``): self-scores to
    approve, approved scores to lock."""
    return bool(
        (row.state == "self_scored" and "approve" in decisions and roles["approve"])
        or (row.state == "approved" and "lock" in decisions and roles["lock"])
    )


def _plan(ws: Workspace, plan: str | None) -> str | None:
    plans = plan_codes(ws)
    if plan is None or plan == "":
        return plans[-1] if plans else None
    if plan not in plans:
        raise NotFoundError
    return plan


def _list_page(
    request: Request,
    viewer: Viewer,
    *,
    show: str,
    unit: str | None,
    plan: str | None,
    status_code: int = 200,
    **extra: object,
) -> Response:
    ws = workspace_of(request)
    scope = read_scope(viewer.actor)
    unit = unit or None
    if unit is None and scope.units is not None:
        unit = next(iter(sorted(scope.units)), None)
    if unit is not None and unit not in ws.unit_names():
        raise NotFoundError
    readable_or_not_found(ws, viewer, what="assessments", tenant=ws.tenant, unit=unit)
    chosen = _plan(ws, plan)
    show = show if show in SHOWS else "all"
    rows = [] if chosen is None else assessment_rows(ws, chosen, unit=unit)
    decisions = decisions_for(ws, viewer.actor, rows)
    held = {
        "approve": viewer.actor.roles & roles_of(ws, APPROVE_SCORE),
        "lock": viewer.actor.roles & roles_of(ws, LOCK_SCORE),
    }
    if show == "waiting":
        rows = [r for r in rows if _waiting(r, decisions[r.id], held)]
    lockable = (
        []
        if chosen is None or not held["lock"]
        else assessment_rows(ws, chosen, unit=unit, state="approved")
    )
    return page(
        request,
        "assessments_list.html",
        status_code=status_code,
        rows=rows,
        decisions=decisions,
        labels=trigger_labels(ws),
        states=_state_labels(ws),
        units=ws.unit_names(),
        unit=unit,
        unit_choices=ws.unit_names() if scope.units is None else {},
        plan=chosen,
        plans=plan_codes(ws),
        show=show,
        shows=SHOWS,
        lockable=len(lockable),
        **extra,
    )


def _state_labels(ws: Workspace) -> dict[str, str]:
    return {s.name: s.label for s in ws.engine.current("assessment").definition.states}


@router.get("/assessments")
def assessments_page(
    request: Request,
    show: str = "all",
    unit: str | None = None,
    plan: str | None = None,
    locked: int | None = None,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """The plan's assessments the viewer may read, with the decisions they may make."""
    return _list_page(request, viewer, show=show, unit=unit, plan=plan, locked=locked)


@router.post("/assessments/lock-approved")
def lock_all(
    request: Request,
    plan: str = Form(""),
    unit: str = Form(""),
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Lock every approved assessment of the plan (of the unit shown) in one go."""
    ws = workspace_of(request)
    chosen = _plan(ws, plan)
    if chosen is None:
        raise NotFoundError
    shown = unit or None
    if shown is not None and shown not in ws.unit_names():
        raise NotFoundError
    readable_or_not_found(ws, viewer, what="assessments", tenant=ws.tenant, unit=shown)
    try:
        codes = lock_approved(ws, chosen, viewer.actor, shown)
    except TransitionRefusedError as exc:
        return _list_page(
            request,
            viewer,
            show="all",
            unit=shown,
            plan=chosen,
            status_code=STATUS.get(exc.reason_code, 409),
            error=refusal_sentence(exc, ws.role_labels()),
        )
    except ConflictError:
        return _list_page(
            request,
            viewer,
            show="all",
            unit=shown,
            plan=chosen,
            status_code=409,
            error="Một tiêu chí vừa được người khác thay đổi; không tiêu chí nào bị khóa. "
            "Đề nghị xem lại danh sách và thử lại.",
        )
    target = f"/assessments?plan={chosen}&locked={len(codes)}"
    return RedirectResponse(target + (f"&unit={shown}" if shown else ""), status_code=303)


def _readable(request: Request, viewer: Viewer, item_id: int) -> tuple[AssessmentRow, str]:
    """The assessment and its plan when the viewer may read it; else 404 (audited)."""
    ws = workspace_of(request)
    found = assessment(ws, item_id)
    if found is None:
        raise NotFoundError
    row, tenant, plan = found
    readable_or_not_found(
        ws, viewer, what=f"assessment #{row.id}", tenant=tenant, unit=row.owner_unit
    )
    return row, plan


def _item_page(
    request: Request,
    viewer: Viewer,
    row: AssessmentRow,
    plan: str,
    *,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    ws = workspace_of(request)
    with ws.sessions() as session:
        subject = find_criterion(session, ws.tenant, plan, row.code)
        found = history(session, subject, labels_of(ws))
    return page(
        request,
        "assessments_item.html",
        status_code=status_code,
        row=row,
        plan=plan,
        decisions=decisions_for(ws, viewer.actor, [row])[row.id],
        labels=trigger_labels(ws),
        states=_state_labels(ws),
        unit_name=ws.unit_names().get(row.owner_unit, row.owner_unit),
        history=[r for r in found.rows if r.kind == "assessment"],
        others=[r for r in found.rows if r.kind != "assessment"],
        last=change_text(ws, last_change(ws, row.id)),
        **extra,
    )


@router.get("/assessments/{item_id}")
def assessment_page(
    request: Request, item_id: int, done: str | None = None, viewer: Viewer = Depends(signed_in)
) -> Response:
    """One assessment with its history (who did what, when) and the viewer's decisions."""
    row, plan = _readable(request, viewer, item_id)
    labels = trigger_labels(workspace_of(request))
    return _item_page(request, viewer, row, plan, done=labels.get(done or "", None))


@router.post("/assessments/{item_id}")
def decide_on(
    request: Request,
    item_id: int,
    trigger: str = Form(...),
    version: int = Form(...),
    reason: str = Form(""),
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Fire the decision as the viewer; a refusal shows the item again with its reason."""
    ws = workspace_of(request)
    row, plan = _readable(request, viewer, item_id)
    if trigger not in DECISIONS:
        raise NotFoundError
    payload = {"reason": reason} if trigger == "return_score" else {}
    try:
        decide(ws, viewer.actor, row.id, trigger, payload, seen_version=version)
    except TransitionRefusedError as exc:
        now = assessment(ws, row.id)
        return _item_page(
            request,
            viewer,
            now[0] if now else row,
            plan,
            status_code=STATUS.get(exc.reason_code, 409),
            error=refusal_sentence(exc, ws.role_labels()),
            decided=change_text(ws, last_change(ws, row.id)),
            reason=reason,
            failed=trigger,
        )
    except ConflictError:
        now = assessment(ws, row.id)
        return _item_page(
            request,
            viewer,
            now[0] if now else row,
            plan,
            status_code=409,
            error="Tiêu chí đã được thay đổi sau khi Ông/Bà mở trang; thao tác chưa được "
            "thực hiện. Đề nghị xem lại trạng thái hiện tại rồi quyết định.",
            decided=change_text(ws, last_change(ws, row.id)),
            reason=reason,
            failed=trigger,
        )
    return RedirectResponse(f"/assessments/{row.id}?done={trigger}", status_code=303)
