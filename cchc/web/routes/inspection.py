"""The inspector's history search (``cchc audit history``) and the audit chain's status
(``cchc audit verify``), with the same search downloaded as CSV, XLSX or the DOCX report.

Read-only: the pages have no action form. Who may read a history is the CLI's rule
(``cchc.organization.access``): the ward's readers (inspectors, leadership, focal unit,
Office, administrator) read every history, a unit's people the histories of their own unit's
items and people; anything else answers 404 and the refusal is audited. The chain's status is
shown to the ward's readers only, as ``cchc audit verify`` reads the whole trail.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask

from cchc.anchor import check_ward
from cchc.commands.audit import integrity_lines, labels_of, report_context
from cchc.commands.cycle_common import plan_codes
from cchc.inspection import history as inspection
from cchc.inspection.history import History, Subject
from cchc.organization.access import read_scope
from cchc.organization.model import UnknownPersonError
from cchc.vietnam import LOCAL_TZ
from cchc.web.deps import Viewer, area_router, page, readable_or_not_found, signed_in
from cchc.web.deps import workspace as workspace_of
from cchc.workspace import Workspace
from workflows.audit import verify
from workflows.checkpoint import Checkpoint

router = area_router()

SUBJECTS = {
    "criterion": "Tiêu chí thành phần",
    "task": "Nhiệm vụ",
    "unit": "Đơn vị",
    "person": "Người thực hiện",
}
DOWNLOADS = {
    "csv": ("text/csv; charset=utf-8", "CSV"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel (XLSX)"),
    "docx": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "Báo cáo kiểm tra (DOCX)",
    ),
}
"""Extension → (content type, what the link says)."""
DAY_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%Y-%m-%d")


class SearchError(ValueError):
    """A search the form cannot run; the message is for the official (Vietnamese)."""


@dataclass(frozen=True)
class Search:
    """The history form's fields, as sent (GET)."""

    criterion: str = ""
    task: str = ""
    unit: str = ""
    person: str = ""
    plan: str = ""
    since: str = ""
    until: str = ""

    @property
    def asked(self) -> bool:
        """Whether a subject was asked for (else the page shows the form only)."""
        return any((self.criterion, self.task, self.unit, self.person))

    @property
    def query(self) -> str:
        """The search as a query string, for the download links."""
        return urlencode({k: v for k, v in vars(self).items() if v})


def _search(
    criterion: str = "",
    task: str = "",
    unit: str = "",
    person: str = "",
    plan: str = "",
    since: str = "",
    until: str = "",
) -> Search:
    return Search(
        *(value.strip()[:100] for value in (criterion, task, unit, person, plan, since, until))
    )


def _day(text: str, name: str) -> date | None:
    """``31/10/2025`` (or ``2025-10-31``) as a date; None when empty."""
    if not text:
        return None
    for layout in DAY_FORMATS:
        try:
            return datetime.strptime(text, layout).date()  # noqa: DTZ007 - a day, made local below
        except ValueError:
            continue
    raise SearchError(
        f"{name} “{text}” không phải là ngày hợp lệ (viết dd/mm/yyyy, ví dụ 03/11/2025)."
    )


def _local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ)


def period(search: Search) -> tuple[datetime | None, datetime | None]:
    """From the start of the first day to the end of the last day, Vietnam's time."""
    first, last = _day(search.since, "Từ ngày"), _day(search.until, "Đến ngày")
    if first and last and last < first:
        raise SearchError("“Đến ngày” phải sau hoặc bằng “Từ ngày”.")
    since = _local_midnight(first) if first else None
    until = _local_midnight(last + timedelta(days=1)) if last else None
    return since, until


def find_subject(ws: Workspace, search: Search) -> Subject:
    """The one subject asked for, found as ``cchc audit history`` finds it."""
    asked = [v for v in (search.criterion, search.task, search.unit, search.person) if v]
    if len(asked) != 1:
        raise SearchError(
            "Đề nghị chọn đúng một đối tượng tra cứu: tiêu chí thành phần, nhiệm vụ, đơn vị "
            "hoặc người thực hiện."
        )
    plans = plan_codes(ws)
    plan = search.plan or None
    if plan is not None and plan not in plans:
        raise SearchError(f"Kế hoạch “{plan}” chưa được ban hành tại {ws.organization.name}.")
    if (search.criterion or search.task) and plan is None:
        raise SearchError("Tra cứu theo tiêu chí hoặc nhiệm vụ cần chọn kế hoạch.")
    org = ws.organization
    with ws.sessions() as session:
        try:
            if search.criterion and plan:
                return inspection.find_criterion(session, ws.tenant, plan, search.criterion)
            if search.task and plan:
                return inspection.find_task(session, ws.tenant, plan, search.task)
        except LookupError:
            what = "tiêu chí thành phần" if search.criterion else "nhiệm vụ"
            raise SearchError(
                f"Kế hoạch {plan} không có {what} “{search.criterion or search.task}”."
            ) from None
        if search.unit:
            if search.unit not in ws.unit_names():
                raise SearchError(f"Không có đơn vị “{search.unit}”.")
            unit = org.unit(search.unit)
            members = [p.id for p in org.members(unit.code)]
            return inspection.find_unit(
                session, ws.tenant, unit.code, members, title=unit.name, plan=plan
            )
        try:
            someone = org.person(search.person)
        except UnknownPersonError:
            raise SearchError(f"Không có người “{search.person}” trong danh sách.") from None
        return inspection.find_person(
            session,
            ws.tenant,
            someone.id,
            title=f"{someone.full_name}, {someone.title}",
            unit=someone.unit,
            plan=plan,
        )


def read_history(ws: Workspace, viewer: Viewer, search: Search) -> History:
    """The history the search asks for, when the viewer may read it (else 404, audited)."""
    since, until = period(search)
    subject = find_subject(ws, search)
    readable_or_not_found(
        ws,
        viewer,
        what=f"history of {subject.what} {subject.code}",  # as the CLI names the read
        tenant=subject.tenant,
        unit=subject.owner_unit,
    )
    with ws.sessions() as session:
        return inspection.history(session, subject, labels_of(ws), since=since, until=until)


@dataclass(frozen=True)
class ChainStatus:
    """``cchc audit verify`` of the ward, for the top of the page."""

    events: int
    seconds: float
    breaks: tuple[str, ...]
    checked: int
    """Signed checkpoints the chain was compared with."""
    latest: Checkpoint | None
    lines: tuple[str, ...] = field(default=())

    @property
    def intact(self) -> bool:
        """No break in the chain and no checkpoint contradicting it."""
        return not self.breaks


def _where(event_id: int | None, seq: int | None) -> str:
    if event_id:
        return f"Sự kiện #{event_id} (số thứ tự {seq}): "
    return "" if seq is None else f"Số thứ tự {seq}: "


def chain_status(ws: Workspace) -> ChainStatus:
    """Recompute the ward's hash chain and check it against every signed checkpoint (the same
    two calls as ``cchc audit verify``), timed."""
    started = time.perf_counter()
    with ws.sessions() as session:
        report = verify(session, tenant=ws.tenant)
        anchored = check_ward(ws.settings, session, ws.tenant)
    seconds = time.perf_counter() - started
    breaks = tuple(
        f"{_where(b.event_id, b.seq)}{b.problem}" for b in (*report.breaks, *anchored.breaks)
    )
    return ChainStatus(report.events, seconds, breaks, anchored.checked, anchored.latest)


def channel_words(channel: str | None) -> str:
    """``web:3f2a…`` → ``Trang web (phiên 3f2a…)``; ``cli:minh@may-chu`` → ``Dòng lệnh
    (minh@may-chu)``; none recorded → ``—``."""
    if not channel:
        return "—"
    kind, _, detail = channel.partition(":")
    if kind == "web":
        return "Trang web" if detail in {"", "anonymous"} else f"Trang web (phiên {detail})"
    if kind == "cli":
        return f"Dòng lệnh ({detail})" if detail else "Dòng lệnh"
    return channel


def _choices(ws: Workspace, viewer: Viewer) -> tuple[dict[str, str], dict[str, str]]:
    """Units and people the viewer may ask about: all for the ward's readers, else their own
    unit's."""
    scope = read_scope(viewer.actor)
    units = {code: name for code, name in ws.unit_names().items() if scope.allows(ws.tenant, code)}
    people = {
        p.id: f"{p.full_name} – {p.title}"
        for p in ws.organization.people
        if scope.whole_tenant or (p.unit is not None and p.unit in units)
    }
    return units, people


@router.get("/history")
def history_page(
    request: Request, search: Search = Depends(_search), viewer: Viewer = Depends(signed_in)
) -> Response:
    """The search form, the chain's status (the ward's readers) and the rows found."""
    ws = workspace_of(request)
    scope = read_scope(viewer.actor)
    if not scope.whole_tenant and not scope.units:
        readable_or_not_found(ws, viewer, what="history", tenant=ws.tenant, unit=None)
    found: History | None = None
    error = None
    status = 200
    if search.asked:
        try:
            found = read_history(ws, viewer, search)
        except SearchError as exc:
            error, status = str(exc), 400
    plans = plan_codes(ws)
    units, people = _choices(ws, viewer)
    return page(
        request,
        "inspection_history.html",
        status_code=status,
        search=search,
        plan=search.plan if search.asked else (plans[-1] if plans else ""),
        plans=plans,
        units=units,
        people=people,
        found=found,
        error=error,
        chain=chain_status(ws) if scope.whole_tenant else None,
        downloads=DOWNLOADS,
        channel_words=channel_words,
    )


def _file_name(subject: Subject, extension: str) -> str:
    code = re.sub(r"[^A-Za-z0-9._-]+", "-", subject.code).strip("-") or "ma"
    return f"lich-su-{subject.what}-{code}.{extension}"


@router.get("/history.{extension}")
def history_download(
    request: Request,
    extension: str,
    search: Search = Depends(_search),
    viewer: Viewer = Depends(signed_in),
) -> Response:
    """The same search as a file (attachment): CSV, XLSX, or the inspection report DOCX."""
    from cchc.inspection.exports import write_csv, write_docx, write_xlsx

    ws = workspace_of(request)
    if extension not in DOWNLOADS:
        return page(
            request,
            "error.html",
            status_code=404,
            title="Không tìm thấy",
            message="Không tìm thấy trang hoặc mục Ông/Bà yêu cầu.",
        )
    try:
        found = read_history(ws, viewer, search)
    except SearchError as exc:
        return page(
            request, "error.html", status_code=400, title="Không tải được", message=str(exc)
        )
    folder = Path(tempfile.mkdtemp(prefix="cchc-history-"))
    path = folder / _file_name(found.subject, extension)
    try:
        if extension == "csv":
            write_csv(path, found)
        elif extension == "xlsx":
            write_xlsx(path, found)
        else:
            with ws.sessions() as session:
                integrity = integrity_lines(ws, session, found)
            from cchc.anchor import report_checkpoint_text

            now = ws.engine.clock()
            integrity.append(report_checkpoint_text(ws.settings, ws.sessions, ws.tenant, now))
            write_docx(path, found, report_context(ws, viewer.id, integrity))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(
        path,
        media_type=DOWNLOADS[extension][0],
        filename=path.name,
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"},
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )
