"""Where a review meeting's files are, and the meeting a page shows.

The files are found by plan and month in the data folder's known layout (``cchc review run``
and ``cchc review issue-notice`` write them to ``DATA_DIR/review/<month>/``): a kind of file
(``report.docx`` …) names one file of a month; nothing is ever read from a path a user gave.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from cchc.anchor import SigningKeyError, checkpoint_ward
from cchc.organization.access import require_any_role
from cchc.review.service import (
    ReviewOutcome,
    issue_notice,
    issued_notice_path,
    meeting_ref,
    run_review,
)
from cchc.workspace import Workspace
from workflows.database import unit_of_work
from workflows.registry import Actor
from workflows.schema import AuditEvent, Instance

MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2]|W(0[1-9]|[1-4]\d|5[0-3]))")
"""A month (``2025-10``) or an ISO week (``2025-W45``) of a meeting."""


@dataclass(frozen=True)
class FileKind:
    """One file of a month's meeting."""

    label: str
    media_type: str
    name: str
    """The file's name with ``{month}`` in it."""


FILES = {
    "report.docx": FileKind(
        "Báo cáo giao ban (DOCX)",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "bao-cao-giao-ban-{month}.docx",
    ),
    "report.html": FileKind(
        "Báo cáo giao ban (HTML)", "text/html", "bao-cao-giao-ban-{month}.html"
    ),
    "chart.png": FileKind("Biểu đồ tiến độ (PNG)", "image/png", "giao-ban-{month}.png"),
    "draft.docx": FileKind(
        "Dự thảo thông báo kết luận (DOCX)",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "du-thao-thong-bao-ket-luan-{month}.docx",
    ),
    "notice.docx": FileKind(
        "Thông báo kết luận đã ban hành (DOCX)",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        issued_notice_path(Path(), "{month}").name,
    ),
}
"""Kind → the file of a month's meeting (names as ``cchc.review.service`` writes them)."""


def review_folder(data_dir: Path, month: str) -> Path:
    """``DATA_DIR/review/<month>``: where the CLI and the pages write a month's files."""
    return data_dir / "review" / month


def review_file(ws: Workspace, month: str, kind: str) -> Path | None:
    """The existing file of ``kind`` for ``month``; None for an unknown kind or month, or a
    file not written (yet)."""
    found = FILES.get(kind)
    if found is None or not MONTH.fullmatch(month):
        return None
    path = review_folder(ws.settings.data_dir, month) / found.name.format(month=month)
    return path if path.is_file() else None


@dataclass(frozen=True)
class Meeting:
    """A meeting of a plan's month as its instance holds it."""

    id: int
    plan: str
    month: str
    state: str
    version: int
    data: dict[str, Any]

    @property
    def conclusions(self) -> list[dict[str, Any]]:
        """The drafted conclusions: number, text, owner unit, deadline (ISO)."""
        return list(self.data.get("conclusions") or [])

    @property
    def figures(self) -> dict[str, dict[str, Any]]:
        """Unit → the month's figures (done, overdue, covered, criteria, points at risk)."""
        return dict(self.data.get("figures") or {})


def meeting(ws: Workspace, plan: str, month: str) -> Meeting | None:
    """The meeting of ``plan``'s ``month``, or None when its review has not been run."""
    with ws.sessions() as session:
        row = session.scalars(
            select(Instance).where(
                Instance.tenant == ws.tenant,
                Instance.kind == "meeting",
                Instance.ref == meeting_ref(plan, month),
            )
        ).first()
    if row is None:
        return None
    return Meeting(row.id, plan, month, row.state, row.version, json.loads(row.data))


def meetings(ws: Workspace) -> list[Meeting]:
    """Every meeting of the ward, the latest month first."""
    with ws.sessions() as session:
        rows = session.scalars(
            select(Instance).where(Instance.tenant == ws.tenant, Instance.kind == "meeting")
        ).all()
    found = []
    for row in rows:
        data = json.loads(row.data)
        found.append(
            Meeting(row.id, str(data["plan"]), str(data["month"]), row.state, row.version, data)
        )
    return sorted(found, key=lambda m: (m.month, m.plan), reverse=True)


def meeting_roles(ws: Workspace, trigger: str | None = None) -> frozenset[str]:
    """The roles the meeting definition in force lets open a meeting (compile its review), or
    fire ``trigger``."""
    definition = ws.engine.current("meeting").definition
    if trigger is None:
        return frozenset(definition.create_roles)
    return frozenset(r for t in definition.transitions if t.trigger == trigger for r in t.roles)


def review_roles(ws: Workspace) -> frozenset[str]:
    """Everyone the meeting definition lets open a meeting or act on one."""
    definition = ws.engine.current("meeting").definition
    acting = {r for t in definition.transitions for r in t.roles}
    return frozenset(definition.create_roles) | acting


def holds_any(actor: Actor, roles: Collection[str]) -> bool:
    """Whether ``actor`` holds one of ``roles``."""
    return bool(actor.roles & set(roles))


def notice_follower(ws: Workspace) -> str:
    """Who follows up an issued notice by default: the first Office official (as
    ``cchc review issue-notice`` without ``--office``)."""
    org = ws.organization
    return org.people_with_role("office_official", org.office_unit)[0].id


class MeetingExistsError(ValueError):
    """The month's review was already compiled (its meeting exists); nothing was written."""

    def __init__(self, found: Meeting) -> None:
        super().__init__(f"the review of {found.plan} {found.month} was already compiled")
        self.meeting = found


def compile_month(ws: Workspace, *, plan: str, month: str, actor_id: str) -> ReviewOutcome:
    """Compile ``month`` of ``plan`` as ``actor_id`` (``run_review``, the function the
    monthly-review flow runs) into ``review_folder``, chaired by the Chairman; a month already
    compiled raises ``MeetingExistsError`` before any file is rewritten."""
    actor = ws.actor(actor_id)
    with unit_of_work(ws.sessions) as session:
        require_any_role(
            session,
            ws.engine,
            actor,
            meeting_roles(ws),
            what="compile a review meeting",
            kind="meeting",
        )
    found = meeting(ws, plan, month)
    if found is not None:
        raise MeetingExistsError(found)
    outcome = run_review(
        ws,
        plan=plan,
        month=month,
        actor_id=actor_id,
        chair_id=ws.organization.chairman.id,
        out=review_folder(ws.settings.data_dir, month),
    )
    # As the monthly-review flow does: sign the chain's checkpoint once the review is written
    # (nothing without a signing key; a broken key is logged, the review stands).
    try:
        checkpoint_ward(ws.settings, ws.sessions, ws.tenant, ws.engine.clock())
    except SigningKeyError:
        logging.getLogger(__name__).exception("audit checkpoint not signed")
    return outcome


@dataclass(frozen=True)
class Issued:
    """The issued notice of a meeting: its number, who issued it and when."""

    number: str
    actor: str
    occurred_at: datetime


def issued_notice(ws: Workspace, found: Meeting) -> Issued | None:
    """The notice issued for the meeting (its applied ``issue_notice`` event), or None."""
    query = (
        select(AuditEvent.payload, AuditEvent.actor, AuditEvent.occurred_at)
        .where(
            AuditEvent.instance_id == found.id,
            AuditEvent.trigger == "issue_notice",
            AuditEvent.outcome == "applied",
        )
        .order_by(AuditEvent.seq)
        .limit(1)
    )
    with ws.sessions() as session:
        row = session.execute(query).first()
    if row is None:
        return None
    payload = json.loads(row.payload or "{}")
    return Issued(str(payload.get("notice_number", "")), row.actor, row.occurred_at)


def issue_month_notice(ws: Workspace, *, plan: str, month: str, actor: Actor, number: str) -> int:
    """Issue the month's conclusion notice as ``actor`` (``issue_notice``, as ``cchc review
    issue-notice``): someone the definitions do not let issue it is refused (audited) before
    the meeting is looked up; the notice is written to ``review_folder``; the follow-up tasks
    go to the Office's official. The number of conclusions made follow-up tasks."""
    with unit_of_work(ws.sessions) as session:
        require_any_role(
            session,
            ws.engine,
            actor,
            meeting_roles(ws, "issue_notice"),
            what="issue_notice on meeting",
            kind="meeting",
        )
    return issue_notice(
        ws,
        plan=plan,
        month=month,
        chair_id=actor.id,
        office_id=notice_follower(ws),
        number=number,
        out=review_folder(ws.settings.data_dir, month),
    )
