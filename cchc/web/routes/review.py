"""The focal unit's review of evidence: the queue, one item and its decision, the coverage
matrix (issue 12, "focal unit").

The same path as ``cchc evidence list / review --sha256 / coverage``: the queue reads
``cchc.evidence.review_queue`` (the rows of ``evidence list``), a decision is
``review_evidence`` with the sha256 of the version the page showed, and the matrix is
``coverage`` / ``coverage_by_unit``. The engine decides (roles, separation of duties, the
hash guard) and audits; a refusal is shown in Vietnamese (``cchc.refusals``) and changes
nothing. Evidence of another unit or ward asked for by id answers 404 (audited refusal); a
reader who may not review sees the item without the decision forms.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from cchc.commands.cycle_common import plan_codes, state_labels
from cchc.evidence.review_queue import (
    INLINE_TYPES,
    WAITING,
    earlier_versions,
    evidence_row,
    last_moved,
    products_waiting,
    waiting_reviews,
)
from cchc.evidence.service import DECISIONS, KIND, coverage, coverage_by_unit, review_evidence
from cchc.organization.access import read_scope
from cchc.refusals import refusal_sentence
from cchc.web.deps import NotFoundError, Viewer, area_router, page, readable_or_not_found, signed_in
from cchc.web.deps import workspace as workspace_of
from cchc.workspace import Workspace
from workflows.database import unit_of_work
from workflows.errors import ConflictError, TransitionRefusedError
from workflows.schema import Instance

router = area_router()

DECISION_LABELS = {
    "accept": "Công nhận",
    "request_changes": "Yêu cầu bổ sung",
    "reject": "Không công nhận",
}
"""The three decisions, as ``cchc evidence review`` names them."""

REASON_NEEDED = "Đề nghị ghi rõ lý do khi yêu cầu bổ sung hoặc không công nhận tài liệu."
VIEW_CSP = "sandbox; default-src 'none'; img-src 'self'; frame-ancestors 'self'"
"""The file's own response: no script, no plugin, no form, framed only by our pages."""


def _criterion_titles(ws: Workspace) -> dict[str, str]:
    """Sub-criterion code → title, from the index set in force."""
    return {sub.code: sub.title for sub in ws.index_set.sub_criteria()}


def _target_text(line: dict[str, Any], titles: dict[str, str]) -> str:
    """``Tiêu chí 1.1.3 – title`` or ``Nhiệm vụ NV-01``."""
    kind, _, code = str(line["target"]).partition(":")
    if kind == "criterion":
        title = titles.get(code)
        return f"Tiêu chí {code} – {title}" if title else f"Tiêu chí {code}"
    return f"Nhiệm vụ {code}"


def _shown(ws: Workspace, line: dict[str, Any], titles: dict[str, str]) -> dict[str, Any]:
    """A line of ``evidence list`` with the names a page shows."""
    unit = str(line["owner_unit"] or "")
    return {
        **line,
        "unit_name": ws.unit_names().get(unit, unit),
        "target_text": _target_text(line, titles),
        "submitted_by_name": ws.person_name(str(line["submitted_by"])),
    }


def _units_read(ws: Workspace, viewer: Viewer, unit: str | None, what: str) -> str | None:
    """The unit the page shows (None: the whole ward), as ``cchc evidence list --unit``: a
    unit's reader reads their own unit; anything else is a 404 and an audited refusal."""
    unit = unit or None  # the form's "Toàn phường" sends an empty unit
    if unit is None and not read_scope(viewer.actor).whole_tenant:
        unit = viewer.actor.unit
    if unit is not None and unit not in ws.unit_names():
        raise NotFoundError
    readable_or_not_found(ws, viewer, what=what, tenant=ws.tenant, unit=unit)
    return unit


@router.get("/review")
def review_queue(
    request: Request,
    unit: str | None = None,
    criterion: str | None = None,
    plan: str | None = None,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Evidence waiting for the focal unit's decision, oldest first, filtered by unit and by
    sub-criterion (directly or through a task serving it)."""
    ws = workspace_of(request)
    unit = _units_read(ws, viewer, unit, "evidence")
    titles = _criterion_titles(ws)
    criterion = criterion or None
    if criterion is not None and criterion not in titles:
        raise NotFoundError
    plans = plan_codes(ws)
    plan = plan or None
    if plan is not None and plan not in plans:
        raise NotFoundError
    lines = waiting_reviews(ws, None if unit is None else {unit}, plan=plan, criterion=criterion)
    return page(
        request,
        "review_queue.html",
        lines=[_shown(ws, line, titles) for line in lines],
        products=products_waiting(ws, unit, ws.engine.clock()),
        unit=unit,
        units=ws.unit_names() if read_scope(viewer.actor).whole_tenant else {},
        unit_name=ws.unit_names().get(unit or "", "toàn phường"),
        criterion=criterion,
        criteria=titles,
        plan=plan,
        plans=plans if len(plans) > 1 else [],
    )


@dataclass(frozen=True)
class _Item:
    row: Instance
    line: dict[str, Any]


def _readable_evidence(ws: Workspace, viewer: Viewer, evidence_id: int) -> _Item:
    """Evidence ``evidence_id`` when the viewer may read it; else 404 (refusal audited)."""
    row = evidence_row(ws, evidence_id)
    if row is None:
        raise NotFoundError
    data = json.loads(row.data)
    readable_or_not_found(
        ws, viewer, what=f"evidence #{row.id}", tenant=row.tenant, unit=data.get("owner_unit")
    )
    from cchc.commands.evidence_cmd import evidence_json

    return _Item(row, evidence_json(row, state_labels(ws, KIND)))


def _item_page(
    request: Request,
    ws: Workspace,
    viewer: Viewer,
    item: _Item,
    *,
    status_code: int = 200,
    error: str | None = None,
    refusal: str | None = None,
    reason: str = "",
    chosen: str | None = None,
    done: str | None = None,
) -> Response:
    titles = _criterion_titles(ws)
    line = _shown(ws, item.line, titles)
    moved = last_moved(ws, item.row)
    trigger_labels = {
        t.trigger: t.label or t.trigger for t in ws.engine.definitions.get(KIND).transitions
    }
    decided = None
    if moved is not None:
        newer = moved.payload.get("superseded_by")
        decided = {
            "by": ws.person_name(moved.actor),
            "at": moved.at,
            "what": trigger_labels.get(moved.trigger, moved.trigger),
            "reason": moved.payload.get("reason"),
            "newer": newer if isinstance(newer, int) else None,
        }
    return page(
        request,
        "review_item.html",
        status_code=status_code,
        item=line,
        versions=[_shown(ws, v, titles) for v in earlier_versions(ws, item.row)],
        inline=item.line["media_type"] in INLINE_TYPES,
        image=str(item.line["media_type"]).startswith("image/"),
        waiting=item.row.state == WAITING,
        may_decide=item.row.state == WAITING and viewer.may(KIND, "accept"),
        decided=decided,
        decisions=DECISION_LABELS,
        error=error,
        refusal=refusal,
        reason=reason,
        chosen=chosen,
        done=DECISION_LABELS.get(done or ""),
    )


@router.get("/review/{evidence_id}")
def review_item(
    request: Request,
    evidence_id: int,
    done: str | None = None,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """One piece of evidence: facts, the file (inline when a PDF or an image), sha256,
    earlier versions, and the decision forms for those who may decide."""
    ws = workspace_of(request)
    item = _readable_evidence(ws, viewer, evidence_id)
    return _item_page(request, ws, viewer, item, done=done)


@router.post("/review/{evidence_id}")
def review_decide(
    request: Request,
    evidence_id: int,
    decision: str = Form(""),
    sha256: str = Form(""),
    reason: str = Form(""),
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Decide on the version the page showed (its sha256), as ``cchc evidence review
    --sha256``: a refusal is shown in Vietnamese, audited by the engine, and changes nothing."""
    ws = workspace_of(request)
    item = _readable_evidence(ws, viewer, evidence_id)
    if decision not in DECISIONS:
        return _item_page(
            request, ws, viewer, item, status_code=400, error="Đề nghị chọn một quyết định."
        )
    reason = reason.strip()
    if decision != "accept" and not reason:  # as the CLI: nothing written, not even a refusal
        return _item_page(
            request, ws, viewer, item, status_code=400, error=REASON_NEEDED, chosen=decision
        )
    try:
        with unit_of_work(ws.sessions) as session:
            review_evidence(
                session,
                ws.engine,
                viewer.actor,
                evidence_id,
                decision,  # type: ignore[arg-type]  # one of DECISIONS, checked above
                sha256=sha256,
                reason=reason or None,
            )
    except TransitionRefusedError as exc:
        fresh = _readable_evidence(ws, viewer, evidence_id)
        sentence = refusal_sentence(exc, ws.role_labels())
        return _item_page(
            request,
            ws,
            viewer,
            fresh,
            status_code=403 if isinstance(exc, PermissionError) else 409,
            refusal=f"{sentence} Lần từ chối đã được ghi vào nhật ký kiểm tra.",
            reason=reason,
            chosen=decision,
        )
    except ConflictError:
        fresh = _readable_evidence(ws, viewer, evidence_id)
        return _item_page(
            request,
            ws,
            viewer,
            fresh,
            status_code=409,
            refusal="Tài liệu vừa được người khác thay đổi; không có gì được ghi. "
            "Đề nghị xem lại trạng thái dưới đây.",
            reason=reason,
            chosen=decision,
        )
    return RedirectResponse(f"/review/{evidence_id}?done={decision}", status_code=303)


def _disposition(kind: str, name: str) -> str:
    """``inline`` / ``attachment`` with the file name (RFC 6266: ASCII fallback + UTF-8)."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in name
    )
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


@router.get("/review/{evidence_id}/view")
def review_file(
    request: Request,
    evidence_id: int,
    download: int = 0,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """The stored file: inline only for a PDF, PNG or JPEG (the stored media type, from the
    magic bytes), sandboxed and never sniffed; anything else (or ``download=1``) as an
    attachment. A file whose bytes no longer match its sha256 is not served."""
    ws = workspace_of(request)
    item = _readable_evidence(ws, viewer, evidence_id)
    sha256 = str(item.line["sha256"])
    try:
        with ws.store.open(sha256) as handle:
            body = handle.read()
    except (FileNotFoundError, ValueError):
        body = b""
    if hashlib.sha256(body).hexdigest() != sha256:
        return page(
            request,
            "error.html",
            status_code=410,
            title="Tệp không còn nguyên vẹn",
            message="Tệp đang lưu không khớp mã SHA-256 đã ghi nhận (bị mất hoặc bị thay đổi). "
            "Đề nghị báo quản trị hệ thống (cchc evidence verify).",
        )
    media_type = str(item.line["media_type"])
    inline = media_type in INLINE_TYPES and not download
    return Response(
        body,
        media_type=media_type if inline else "application/octet-stream",
        headers={
            "Content-Disposition": _disposition(
                "inline" if inline else "attachment", str(item.line["original_name"])
            ),
            "Content-Security-Policy": VIEW_CSP,
            "X-Frame-Options": "SAMEORIGIN",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/coverage")
def coverage_page(
    request: Request,
    plan: str | None = None,
    unit: str | None = None,
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """Sub-criteria backed by accepted evidence, criterion × unit (``cchc evidence coverage``);
    every gap links to the review queue filtered on its unit and sub-criterion."""
    ws = workspace_of(request)
    plans = plan_codes(ws)
    plan = plan or (plans[-1] if plans else None)
    if plan is None or plan not in plans:
        raise NotFoundError
    unit = _units_read(ws, viewer, unit, "evidence coverage")
    with ws.sessions() as session:
        lines = [
            line
            for line in coverage(session, ws.tenant, plan)
            if unit is None or line.owner_unit == unit
        ]
    by_unit = coverage_by_unit(lines)
    names = ws.unit_names()
    columns = [(code, names.get(code, code)) for code in by_unit]
    by_code = {line.code: line for line in lines}
    rows = []
    placed: set[str] = set()
    for area in ws.index_set.areas:
        for criterion in area.criteria:
            group = [by_code[s.code] for s in criterion.scored_items if s.code in by_code]
            if group:
                rows.append(_matrix_row(plan, criterion.code, criterion.title, group, columns))
                placed.update(line.code for line in group)
    rows.extend(  # a sub-criterion outside the areas (bonus, penalty): its own row
        _matrix_row(plan, line.code, line.title, [line], columns)
        for line in lines
        if line.code not in placed
    )
    return page(
        request,
        "coverage.html",
        plan=plan,
        plans=plans if len(plans) > 1 else [],
        unit=unit,
        units=names if read_scope(viewer.actor).whole_tenant else {},
        columns=columns,
        rows=rows,
        totals=by_unit,
        covered=sum(c.covered for c in by_unit.values()),
        total=sum(c.total for c in by_unit.values()),
    )


def _matrix_row(
    plan: str, code: str, title: str, group: list[Any], columns: list[tuple[str, str]]
) -> dict[str, Any]:
    """One criterion of the matrix: per unit, its sub-criteria covered of how many, and each
    missing one with the link to the queue filtered on it."""
    cells = []
    for unit, _ in columns:
        owned = [line for line in group if line.owner_unit == unit]
        missing = [
            (
                line.code,
                "/review?" + urlencode({"plan": plan, "unit": unit, "criterion": line.code}),
            )
            for line in owned
            if not line.covered
        ]
        cells.append(
            {
                "total": len(owned),
                "covered": sum(1 for line in owned if line.covered),
                "missing": missing,
            }
        )
    return {"code": code, "title": title, "cells": cells}
