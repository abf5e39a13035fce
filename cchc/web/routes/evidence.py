"""The unit official's work: act on a task, upload evidence, see what was sent back and why.

- On a task's page (``/tasks/{id}``, ``cchc.web.routes.tasks``): a form per trigger the task's
  workflow definition lets the viewer fire from its present state (``Engine.available_triggers``;
  the fields a trigger requires, e.g. the product), fired as ``cchc tasks fire`` fires them;
  the task's evidence and a form uploading several files at once (``cchc evidence submit``:
  ``cchc.evidence.service.submit_evidence``).
- ``/criteria``: the sub-criteria the viewer's unit owns in a plan (``coverage``, as
  ``cchc evidence coverage``), each linking to ``/criteria/{code}``: its evidence and the upload.
- ``/evidence/{id}``: one file, its versions and reviews, the upload of a replacement
  (``replaces=``); ``/evidence/{id}/file``: the file as a download.
- ``/sent-back``: what was sent back (``cchc.sent_back``), with the reason, who and when.

Uploads are spooled to disk by Starlette and streamed into the store in chunks; a body whose
``Content-Length`` is far above what ``MAX_FILES`` files at the store's limit could make is
refused before it is read. Every refusal is the engine's (audited) or the store's, worded in
Vietnamese; an item of another unit or ward answers 404 with an audited refusal.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import Depends, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from cchc.commands.cycle_common import instances, plan_codes, state_labels
from cchc.evidence.service import (
    KIND,
    SUPERSEDED,
    EvidenceTarget,
    coverage,
    find_target,
    may_submit_for,
    submit_evidence,
)
from cchc.evidence.store import EvidenceRejected, MiB
from cchc.organization.access import read_scope
from cchc.refusals import FIELD_LABELS, refusal_sentence
from cchc.sent_back import last_decisions, sent_back
from cchc.waiting import task_lines
from cchc.web.deps import (
    UNSAFE_METHODS,
    NotFoundError,
    Viewer,
    area_router,
    page,
    readable_or_not_found,
    signed_in,
)
from cchc.web.deps import workspace as workspace_of
from cchc.web.format import vn_datetime, vn_number
from cchc.workspace import Workspace
from workflows.database import unit_of_work
from workflows.errors import ConflictError, TransitionRefusedError
from workflows.registry import Actor, FireContext
from workflows.schema import Instance

MAX_FILES = 10
"""Files one upload form may carry."""
BODY_MARGIN = 1 * MiB
"""Room for the form's other fields and the multipart headers."""


def body_limit(ws: Workspace) -> int:
    """The largest upload body read: ``MAX_FILES`` files at the store's limit, and the margin."""
    return MAX_FILES * ws.store.max_bytes + BODY_MARGIN


def size_text(size: int) -> str:
    """``20 MB``, ``1,5 MB``, ``312 KB``: a file size for officials (decimal comma)."""
    if size >= MiB:
        value = size / MiB
        return f"{vn_number(value, 0 if value == int(value) else 1)} MB"
    if size >= 1024:
        return f"{vn_number(size / 1024, 0)} KB"
    return f"{size} byte"


def target_text(kind: object, code: object) -> str:
    """``Tiêu chí thành phần 6.1.1`` / ``Nhiệm vụ NV-06``: what a piece of evidence is for."""
    return f"{'Nhiệm vụ' if kind == 'task' else 'Tiêu chí thành phần'} {code}"


async def upload_within_limit(request: Request) -> None:
    """Refuse a multipart body before reading it: 411 without ``Content-Length``, 413 when it
    is larger than ``body_limit`` (the page says the limit)."""
    if request.method not in UNSAFE_METHODS:
        return
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return
    length = request.headers.get("content-length", "")
    if not length.isdigit():
        raise HTTPException(411, "Yêu cầu tải tệp lên phải cho biết dung lượng (Content-Length).")
    ws = workspace_of(request)
    if int(length) > body_limit(ws):
        raise HTTPException(
            413,
            f"Các tệp gửi lên quá lớn ({size_text(int(length))}): mỗi lần gửi tối đa "
            f"{MAX_FILES} tệp, mỗi tệp tối đa {size_text(ws.store.max_bytes)}. "
            "Không có tệp nào được lưu.",
        )


router = area_router(before_body=[Depends(upload_within_limit)])


# --- what the pages show ------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """A trigger the viewer may fire on an item now, with the fields it requires."""

    trigger: str
    label: str
    fields: tuple[tuple[str, str], ...]
    """(payload field, Vietnamese label)."""


@dataclass(frozen=True)
class FileResult:
    """One uploaded file: stored (with its evidence) or refused (with why)."""

    name: str
    evidence_id: int | None = None
    version: int | None = None
    state_label: str = ""
    sha256: str = ""
    already_present: bool = False
    refusal: str = ""


def actions_for(ws: Workspace, actor: Actor, row: Instance) -> list[Action]:
    """The triggers ``actor`` may fire on the task ``row`` now: the roles and state the
    definition names (``Engine.available_triggers``) and its guards run on the task as it is
    (a task's guards read the task, not the form: ``own_unit``); each with its required
    fields. The engine checks everything again when the form is sent."""
    with ws.sessions() as session:
        triggers = ws.engine.available_triggers(session, row.id, actor)
        definition = ws.engine.machine_for(session, row.definition_hash).definition
    shown = []
    for trigger in dict.fromkeys(triggers):
        transition = definition.transition(trigger, row.state)
        if transition is None:
            continue
        context = FireContext(
            instance_id=row.id,
            kind=row.kind,
            tenant=row.tenant,
            ref=row.ref,
            trigger=trigger,
            source=row.state,
            dest=transition.dest,
            actor=actor,
            role=next(iter(sorted(actor.roles & set(transition.roles))), ""),
            payload={},
            data=json.loads(row.data),
            created_by=row.created_by,
            now=ws.engine.clock(),
        )
        guards = ws.engine.registry.guards
        if any(guards[name](context) is not None for name in transition.guards):
            continue
        fields = tuple((f, FIELD_LABELS.get(f, f)) for f in transition.requires)
        shown.append(Action(trigger, transition.label or trigger, fields))
    return shown


def evidence_lines(ws: Workspace, plan: str, target: str) -> list[dict[str, Any]]:
    """The evidence of ``target`` in ``plan``, newest first, superseded versions included."""
    labels = state_labels(ws, KIND)
    rows = [r for r in instances(ws, KIND, plan) if json.loads(r.data).get("target") == target]
    return [evidence_line(ws, row, labels) for row in reversed(rows)]


def evidence_line(ws: Workspace, row: Instance, labels: dict[str, str]) -> dict[str, Any]:
    """One evidence instance as the pages show it."""
    data = json.loads(row.data)
    reviews = [
        {
            "label": _trigger_label(ws, review.get("trigger")),
            "by": ws.person_name(review.get("by")),
            "at": _when(review.get("at")),
            "reason": review.get("reason") or "",
        }
        for review in data.get("reviews", [])
    ]
    return {
        "id": row.id,
        "name": data.get("original_name", ""),
        "version": data.get("version", 1),
        "state": row.state,
        "state_label": labels.get(row.state, row.state),
        "sha256": data.get("sha256", ""),
        "size": size_text(int(data.get("size") or 0)),
        "by": ws.person_name(row.created_by),
        "at": row.created_at,
        "supersedes": data.get("supersedes"),
        "reviews": reviews,
        "last_review": reviews[-1] if reviews else None,
        "sent_back": row.state in ("changes_requested", "rejected"),
        "current": row.state != SUPERSEDED,
        "plan": data.get("plan"),
        "target": data.get("target"),
        "target_kind": data.get("target_kind"),
        "target_code": data.get("target_code"),
        "target_text": target_text(data.get("target_kind"), data.get("target_code")),
        "owner_unit": data.get("owner_unit"),
    }


def _trigger_label(ws: Workspace, trigger: object) -> str:
    for transition in ws.engine.current(KIND).definition.transitions:
        if transition.trigger == trigger:
            return transition.label or str(trigger)
    return str(trigger or "")


def _when(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def may_upload(ws: Workspace, actor: Actor, target: EvidenceTarget) -> bool:
    """Whether to offer the upload form: the actor's role may create evidence and the service
    would let them submit for the target (their unit, or the focal unit for any)."""
    create_roles = set(ws.engine.current(KIND).definition.create_roles)
    return bool(actor.roles & create_roles) and may_submit_for(actor, target)


def upload_form(ws: Workspace, actor: Actor, plan: str, target: str) -> dict[str, Any]:
    """What the upload form needs: whether to show it, the limits, the accepted types."""
    with ws.sessions() as session:
        found = find_target(session, ws.tenant, plan, target)
    extensions = sorted(ws.store.allowed)
    return {
        "show": may_upload(ws, actor, found),
        "plan": plan,
        "target": target,
        "max_files": MAX_FILES,
        "max_size": size_text(ws.store.max_bytes),
        "accept": ",".join(f".{ext}" for ext in extensions),
        "types": ", ".join(extensions),
    }


# --- the task page ------------------------------------------------------------------------------


def task_row(ws: Workspace, viewer: Viewer, task_id: int) -> tuple[Instance, dict[str, Any]]:
    """The task, when the viewer may read it (else 404, the refusal audited)."""
    with ws.sessions() as session:
        row = session.get(Instance, task_id)
    if row is None or row.kind != "task":
        raise NotFoundError
    data = json.loads(row.data)
    readable_or_not_found(
        ws, viewer, what=f"task #{row.id}", tenant=row.tenant, unit=data.get("owner_unit")
    )
    return row, data


def task_panel(
    ws: Workspace, viewer: Viewer, row: Instance, data: dict[str, Any]
) -> dict[str, Any]:
    """The task page's actions, evidence and upload form (``evidence_task_panel.html``)."""
    plan, target = str(data.get("plan", "")), f"task:{data.get('code', '')}"
    decisions = last_decisions(ws, [row.id])
    decision = decisions.get(row.id)
    returned = None
    if row.state == "returned" and decision is not None:
        returned = {
            "by": ws.person_name(decision.by),
            "at": decision.at,
            "reason": decision.reason or data.get("last_reason", ""),
        }
    return {
        "task_id": row.id,
        "state": row.state,
        "actions": actions_for(ws, viewer.actor, row),
        "evidence": evidence_lines(ws, plan, target),
        "form": upload_form(ws, viewer.actor, plan, target),
        "returned": returned,
        "labels": {t.trigger: t.label for t in ws.engine.current("task").definition.transitions},
    }


def _task_page(
    request: Request,
    viewer: Viewer,
    task_id: int,
    *,
    status_code: int = 200,
    **extra: object,
) -> Response:
    ws = workspace_of(request)
    row, data = task_row(ws, viewer, task_id)
    line = next(t for t in task_lines(ws, None, ws.engine.clock()) if t.id == row.id)
    return page(
        request,
        "task.html",
        status_code=status_code,
        task=line,
        data=data,
        panel=task_panel(ws, viewer, row, data),
        **extra,
    )


@router.post("/tasks/{task_id}/fire")
def fire_task(
    request: Request,
    task_id: int,
    trigger: str = Form(""),
    seen_state: str = Form(""),
    product: str = Form(""),
    reason: str = Form(""),
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Fire ``trigger`` on the task as the viewer (as ``cchc tasks fire``); a refusal is shown
    in Vietnamese (the engine audited it), with who changed the task first when it moved."""
    ws = workspace_of(request)
    row, _ = task_row(ws, viewer, task_id)
    payload = {k: v.strip() for k, v in (("product", product), ("reason", reason)) if v.strip()}
    try:
        with unit_of_work(ws.sessions) as session:
            ws.engine.fire(session, row.id, trigger, actor=viewer.actor, payload=payload)
    except (TransitionRefusedError, ConflictError) as exc:
        message = (
            refusal_sentence(exc, ws.role_labels())
            if isinstance(exc, TransitionRefusedError)
            else "Nhiệm vụ vừa được người khác thay đổi; không có gì được ghi."
        )
        first = _changed_since(ws, row.id, seen_state)
        return _task_page(
            request,
            viewer,
            task_id,
            status_code=409 if first else 403,
            refusal=message,
            changed_first=first,
            product=product,
            reason=reason,
        )
    return RedirectResponse(f"/tasks/{task_id}?done={quote(trigger)}", status_code=303)


def _changed_since(ws: Workspace, instance_id: int, seen_state: str) -> str:
    """When the item left the state the form was shown in: who moved it, how and when."""
    with ws.sessions() as session:
        row = session.get(Instance, instance_id)
    if row is None or not seen_state or row.state == seen_state:
        return ""
    decision = last_decisions(ws, [instance_id]).get(instance_id)
    if decision is None:
        return ""
    definition = ws.engine.current(row.kind).definition
    label = next(
        (t.label for t in definition.transitions if t.trigger == decision.trigger),
        decision.trigger,
    )
    return (
        f"{ws.person_name(decision.by)} đã “{label}” lúc {vn_datetime(decision.at)}, "
        "trước thao tác của Ông/Bà."
    )


# --- uploading ----------------------------------------------------------------------------------


def store_files(
    ws: Workspace,
    actor: Actor,
    plan: str,
    target: str,
    uploads: list[UploadFile],
    replaces: int | None = None,
    seen_state: str = "",
) -> list[FileResult]:
    """Submit each file as evidence (``submit_evidence``), each in its own transaction; the
    store's refusals and the engine's (audited) come back worded in Vietnamese."""
    labels = state_labels(ws, KIND)
    results: list[FileResult] = []
    for upload in uploads:
        name = upload.filename or ""
        try:
            with unit_of_work(ws.sessions) as session:
                sub = submit_evidence(
                    session,
                    ws.engine,
                    ws.store,
                    actor,
                    plan_code=plan,
                    target=target,
                    source=upload.file,
                    original_name=name,
                    replaces=replaces,
                )
        except EvidenceRejected as exc:
            results.append(FileResult(exc.original_name or name, refusal=exc.vietnamese))
            continue
        except TransitionRefusedError as exc:  # not this unit's: the same for every file
            refusal = refusal_sentence(exc, ws.role_labels())
            results.extend(FileResult(u.filename or "", refusal=refusal) for u in uploads)
            return results
        except (LookupError, ValueError):  # ``replaces`` superseded meanwhile, or not this item
            first = _changed_since(ws, replaces, seen_state) if replaces is not None else ""
            results.append(
                FileResult(
                    name,
                    refusal="Không thể thay thế: tài liệu này đã có phiên bản mới hơn hoặc "
                    f"không thuộc mục này. {first} Đề nghị tải lại trang.".replace("  ", " "),
                )
            )
            continue
        results.append(
            FileResult(
                sub.original_name,
                evidence_id=sub.instance_id,
                version=sub.version,
                state_label=labels.get(sub.state, sub.state),
                sha256=sub.sha256,
                already_present=sub.already_present,
            )
        )
    return results


async def _uploads(request: Request) -> tuple[list[UploadFile], str]:
    """The files the form carries (empty inputs left out), or why none is taken."""
    form = await request.form()
    uploads = [
        f for f in form.getlist("files") if isinstance(f, UploadFile) and (f.filename or f.size)
    ]
    if not uploads:
        return [], "Chưa chọn tệp nào để tải lên."
    if len(uploads) > MAX_FILES:
        return [], f"Mỗi lần tải lên tối đa {MAX_FILES} tệp; không có tệp nào được lưu."
    return uploads, ""


def _status(results: list[FileResult]) -> int:
    return 200 if results and all(not r.refusal for r in results) else 400


@router.post("/tasks/{task_id}/evidence")
async def upload_for_task(
    request: Request, task_id: int, viewer: Viewer = Depends(signed_in)
) -> Response:
    """Upload one or several files as evidence of the task."""
    ws = workspace_of(request)
    row, data = await run_in_threadpool(task_row, ws, viewer, task_id)
    uploads, problem = await _uploads(request)
    results: list[FileResult] = []
    if uploads:
        target = f"task:{data.get('code', '')}"
        results = await run_in_threadpool(
            store_files, ws, viewer.actor, str(data.get("plan", "")), target, uploads
        )
    return await run_in_threadpool(
        lambda: _task_page(
            request,
            viewer,
            row.id,
            status_code=400 if problem else _status(results),
            results=results,
            upload_problem=problem,
        )
    )


# --- sub-criteria -------------------------------------------------------------------------------


def _plan_or_latest(ws: Workspace, plan: str | None) -> str:
    plans = plan_codes(ws)
    if plan:
        if plan not in plans:
            raise NotFoundError
        return plan
    if not plans:
        raise NotFoundError
    return plans[-1]


@router.get("/criteria")
def criteria_page(
    request: Request,
    plan: str | None = None,
    unit: str | None = None,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """The sub-criteria the viewer's unit owns in the plan (the ward's readers: any unit, or
    all), each with its evidence by state and whether accepted evidence covers it."""
    ws = workspace_of(request)
    plan = _plan_or_latest(ws, plan)
    scope = read_scope(viewer.actor)
    unit = unit or None
    if unit is None and scope.units is not None:
        unit = next(iter(sorted(scope.units)), None)
    if unit is not None and unit not in ws.unit_names():
        raise NotFoundError
    readable_or_not_found(ws, viewer, what="evidence", tenant=ws.tenant, unit=unit)
    with ws.sessions() as session:
        lines = [
            line
            for line in coverage(session, ws.tenant, plan)
            if unit is None or line.owner_unit == unit
        ]
    return page(
        request,
        "evidence_criteria.html",
        lines=lines,
        plan=plan,
        plans=plan_codes(ws),
        unit=unit,
        unit_name=ws.unit_names().get(unit or "", "toàn phường"),
        units=ws.unit_names() if scope.units is None else {},
        labels=state_labels(ws, KIND),
    )


def criterion_context(ws: Workspace, viewer: Viewer, code: str, plan: str | None) -> dict[str, Any]:
    """A sub-criterion of the plan the viewer may read (else 404, audited): its assessment,
    evidence and upload form."""
    plan = _plan_or_latest(ws, plan)
    target = f"criterion:{code}"
    try:
        with ws.sessions() as session:
            found = find_target(session, ws.tenant, plan, target)
            row = session.get(Instance, found.instance_id)
    except (LookupError, ValueError):
        raise NotFoundError from None
    if row is None:
        raise NotFoundError
    readable_or_not_found(
        ws, viewer, what=f"sub-criterion {code}", tenant=ws.tenant, unit=found.owner_unit
    )
    data = json.loads(row.data)
    decision = last_decisions(ws, [row.id]).get(row.id)
    return {
        "code": code,
        "plan": plan,
        "assessment": data,
        "assessment_state": state_labels(ws, "assessment").get(row.state, row.state),
        "returned": (
            {"by": ws.person_name(decision.by), "at": decision.at, "reason": decision.reason}
            if row.state == "returned" and decision is not None
            else None
        ),
        "unit_name": ws.unit_names().get(found.owner_unit or "", found.owner_unit or ""),
        "evidence": evidence_lines(ws, plan, target),
        "form": upload_form(ws, viewer.actor, plan, target),
    }


@router.get("/criteria/{code}")
def criterion_page(
    request: Request, code: str, plan: str | None = None, viewer: Viewer = Depends(signed_in)
) -> Response:
    """One sub-criterion of the viewer's unit: its evidence and the upload form."""
    ws = workspace_of(request)
    return page(request, "evidence_criterion.html", **criterion_context(ws, viewer, code, plan))


@router.post("/criteria/{code}/evidence")
async def upload_for_criterion(
    request: Request, code: str, viewer: Viewer = Depends(signed_in)
) -> Response:
    """Upload one or several files as evidence of the sub-criterion (``plan`` in the form)."""
    ws = workspace_of(request)
    form = await request.form()
    asked = str(form.get("plan") or "") or None
    checked = await run_in_threadpool(criterion_context, ws, viewer, code, asked)  # else 404
    plan = str(checked["plan"])
    uploads, problem = await _uploads(request)
    results: list[FileResult] = []
    if uploads:
        results = await run_in_threadpool(
            store_files, ws, viewer.actor, plan, f"criterion:{code}", uploads
        )
    context = await run_in_threadpool(criterion_context, ws, viewer, code, plan)
    return await run_in_threadpool(
        lambda: page(
            request,
            "evidence_criterion.html",
            status_code=400 if problem else _status(results),
            results=results,
            upload_problem=problem,
            **context,
        )
    )


# --- one piece of evidence ----------------------------------------------------------------------


def evidence_row(ws: Workspace, viewer: Viewer, evidence_id: int) -> Instance:
    """The evidence, when the viewer may read it (else 404, the refusal audited)."""
    with ws.sessions() as session:
        row = session.get(Instance, evidence_id)
    if row is None or row.kind != KIND:
        raise NotFoundError
    data = json.loads(row.data)
    readable_or_not_found(
        ws, viewer, what=f"evidence #{row.id}", tenant=row.tenant, unit=data.get("owner_unit")
    )
    return row


def evidence_context(ws: Workspace, viewer: Viewer, evidence_id: int) -> dict[str, Any]:
    """One piece of evidence: its file, state and reviews, its versions, the target's page and
    the replacement form."""
    row = evidence_row(ws, viewer, evidence_id)
    labels = state_labels(ws, KIND)
    item = evidence_line(ws, row, labels)
    versions = evidence_lines(ws, str(item["plan"]), str(item["target"]))
    with ws.sessions() as session:
        target = find_target(session, ws.tenant, str(item["plan"]), str(item["target"]))
    if target.kind == "task":
        back = f"/tasks/{target.instance_id}"
    else:
        back = f"/criteria/{quote(target.code)}?plan={quote(str(item['plan']))}"
    form = upload_form(ws, viewer.actor, str(item["plan"]), str(item["target"]))
    form["show"] = form["show"] and item["current"]
    return {"item": item, "versions": versions, "back": back, "form": form}


@router.get("/evidence/{evidence_id}")
def evidence_page(
    request: Request, evidence_id: int, viewer: Viewer = Depends(signed_in)
) -> Response:
    """The uploader's view of one piece of evidence."""
    ws = workspace_of(request)
    return page(request, "evidence_item.html", **evidence_context(ws, viewer, evidence_id))


@router.post("/evidence/{evidence_id}/replace")
async def replace_evidence(
    request: Request, evidence_id: int, viewer: Viewer = Depends(signed_in)
) -> Response:
    """Upload a new version replacing this one (``replaces=``): one file."""
    ws = workspace_of(request)
    context = await run_in_threadpool(evidence_context, ws, viewer, evidence_id)
    uploads, problem = await _uploads(request)
    if len(uploads) > 1:
        uploads, problem = [], "Thay thế bằng đúng một tệp; không có tệp nào được lưu."
    results: list[FileResult] = []
    item = context["item"]
    if uploads:
        results = await run_in_threadpool(
            store_files,
            ws,
            viewer.actor,
            str(item["plan"]),
            str(item["target"]),
            uploads,
            evidence_id,
            str((await request.form()).get("seen_state") or ""),
        )
    if results and not results[0].refusal and results[0].evidence_id is not None:
        context = await run_in_threadpool(evidence_context, ws, viewer, results[0].evidence_id)
    return await run_in_threadpool(
        lambda: page(
            request,
            "evidence_item.html",
            status_code=400 if problem else _status(results),
            results=results,
            upload_problem=problem,
            **context,
        )
    )


def attachment_header(name: str) -> str:
    """``attachment`` with an ASCII fallback name and the UTF-8 name (RFC 6266 / 5987)."""
    fallback = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "tai-lieu"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


@router.get("/evidence/{evidence_id}/file")
def evidence_file(
    request: Request, evidence_id: int, viewer: Viewer = Depends(signed_in)
) -> Response:
    """The stored file, as a download (never shown inline; the type is not sniffed)."""
    ws = workspace_of(request)
    row = evidence_row(ws, viewer, evidence_id)
    data = json.loads(row.data)
    path = ws.store.path_of(str(data.get("sha256", "")))
    if not path.is_file():
        raise NotFoundError
    return FileResponse(
        path,
        media_type=str(data.get("media_type") or "application/octet-stream"),
        headers={
            "Content-Disposition": attachment_header(str(data.get("original_name", ""))),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


# --- sent back ----------------------------------------------------------------------------------


@router.get("/sent-back")
def sent_back_page(request: Request, viewer: Viewer = Depends(signed_in)) -> Response:
    """Tasks returned, evidence sent back, self-scores returned: the reason, who and when, and
    where to answer (the task, the file's replacement, the sub-criterion)."""
    ws = workspace_of(request)
    labels = {kind: state_labels(ws, kind) for kind in ("task", "evidence", "assessment")}
    items = []
    for item in sent_back(ws, viewer.actor):
        data = item.data
        if item.kind == "task":
            link, what = f"/tasks/{item.id}", f"{data.get('code', '')} {data.get('title', '')}"
        elif item.kind == "evidence":
            link, what = f"/evidence/{item.id}", str(data.get("original_name", ""))
        else:
            code, plan = quote(str(data.get("code", ""))), quote(str(data.get("plan", "")))
            link = f"/criteria/{code}?plan={plan}"
            what = f"{data.get('code', '')} {data.get('title', '')}"
        decision = item.decision
        items.append(
            {
                "kind": item.kind,
                "link": link,
                "what": what.strip(),
                "state_label": labels[item.kind].get(item.state, item.state),
                "unit": ws.unit_names().get(str(data.get("owner_unit", "")), ""),
                "reason": (decision.reason if decision else "") or data.get("last_reason", ""),
                "by": ws.person_name(decision.by) if decision else "",
                "at": decision.at if decision else None,
                "counted": item.counted,
                "target": target_text(data.get("target_kind"), data.get("target_code")),
            }
        )
    return page(request, "evidence_sent_back.html", items=items)
