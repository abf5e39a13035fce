"""The focal unit's uploads: the plan (``cchc plan check`` / ``plan issue``) and the metrics
file (``cchc metrics check`` / ``metrics import``).

Step 1 checks the uploaded file only and writes nothing: every problem with its sheet, row
and column, or a preview. Step 2 issues (imports) exactly the file checked: the confirm form
carries its hash, and the bytes kept under that hash (``cchc.web.staging``) are read again
and checked again through the same service functions as the CLI (``cchc.cycle.read_plan``,
``issue_checked``; ``cchc.metrics.values.check_metrics``, ``record_import``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from fastapi import Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy import select

from cchc import cycle
from cchc.metrics.values import check_metrics, record_import
from cchc.plan.loader import check_plan
from cchc.plan.models import Plan
from cchc.refusals import refusal_sentence
from cchc.web import staging
from cchc.web.deps import Viewer, area_router, page, signed_in
from cchc.web.deps import workspace as workspace_of
from cchc.web.permits import refusal
from cchc.workspace import Workspace
from workflows.database import unit_of_work
from workflows.errors import DefinitionError, TransitionRefusedError
from workflows.schema import Instance

router = area_router()

PLAN_KINDS = {"xlsx", "yaml"}
METRIC_KINDS = {"xlsx", "csv"}


def _first_sheet(path: Path) -> str:
    """The first sheet's name of a workbook (metrics are read from it); empty if unreadable."""
    if path.suffix != ".xlsx":
        return ""
    try:
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True)
        try:
            return str(book.sheetnames[0]) if book.sheetnames else ""
        finally:
            book.close()
    except Exception:  # noqa: BLE001 - the checker reports the unreadable file itself
        return ""


def _refused(request: Request, message: str) -> Response:
    return page(
        request, "error.html", status_code=403, title="Thao tác bị từ chối", message=message
    )


def _check_plan(ws: Workspace, path: Path) -> tuple[Plan | None, list[Any]]:
    """``cchc plan check`` on a staged file: the plan, or the problems."""
    plan, problems = check_plan(
        path,
        known_units={u.code for u in ws.organization.units},
        known_criteria={s.code for s in ws.index_set.sub_criteria()},
        unit_aliases=ws.unit_aliases(),
    )
    return plan, problems


def _issued_by(ws: Workspace, plan_code: str) -> tuple[str, Any] | None:
    """Who issued the plan, and when (None when it was not issued)."""
    with ws.sessions() as session:
        row = session.execute(
            select(Instance.created_by, Instance.created_at).where(
                Instance.tenant == ws.tenant, Instance.kind == "plan", Instance.ref == plan_code
            )
        ).first()
    if row is None:
        return None
    return ws.person_name(row.created_by), row.created_at


# --- the plan ------------------------------------------------------------------------------


@router.get("/plans/upload")
def plan_form(request: Request, viewer: Viewer = Depends(signed_in)) -> Response:
    """The form to upload the plan workbook (or YAML) for checking."""
    return page(request, "plans_upload.html", problems=None, plan=None)


@router.post("/plans/upload")
def plan_check(
    request: Request, file: UploadFile = File(...), viewer: Viewer = Depends(signed_in)
) -> Response:
    """Check the uploaded plan, write nothing: its problems, or a preview and the issue form."""
    ws = workspace_of(request)
    refused = refusal(ws, viewer.actor, [("plan", None)], what="create plan")
    if refused is not None:  # only who may issue keeps a file here
        return _refused(request, refused)
    suffix = staging.suffix_of(file.filename)
    if suffix not in PLAN_KINDS:
        return page(
            request,
            "plans_upload.html",
            status_code=400,
            problems=None,
            plan=None,
            error="Kế hoạch phải là tệp Excel (.xlsx, theo mẫu cchc plan template) hoặc .yaml.",
        )
    kept = staging.stage(ws.settings.data_dir, file, suffix)
    plan, problems = _check_plan(ws, kept.path)
    if plan is not None and plan.tenant != ws.tenant:
        error = f"Kế hoạch của {plan.tenant}, không phải của {ws.organization.name}."
        staging.discard(kept.path)
        return page(
            request, "plans_upload.html", status_code=400, problems=None, plan=None, error=error
        )
    if plan is None:
        staging.discard(kept.path)
        rows = staging.problem_rows(problems, kept.path, first_sheet="")
        return page(
            request,
            "plans_upload.html",
            status_code=422,
            problems=rows,
            total=len(problems),
            file_name=kept.name,
            plan=None,
        )
    return page(
        request,
        "plans_upload.html",
        problems=None,
        plan=plan,
        staged=kept,
        units=ws.unit_names(),
        issued=_issued_by(ws, plan.code),
    )


@router.post("/plans/issue")
def plan_issue(
    request: Request,
    sha256: str = Form(...),
    kind: str = Form(...),
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Issue exactly the checked file (by its hash), as ``cchc plan issue`` does."""
    ws = workspace_of(request)
    path = staging.staged(ws.settings.data_dir, sha256, kind) if kind in PLAN_KINDS else None
    if path is None:
        return page(
            request,
            "error.html",
            status_code=400,
            title="Không tìm thấy tệp đã kiểm tra",
            message="Tệp kế hoạch đã kiểm tra không còn; đề nghị tải tệp lên và kiểm tra lại.",
        )
    try:
        plan: Plan | None = cycle.read_plan(ws, path)
    except DefinitionError:
        plan = None
    if plan is None or plan.tenant != ws.tenant:
        return page(
            request,
            "error.html",
            status_code=400,
            title="Tệp không hợp lệ",
            message="Tệp kế hoạch không qua được bước kiểm tra; đề nghị tải lên và kiểm tra lại.",
        )
    try:
        result = cycle.issue_checked(ws, plan, viewer.id)
    except TransitionRefusedError as exc:
        return _refused(request, refusal_sentence(exc, ws.role_labels()))
    staging.discard(path)
    return page(
        request,
        "plans_issued.html",
        plan=plan,
        result=result,
        issued=_issued_by(ws, plan.code),
    )


# --- metrics -------------------------------------------------------------------------------


def _periods(ws: Workspace) -> list[str]:
    """The periods of the ward's plans, newest first."""
    with ws.sessions() as session:
        rows = session.scalars(
            select(Instance.ref).where(Instance.tenant == ws.tenant, Instance.kind == "plan")
        ).all()
    periods = []
    for code in rows:
        period = cycle.plan_record(ws, code)["period"]["code"]
        if period not in periods:
            periods.append(period)
    return sorted(periods, reverse=True)


def _check_metrics(ws: Workspace, path: Path, period: str) -> tuple[Any, list[Any]]:
    values, problems = check_metrics(
        path, known_units=set(ws.unit_names()), known_metrics=ws.metric_names(), period=period
    )
    return values, problems


@router.get("/metrics/upload")
def metrics_form(request: Request, viewer: Viewer = Depends(signed_in)) -> Response:
    """The form to upload a metrics file (CSV or XLSX) for a period."""
    ws = workspace_of(request)
    return page(request, "metrics_upload.html", periods=_periods(ws), period=None, problems=None)


@router.post("/metrics/upload")
def metrics_check(
    request: Request,
    period: str = Form(...),
    file: UploadFile = File(...),
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Check the metrics file for the period, write nothing: every problem, or the rows."""
    ws = workspace_of(request)
    refused = refusal(ws, viewer.actor, [("metric_import", None)], what="create metric_import")
    if refused is not None:  # only who may import keeps a file here
        return _refused(request, refused)
    periods = _periods(ws)
    suffix = staging.suffix_of(file.filename)
    if suffix not in METRIC_KINDS or period not in periods:
        return page(
            request,
            "metrics_upload.html",
            status_code=400,
            periods=periods,
            period=period,
            problems=None,
            error="Số liệu phải là tệp .csv hoặc .xlsx, cho một kỳ của kế hoạch đã ban hành.",
        )
    kept = staging.stage(ws.settings.data_dir, file, suffix)
    values, problems = _check_metrics(ws, kept.path, period)
    if values is None:
        rows = staging.problem_rows(problems, kept.path, first_sheet=_first_sheet(kept.path))
        staging.discard(kept.path)
        return page(
            request,
            "metrics_upload.html",
            status_code=422,
            periods=periods,
            period=period,
            problems=rows,
            total=len(problems),
            file_name=kept.name,
        )
    return page(
        request,
        "metrics_upload.html",
        periods=periods,
        period=period,
        problems=None,
        values=values,
        staged=kept,
        units=ws.unit_names(),
    )


@router.post("/metrics/import")
def metrics_import(
    request: Request,
    sha256: str = Form(...),
    kind: str = Form(...),
    period: str = Form(...),
    name: str = Form(""),
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Import exactly the checked file for the period, as ``cchc metrics import`` does."""
    ws = workspace_of(request)
    refused = refusal(ws, viewer.actor, [("metric_import", None)], what="create metric_import")
    if refused is not None:
        return _refused(request, refused)
    path = staging.staged(ws.settings.data_dir, sha256, kind) if kind in METRIC_KINDS else None
    values = None if path is None else _check_metrics(ws, path, period)[0]
    if path is None or values is None:
        return page(
            request,
            "error.html",
            status_code=400,
            title="Không tìm thấy tệp đã kiểm tra",
            message="Tệp số liệu đã kiểm tra không còn hoặc không hợp lệ; đề nghị tải lên lại.",
        )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    file_name = Path(name).name[:200] or path.name
    try:
        with unit_of_work(ws.sessions) as session:
            result = record_import(
                session,
                ws.engine,
                viewer.actor,
                values,
                period=period,
                file_sha256=digest,
                file_name=file_name,
            )
    except TransitionRefusedError as exc:
        return _refused(request, refusal_sentence(exc, ws.role_labels()))
    staging.discard(path)
    with ws.sessions() as session:
        first = session.get(Instance, result.import_id)
    by = None if first is None else (ws.person_name(first.created_by), first.created_at)
    return page(request, "metrics_imported.html", result=result, period=period, by=by)
