"""What a review meeting looks at, per unit, for a month (or a week): read from the record."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cchc.evidence.service import coverage, coverage_by_unit
from cchc.plan.lateness import completed_at, task_lateness
from cchc.runtime import working_calendar
from cchc.scoring.scores import ScoreCard
from cchc.vietnam import LOCAL_TZ
from workflows.calendar import WorkingCalendar
from workflows.canonical import utc
from workflows.schema import Instance


@dataclass(frozen=True)
class UnitProgress:
    """One unit's line of the meeting report."""

    unit: str
    unit_name: str
    done_in_period: list[str] = field(default_factory=list)
    due_in_period: list[str] = field(default_factory=list)
    overdue: list[str] = field(default_factory=list)
    covered: int = 0
    criteria: int = 0
    missing_evidence: list[str] = field(default_factory=list)
    pending_reviews: int = 0
    points_at_risk: Decimal = Decimal(0)
    follow_ups_done: list[str] = field(default_factory=list)
    follow_ups_open: list[str] = field(default_factory=list)
    open_conclusions: dict[str, list[int]] = field(default_factory=dict)
    """The open follow-ups as officials cite them: notice number → its conclusion numbers."""


@dataclass(frozen=True)
class ReviewData:
    """Everything the report and the draft notice are made from."""

    plan: str
    start: date
    end: date
    label: str
    units: list[UnitProgress]
    index: Decimal
    previous: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Last meeting's figures per unit (from its stored data), for the changes column."""

    def as_json(self) -> dict[str, Any]:
        """Figures to keep with the meeting instance (the next review compares with them)."""
        return {
            u.unit: {
                "done": len(u.done_in_period),
                "overdue": len(u.overdue),
                "covered": u.covered,
                "criteria": u.criteria,
                "points_at_risk": str(u.points_at_risk),
            }
            for u in self.units
        }


def _local_date(iso: str) -> date:
    return utc(datetime.fromisoformat(iso)).astimezone(LOCAL_TZ).date()


def _conclusion(data: dict[str, Any]) -> int:
    """A follow-up task's conclusion number (its ``conclusion``, else the end of its code)."""
    number = data.get("conclusion") or str(data.get("code", "")).rsplit("-", 1)[-1]
    return int(number) if str(number).isdigit() else 0


def _by_notice(cited: list[tuple[str, int]]) -> dict[str, list[int]]:
    grouped: dict[str, list[int]] = defaultdict(list)
    for notice, number in sorted(cited):
        grouped[notice].append(number)
    return dict(grouped)


def compile_review(
    session: Session,
    *,
    tenant: str,
    plan: str,
    units: dict[str, str],
    card: ScoreCard | None,
    start: date,
    end: date,
    label: str,
    previous: dict[str, dict[str, Any]] | None = None,
    calendar: WorkingCalendar | None = None,
) -> ReviewData:
    """Per unit: tasks done and due in [start, end], overdue at ``end``, evidence coverage,
    evidence waiting for review, points at risk, and last notice's follow-ups.

    Overdue: still open (no product submitted, not cancelled) and late, as ``cchc.plan.lateness``
    says, at the end of the working day ``end``."""
    progress: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(list))
    calendar = calendar or working_calendar()
    rows = session.execute(
        select(Instance.kind, Instance.state, Instance.ref, Instance.data).where(
            Instance.tenant == tenant, Instance.kind.in_(("task", "evidence"))
        )
    ).all()
    for row in rows:
        data = json.loads(row.data)
        unit = str(data.get("owner_unit"))
        if row.kind == "evidence":
            if row.state == "submitted" and data.get("plan") == plan:
                progress[unit]["pending"].append(row.ref)
            continue
        code = str(data.get("code", row.ref))
        follow_up = data.get("source") == "notice"
        if not follow_up and data.get("plan") != plan:
            continue
        deadline = date.fromisoformat(str(data["deadline"]))
        submitted = data.get("product_submitted_at")
        if follow_up:
            progress[unit]["follow_ups_done" if row.state == "done" else "follow_ups_open"].append(
                code
            )
            if row.state != "done":
                progress[unit]["cited"].append((str(data.get("notice") or ""), _conclusion(data)))
            continue
        if row.state == "done" and submitted and start <= _local_date(submitted) <= end:
            progress[unit]["done"].append(code)
        if start <= deadline <= end:
            progress[unit]["due"].append(code)
        if (
            completed_at(row.state, data) is None
            and task_lateness(row.state, data, end, calendar).late
        ):  # still open (not cancelled) and late at the end of the period
            progress[unit]["overdue"].append(code)
    by_unit = coverage_by_unit(coverage(session, tenant, plan))
    at_risk: dict[str, Decimal] = card.lost_by_unit() if card else {}
    lines = []
    for unit, name in units.items():
        p = progress[unit]
        cov = by_unit.get(unit)
        lines.append(
            UnitProgress(
                unit=unit,
                unit_name=name,
                done_in_period=sorted(p["done"]),
                due_in_period=sorted(p["due"]),
                overdue=sorted(p["overdue"]),
                covered=cov.covered if cov else 0,
                criteria=cov.total if cov else 0,
                missing_evidence=list(cov.missing) if cov else [],
                pending_reviews=len(p["pending"]),
                points_at_risk=at_risk.get(unit, Decimal(0)),
                follow_ups_done=sorted(p["follow_ups_done"]),
                follow_ups_open=sorted(p["follow_ups_open"]),
                open_conclusions=_by_notice(p["cited"]),
            )
        )
    return ReviewData(
        plan=plan,
        start=start,
        end=end,
        label=label,
        units=lines,
        index=card.index if card else Decimal(0),
        previous=previous or {},
    )
