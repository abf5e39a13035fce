"""The monthly review meeting (giao ban): the report and draft notice, and issuing the notice.

"Lập báo cáo" runs ``run_review`` (the function the monthly-review flow runs; no Prefect here)
through ``cchc.review.files.compile_month``; "Ban hành thông báo" is ``issue_notice`` through
``issue_month_notice``, as ``cchc review issue-notice``. Who may do either is the meeting
definition's; the page is for those who read the whole ward. Files are looked up by plan and
month in the data folder's layout (``cchc.review.files``), never by a path from the request.
"""

from __future__ import annotations

from datetime import date

from fastapi import Depends, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from cchc.commands.cycle_common import plan_codes
from cchc.refusals import refusal_sentence
from cchc.review.files import (
    FILES,
    MONTH,
    Issued,
    Meeting,
    MeetingExistsError,
    compile_month,
    holds_any,
    issue_month_notice,
    issued_notice,
    meeting,
    meeting_roles,
    meetings,
    review_file,
)
from cchc.review.service import OutsidePlanError, resolve_month
from cchc.vietnam import LOCAL_TZ
from cchc.web.deps import NotFoundError, Viewer, area_router, page, readable_or_not_found, signed_in
from cchc.web.deps import workspace as workspace_of
from cchc.web.format import vn_datetime
from cchc.workspace import Workspace
from workflows.errors import TransitionRefusedError, WorkflowError

router = area_router()

WHAT = "review meetings"
"""What the page reads, as a refused read is audited (the whole ward's figures)."""


def _issuable_states(ws: Workspace) -> frozenset[str]:
    """States from which the notice can be issued: ``issue_notice``'s sources, and those of
    the transitions leading to them (the meeting is held first)."""
    definition = ws.engine.current("meeting").definition
    direct = {s for t in definition.transitions if t.trigger == "issue_notice" for s in t.source}
    before = {s for t in definition.transitions if t.dest in direct for s in t.source}
    return frozenset(direct | before)


def _issued_text(ws: Workspace, issued: Issued | None) -> str:
    if issued is None:
        return ""
    try:
        name = ws.organization.person(issued.actor).full_name
    except LookupError:
        name = issued.actor
    return (
        f"Thông báo số {issued.number} đã được ban hành – {name}, lúc "
        f"{vn_datetime(issued.occurred_at)}"
    )


def _choice(ws: Workspace, plan: str | None, month: str | None) -> tuple[str | None, str]:
    """The plan (the latest issued by default) and month (the previous one by default)."""
    plans = plan_codes(ws)
    chosen = plan or (plans[-1] if plans else None)
    if chosen is not None and chosen not in plans:
        raise NotFoundError
    today: date = ws.engine.clock().astimezone(LOCAL_TZ).date()
    shown = month or resolve_month("previous", today)
    if not MONTH.fullmatch(shown):
        raise NotFoundError
    return chosen, shown


def _page(
    request: Request,
    viewer: Viewer,
    *,
    plan: str | None,
    month: str | None,
    status_code: int = 200,
    **extra: object,
) -> Response:
    ws = workspace_of(request)
    readable_or_not_found(ws, viewer, what=WHAT, tenant=ws.tenant, unit=None)
    chosen, shown = _choice(ws, plan, month)
    found: Meeting | None = None if chosen is None else meeting(ws, chosen, shown)
    issued = None if found is None else issued_notice(ws, found)
    files = (
        []
        if found is None
        else [(kind, spec) for kind, spec in FILES.items() if review_file(ws, shown, kind)]
    )
    states = {s.name: s.label for s in ws.engine.current("meeting").definition.states}
    return page(
        request,
        "reviews.html",
        status_code=status_code,
        plan=chosen,
        plans=plan_codes(ws),
        month=shown,
        meeting=found,
        state_label="" if found is None else states.get(found.state, found.state),
        issued=_issued_text(ws, issued),
        files=files,
        has_chart=any(kind == "chart.png" for kind, _ in files),
        units=ws.unit_names(),
        can_compile=found is None and holds_any(viewer.actor, meeting_roles(ws)),
        can_issue=found is not None
        and issued is None
        and found.state in _issuable_states(ws)
        and holds_any(viewer.actor, meeting_roles(ws, "issue_notice")),
        others=[m for m in meetings(ws) if found is None or m.id != found.id],
        **extra,
    )


@router.get("/meetings")
def reviews_page(
    request: Request,
    plan: str | None = None,
    month: str | None = None,
    done: str | None = None,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """The month's meeting: its report, draft notice, conclusions, and the forms the viewer
    may use."""
    return _page(request, viewer, plan=plan or None, month=month or None, done=done)


@router.post("/meetings")
def compile_review(
    request: Request,
    plan: str = Form(""),
    month: str = Form(""),
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """ "Lập báo cáo": compile the month's report and draft notice, open the meeting."""
    ws = workspace_of(request)
    chosen, shown = _choice(ws, plan or None, month.strip() or None)
    if chosen is None:
        raise NotFoundError
    try:
        compile_month(ws, plan=chosen, month=shown, actor_id=viewer.id)
    except TransitionRefusedError as exc:
        return _page(
            request,
            viewer,
            plan=chosen,
            month=shown,
            status_code=403 if exc.reason_code == "not_permitted" else 409,
            error=refusal_sentence(exc, ws.role_labels()),
        )
    except MeetingExistsError:
        return _page(
            request,
            viewer,
            plan=chosen,
            month=shown,
            status_code=409,
            error="Báo cáo giao ban của kỳ này đã được lập; không lập lại.",
        )
    except OutsidePlanError as exc:
        return _page(request, viewer, plan=chosen, month=shown, status_code=400, error=str(exc))
    return RedirectResponse(f"/meetings?plan={chosen}&month={shown}&done=run", status_code=303)


@router.post("/meetings/issue")
def issue(
    request: Request,
    plan: str = Form(""),
    month: str = Form(""),
    number: str = Form(""),
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """ "Ban hành thông báo": issue the notice; each conclusion becomes a follow-up task."""
    ws = workspace_of(request)
    try:
        chosen, shown = _choice(ws, plan or None, month or None)
        if chosen is None:
            raise NotFoundError
        issue_month_notice(ws, plan=chosen, month=shown, actor=viewer.actor, number=number.strip())
    except TransitionRefusedError as exc:
        if exc.reason_code == "not_permitted" and not holds_any(
            viewer.actor, meeting_roles(ws, "issue_notice")
        ):
            return page(
                request,
                "error.html",
                status_code=403,
                title="Không có quyền",
                message=f"{refusal_sentence(exc, ws.role_labels())} Lần từ chối đã được ghi "
                "vào nhật ký kiểm tra.",
            )
        return _page(
            request,
            viewer,
            plan=plan,
            month=month,
            status_code=400 if exc.reason_code == "payload_invalid" else 409,
            error=refusal_sentence(exc, ws.role_labels()),
        )
    except LookupError:
        return _page(
            request,
            viewer,
            plan=plan,
            month=month,
            status_code=409,
            error="Chưa lập báo cáo giao ban của kỳ này: hãy lập báo cáo trước.",
        )
    except WorkflowError:  # issued already, with another number
        return _page(
            request,
            viewer,
            plan=plan,
            month=month,
            status_code=409,
            error="Thông báo kết luận của kỳ này đã được ban hành trước đó; không ban hành lại.",
        )
    return RedirectResponse(f"/meetings?plan={chosen}&month={shown}&done=issue", status_code=303)


@router.get("/meetings/{plan}/{month}/files/{kind}")
def download(
    request: Request, plan: str, month: str, kind: str, viewer: Viewer = Depends(signed_in)
) -> Response:
    """A file of the month's meeting, by its kind (``report.docx`` …), as an attachment (the
    chart is shown in the page)."""
    ws = workspace_of(request)
    readable_or_not_found(ws, viewer, what=WHAT, tenant=ws.tenant, unit=None)
    if plan not in plan_codes(ws) or not MONTH.fullmatch(month):
        raise NotFoundError
    if meeting(ws, plan, month) is None:
        raise NotFoundError
    path = review_file(ws, month, kind)
    if path is None:
        raise NotFoundError
    spec = FILES[kind]
    disposition = "inline" if kind == "chart.png" else "attachment"
    return FileResponse(
        path,
        media_type=spec.media_type,
        headers={
            "Content-Disposition": f'{disposition}; filename="{path.name}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )
