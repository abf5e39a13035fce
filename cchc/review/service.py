"""Run a review meeting for a month: compile, write the report and the draft notice, open the
meeting; and, when the Chairman issues the notice, turn its conclusions into follow-up tasks."""

from __future__ import annotations

import calendar
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

from cchc import vi_text
from cchc.anchor import report_checkpoint_text
from cchc.organization.access import require_any_role
from cchc.organization.capabilities import roles_with
from cchc.reports.model import DocumentHeader, Signature
from cchc.reports.outputs import card_from_store, ward_recipients
from cchc.review.compile import ReviewData, compile_review
from cchc.review.documents import (
    Conclusion,
    NoticeText,
    draft_conclusions,
    write_chart_png,
    write_notice_docx,
    write_report_docx,
    write_report_html,
)
from cchc.vietnam import LOCAL_TZ
from cchc.workspace import Workspace
from workflows.database import unit_of_work
from workflows.schema import Instance


def month_bounds(month: str) -> tuple[date, date, str]:
    """``2025-11`` → (1/11/2025, 30/11/2025, "tháng 11/2025"); ``2025-W45`` → that ISO week
    (Monday to Sunday, "tuần 45/2025"), for a weekly cadence."""
    if "-W" in month:
        try:
            year, week = (int(part) for part in month.split("-W"))
            start = date.fromisocalendar(year, week, 1)
        except ValueError:
            raise ValueError(f"week {month!r} is not YYYY-Www (e.g. 2025-W45)") from None
        end = date.fromisocalendar(year, week, 7)
        days = f"{vi_text.day_month(start)} – {vi_text.date_text(end)}"
        return start, end, f"tuần {week}/{year} ({days})"
    try:
        year, number = (int(part) for part in month.split("-"))
        start = date(year, number, 1)
    except ValueError:
        raise ValueError(f"month {month!r} is not YYYY-MM (e.g. 2025-11)") from None
    end = date(year, number, calendar.monthrange(year, number)[1])
    return start, end, f"tháng {number}/{year}"


def resolve_month(month: str, today: date) -> str:
    """``previous`` → the month before ``today``; ``previous-week`` → the ISO week before."""
    if month == "previous-week":
        year, week, _ = date.fromordinal(today.toordinal() - 7).isocalendar()
        return f"{year}-W{week:02d}"
    if month != "previous":
        return month
    first = today.replace(day=1)
    last = first.fromordinal(first.toordinal() - 1)
    return f"{last.year}-{last.month:02d}"


class OutsidePlanError(ValueError):
    """The month (or week) to review lies outside the plan's period."""


def outside_plan(ws: Workspace, plan: str, month: str) -> str | None:
    """Why ``month`` is not reviewed under ``plan`` (it lies outside the plan's period), in
    Vietnamese for the official; None when it overlaps the period or the plan is not issued."""
    from cchc.cycle import plan_record

    try:
        period = plan_record(ws, plan)["period"]
    except LookupError:
        return None
    start, end = date.fromisoformat(period["start"]), date.fromisoformat(period["end"])
    first, last, label = month_bounds(month)
    if first > end:
        return (
            f"Kế hoạch {plan} đã kết thúc ngày {vi_text.date_text(end)}: không họp giao ban "
            f"{label} ({month}), ngoài kỳ kế hoạch; "
            "hãy đăng ký lịch cho kế hoạch kỳ sau"
        )
    if last < start:
        return (
            f"Kế hoạch {plan} bắt đầu từ ngày {vi_text.date_text(start)}: chưa họp giao ban "
            f"{label} ({month}), ngoài kỳ kế hoạch"
        )
    return None


def meeting_ref(plan: str, month: str) -> str:
    """The meeting instance of a plan's month: ``GB-KH-CCHC-2025-H2-2025-11``."""
    return f"GB-{plan}-{month}"


@dataclass(frozen=True)
class ReviewOutcome:
    """A compiled review: its data, the drafted conclusions, the files and the meeting id."""

    review: ReviewData
    conclusions: list[Conclusion]
    files: list[Path]
    meeting_id: int


def _previous(ws: Workspace, plan: str, before: str) -> dict[str, dict[str, Any]]:
    with ws.sessions() as session:
        rows = session.execute(
            select(Instance.ref, Instance.data)
            .where(
                Instance.tenant == ws.tenant,
                Instance.kind == "meeting",
                Instance.ref.startswith(f"GB-{plan}-", autoescape=True),
            )
            .order_by(Instance.ref)
        ).all()
    earlier = [r for r in rows if r.ref < meeting_ref(plan, before)]
    return dict(json.loads(earlier[-1].data)["figures"]) if earlier else {}


def _signature(ws: Workspace, person_id: str) -> Signature:
    person = ws.organization.person(person_id)
    if roles_with("sign_as_chairman") & set(person.roles):
        return Signature(deputy=None, title="CHỦ TỊCH", name=person.full_name)
    return Signature(title="PHÓ CHỦ TỊCH", name=person.full_name)


def _recipients(ws: Workspace) -> list[str]:
    """The meeting documents go to the ward's council, its leaders and units (ward type from
    the organization file), and the archive."""
    kind = ws.organization.kind_name
    lines = ward_recipients(ws, city=False)
    return [*lines[:1], f"Chủ tịch, các Phó Chủ tịch UBND {kind}", *lines[1:]]


def _notice_header(
    ws: Workspace, chair_id: str, label: str, *, number: str | None, day: date
) -> DocumentHeader:
    """The conclusion notice's header: a draft without a number, or the issued notice."""
    org = ws.organization
    return DocumentHeader(
        issuing_body=org.name.upper(),
        number=number or "      /TB-UBND",
        place=org.place_name,
        date=day,
        kind_title="THÔNG BÁO",
        subject=[
            (
                f"Kết luận của {org.person(chair_id).title} tại cuộc họp giao ban công tác cải "
                f"cách hành chính {label}"
            )
        ],
        draft=number is None,
    )


def _notice_text(ws: Workspace, chair_id: str, label: str, held_on: date) -> NoticeText:
    org = ws.organization
    chair = org.person(chair_id)
    return NoticeText(
        label=label,
        held_on=held_on,
        chair=f"đồng chí {chair.full_name}, {chair.title}",
        office=f"{org.office.name} {org.kind_name}",
    )


def run_review(
    ws: Workspace, *, plan: str, month: str, actor_id: str, chair_id: str, out: Path
) -> ReviewOutcome:
    """Compile ``month``, write the report and draft notice into ``out``, open the meeting.

    A month outside the plan's period is refused (``OutsidePlanError``) before anything is
    written.

    Only someone who may open a meeting compiles it (it reads every unit's record): anyone
    else is refused (``NotPermittedError``, audited) before anything is read or written.
    """
    actor = ws.actor(actor_id)
    openers = ws.engine.current("meeting").definition.create_roles
    with unit_of_work(ws.sessions) as session:
        require_any_role(
            session, ws.engine, actor, openers, what="compile a review meeting", kind="meeting"
        )
    start, end, label = month_bounds(month)
    reason = outside_plan(ws, plan, month)
    if reason is not None:
        raise OutsidePlanError(reason)
    try:
        card = card_from_store(ws, plan)
    except LookupError:
        card = None
    with ws.sessions() as session:
        review = compile_review(
            session,
            tenant=ws.tenant,
            plan=plan,
            units=ws.unit_names(),
            card=card,
            start=start,
            end=end,
            label=label,
            previous=_previous(ws, plan, month),
            calendar=ws.calendar,
        )
    conclusions = draft_conclusions(review)
    out.mkdir(parents=True, exist_ok=True)
    org = ws.organization
    header = DocumentHeader(
        issuing_body=org.name.upper(),
        number="      /BC-UBND",
        place=org.place_name,
        date=end,
        kind_title="BÁO CÁO",
        subject=[f"Tiến độ công tác cải cách hành chính {label}"],
    )
    recipients = _recipients(ws)
    chart = write_chart_png(out / f"giao-ban-{month}.png", review)
    files = [
        chart,
        write_report_html(out / f"bao-cao-giao-ban-{month}.html", review, org.name, chart.name),
        write_report_docx(
            out / f"bao-cao-giao-ban-{month}.docx",
            review,
            header,
            _signature(ws, chair_id),
            recipients,
            f"Ủy ban nhân dân {org.name_in_text}",
            report_checkpoint_text(ws.settings, ws.sessions, ws.tenant, ws.engine.clock()),
        ),
        write_notice_docx(
            out / f"du-thao-thong-bao-ket-luan-{month}.docx",
            _notice_text(ws, chair_id, label, end),
            conclusions,
            _notice_header(ws, chair_id, label, number=None, day=end),
            _signature(ws, chair_id),
            recipients,
            ws.unit_names(),
        ),
    ]
    with unit_of_work(ws.sessions) as session:
        created = ws.engine.create(
            session,
            "meeting",
            actor=actor,
            ref=meeting_ref(plan, month),
            idempotency_key=f"meeting:{plan}:{month}",
            data={
                "plan": plan,
                "month": month,
                "month_label": label,
                "figures": review.as_json(),
                "conclusions": [
                    {
                        "number": c.number,
                        "text": c.text,
                        "owner_unit": c.owner_unit,
                        "deadline": c.deadline.isoformat(),
                    }
                    for c in conclusions
                ],
                "files": [f.name for f in files],
            },
        )
    return ReviewOutcome(review, conclusions, files, created.instance_id)


def issued_notice_path(out: Path, month: str) -> Path:
    """Where the issued notice of ``month`` is written: ``thong-bao-ket-luan-2025-10.docx``."""
    return out / f"thong-bao-ket-luan-{month}.docx"


def write_issued_notice(
    ws: Workspace,
    *,
    month: str,
    chair_id: str,
    number: str,
    conclusions: list[Conclusion],
    out: Path,
) -> Path:
    """The notice as issued: its number, dated the day it is issued, without the draft mark."""
    _, end, label = month_bounds(month)
    today = ws.engine.clock().astimezone(LOCAL_TZ).date()
    out.mkdir(parents=True, exist_ok=True)
    return write_notice_docx(
        issued_notice_path(out, month),
        _notice_text(ws, chair_id, label, end),
        conclusions,
        _notice_header(ws, chair_id, label, number=number, day=today),
        _signature(ws, chair_id),
        _recipients(ws),
        ws.unit_names(),
    )


def issue_notice(
    ws: Workspace,
    *,
    plan: str,
    month: str,
    chair_id: str,
    office_id: str,
    number: str,
    out: Path | None = None,
) -> int:
    """The meeting is held and its notice issued; each conclusion becomes a follow-up task
    citing the notice's number; with ``out``, the issued notice is written there too."""
    with ws.sessions() as session:
        row = session.execute(
            select(Instance.id, Instance.state, Instance.data).where(
                Instance.tenant == ws.tenant,
                Instance.kind == "meeting",
                Instance.ref == meeting_ref(plan, month),
            )
        ).first()
    if row is None:
        raise LookupError(f"no review meeting for {plan} {month}: run the review first")
    conclusions = json.loads(row.data)["conclusions"]
    chair, office = ws.actor(chair_id), ws.actor(office_id)
    key = f"notice:{plan}:{month}"
    with unit_of_work(ws.sessions) as session:
        if row.state == "scheduled":
            ws.engine.fire(session, row.id, "hold", actor=chair, idempotency_key=f"{key}:hold")
        ws.engine.fire(
            session,
            row.id,
            "issue_notice",
            actor=chair,
            payload={"notice_number": number},
            idempotency_key=f"{key}:issue",
        )
        for c in conclusions:
            deadline = date.fromisoformat(c["deadline"])
            ws.engine.create(
                session,
                "task",
                actor=office,
                ref=f"{meeting_ref(plan, month)}/KL-{c['number']}",
                idempotency_key=f"{key}:KL-{c['number']}",
                data={
                    "source": "notice",
                    "notice": number,
                    "conclusion": c["number"],
                    "meeting_month": month,
                    "code": f"KL-{month}-{c['number']}",
                    "title": c["text"],
                    "expected_product": "Báo cáo kết quả thực hiện kết luận",
                    "owner_unit": c["owner_unit"],
                    "owner_unit_name": ws.unit_names().get(c["owner_unit"], c["owner_unit"]),
                    "support_units": [],
                    "deadline": deadline.isoformat(),
                    "deadline_text": vi_text.date_text(deadline),
                    "criteria": [],
                },
            )
    if out is not None:
        issued = [
            Conclusion(c["number"], c["text"], c["owner_unit"], date.fromisoformat(c["deadline"]))
            for c in conclusions
        ]
        write_issued_notice(
            ws, month=month, chair_id=chair_id, number=number, conclusions=issued, out=out
        )
    return len(conclusions)
